// Resume spool (src/store/spool.ts): records of blocks written to .part while their records were
// still held in memory never reach the spool file; read-back by the core's record numbers still
// finds the others after such gaps, across spills and across a restart.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FecOti } from '../../../codecs/types.js';
import { ReceiverState, readJournal } from '../../../src/store/spool.js';

const E = 16;
const RECORD = 8 + E;
const TSI = 7;
const TOI = 2;
const oti: FecOti = { encodingId: 0, transferLength: 64 * E, symbolSize: E, maxSourceBlockLength: 8 };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function outDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fcast-spool-'));
  dirs.push(d);
  return d;
}

function symbolOf(sbn: number, esi: number): Uint8Array {
  return new Uint8Array(E).fill(sbn * 16 + esi + 1);
}

/** Blocks 0..blocks-1 interleaved, `perBlock` symbols each: record r is (r % blocks, r / blocks). */
function appendInterleaved(st: ReceiverState, from: number, blocks: number, perBlock: number): void {
  for (let i = 0; i < blocks * perBlock; i++) {
    const sbn = i % blocks;
    const esi = Math.floor(i / blocks);
    st.append(TOI, from + i, sbn, esi, symbolOf(sbn, esi));
  }
}

function spoolRecords(dir: string): number {
  return statSync(join(dir, '.fcast', `${TOI}.spool`)).size / RECORD;
}

const noSync = (): Promise<void> => Promise.resolve();

/** [esi, first byte] of each record read back (read() reuses one buffer per yield). */
function readBack(st: ReceiverState, records: number[]): number[][] {
  const out: number[][] = [];
  for (const { esi, symbol } of st.read(TOI, Uint32Array.from(records))) out.push([esi, symbol[0]!]);
  return out;
}

describe('receiver spool', () => {
  it('a block written to .part before the flush: its held records are dropped, the journal says done', async () => {
    const dir = outDir();
    const st = new ReceiverState(dir);
    st.openSession(TSI, undefined);
    st.addObject(TOI, oti);
    appendInterleaved(st, 0, 4, 4);
    st.markBlockDone(TOI, 1);
    st.markBlockDone(TOI, 3);
    await st.flush(noSync);
    expect(spoolRecords(dir)).toBe(8);
    expect(st.spoolStats).toEqual({ writtenBytes: 8 * RECORD, droppedBytes: 8 * RECORD });
    expect(readJournal(join(dir, '.fcast')).objects.get(TOI)?.done).toEqual([1, 3]);
    // Core records of block 2 (2, 6, 10, 14) are found at their new places.
    const got = readBack(st, [2, 6, 10, 14]);
    expect(got).toEqual([0, 1, 2, 3].map((esi) => [esi, symbolOf(2, esi)[0]]));
    st.close();
  });

  it('over the hold budget records are written; read-back and restart keep the core numbering', async () => {
    const dir = outDir();
    const st = new ReceiverState(dir, { holdBytes: 5 * RECORD });
    st.openSession(TSI, undefined);
    st.addObject(TOI, oti);
    // 6 records: the 6th passes the budget, all six written (nothing done yet).
    appendInterleaved(st, 0, 2, 3);
    expect(spoolRecords(dir)).toBe(6);
    // Block 0 done; records 6..9 (blocks 0, 1 alternating) held, then a flush drops block 0's.
    for (let i = 6; i < 10; i++) st.append(TOI, i, i % 2, Math.floor(i / 2), symbolOf(i % 2, Math.floor(i / 2)));
    st.markBlockDone(TOI, 0);
    await st.flush(noSync);
    expect(spoolRecords(dir)).toBe(8);
    const want = [0, 1, 2, 3, 4].map((esi) => [esi, symbolOf(1, esi)[0]]);
    expect(readBack(st, [1, 3, 5, 7, 9])).toEqual(want);
    st.close();
    // (The shell's part file, which holds block 0.)
    writeFileSync(st.partPath(TOI), new Uint8Array(8 * E));

    // Restart: block 0's records are skipped by the core (journal: done); block 1's come back.
    const again = new ReceiverState(dir);
    const [obj] = again.openSession(TSI, undefined);
    expect(obj?.done).toEqual([0]);
    const scanned: [number, number, number][] = [];
    const count = again.scan(TOI, (r, sbn, esi) => scanned.push([r, sbn, esi]));
    expect(count).toBe(8);
    expect(scanned.filter(([, sbn]) => sbn === 1).map(([, , esi]) => esi)).toEqual([0, 1, 2, 3, 4]);
    // New records continue after the file's; old and new read back together.
    again.append(TOI, 8, 1, 5, symbolOf(1, 5));
    const records = [...scanned.filter(([, sbn]) => sbn === 1).map(([r]) => r), 8];
    expect(readBack(again, records)).toEqual([...want, [5, symbolOf(1, 5)[0]]]);
    again.close();
  });

  it('an object decoded within the hold budget never creates its spool file', async () => {
    const dir = outDir();
    const st = new ReceiverState(dir);
    st.openSession(TSI, undefined);
    st.addObject(TOI, oti);
    appendInterleaved(st, 0, 2, 8);
    st.markBlockDone(TOI, 0);
    st.markBlockDone(TOI, 1);
    st.objectDecoded(TOI);
    await st.flush(noSync);
    expect(() => statSync(join(dir, '.fcast', `${TOI}.spool`))).toThrow();
    expect(readJournal(join(dir, '.fcast')).objects.get(TOI)?.done).toEqual([0, 1]);
    st.close();
  });
});
