// Receiver earlyWriteAfter (src/assembly/receiver.ts "Early writes"): a hot block that goes quiet
// (its source phase over, the sender's window moved on) has its held source symbols written to the
// part file at once (`block-early`), and its completion writes only the rest (`block-data` gaps).
// The in-memory shell (sim.ts) builds each file from exactly those writes, so a wrong run, offset
// or gap shows as a file that differs from the source. Virtual time, seeded loss.
import { describe, expect, it } from 'vitest';
import { bytes, simulate, type SimFile, type SimOptions, type SimResult, type WriteRecord } from './sim.js';
import { MIXED, expectAll } from './tree-fixture.js';

// Blocks of k = 64 symbols of 256 bytes; the sender's window of 16 blocks gives a block in its
// source phase one packet per 16: 128 symbols without one is 8 turns.
const QUIET = 128;
const E = 256;
const K = 64;
const big: SimFile[] = [{ path: 'big.bin', data: bytes(E * K * 40 + 99, 21) }];
const push = { mode: 'push', cycles: 1 } as const;

function keys(list: readonly WriteRecord[]): string[] {
  return list.map((w) => `${w.toi}/${w.sbn}`);
}

function early(o: SimOptions): SimResult {
  return simulate({ ...o, receiver: { ...o.receiver, earlyWriteAfter: QUIET } });
}

describe('receiver core: early writes of quiet blocks', () => {
  it('a push at 10% loss: each block goes quiet after its source phase, is written early once, and its completion writes only the gaps', () => {
    const o: SimOptions = { files: big, sender: push, channel: { loss: 0.1 }, seed: 3, batch: 64 };
    const r = early(o);
    expect(r.complete).toBe(true);
    expectAll(o.files, r.files);
    // Every block but the header's (its offset is known only once it decodes) and the short last one's
    // source phase ends before the repair pass: written early, each once.
    const e = keys(r.early);
    expect(new Set(e).size).toBe(e.length);
    expect(e.length).toBeGreaterThanOrEqual(38);
    for (const w of r.early) expect(w.bytes).toBeGreaterThan(0.8 * K * E);
    // Each early block completes later with a write of what was missing (~10%), not the block.
    const completion = new Map(r.blockWrites.map((w) => [`${w.toi}/${w.sbn}`, w.bytes]));
    let gapBytes = 0;
    for (const k of e) {
      expect(completion.has(k)).toBe(true);
      gapBytes += completion.get(k)!;
    }
    // Missing symbols (~10%), and the written ones between two of them less than a page apart
    // (GAP_JOIN_BYTES: 16 symbols of 256 bytes here, ~3 of 1400 in a real receive).
    expect(gapBytes).toBeLessThan(0.6 * e.length * K * E);
    expect(gapBytes).toBeGreaterThan(0);
  });

  it('without loss nothing is written early: every block completes within its source phase', () => {
    for (const batch of [undefined, 64]) {
      const o: SimOptions = { files: big, sender: push, batch };
      const r = early(o);
      expect(r.complete).toBe(true);
      expectAll(o.files, r.files);
      expect(r.early).toEqual([]);
      expect(r.blockWrites.reduce((n, w) => n + w.bytes, 0)).toBe(big[0]!.data.length);
    }
  });

  for (const seed of [1, 3, 7, 9]) {
    for (const batch of [undefined, 64]) {
      it(`random loss (seed ${seed}${batch === undefined ? '' : ', batches'}): the same files with and without early writes`, () => {
        const o: SimOptions = { files: [...MIXED, ...big], sender: { mode: 'push', cycles: 3 }, channel: { loss: 0.05 + seed * 0.02 }, seed, batch };
        const plain = simulate(o);
        const r = early(o);
        expect(plain.complete).toBe(true);
        expect(r.complete).toBe(true);
        expectAll(o.files, plain.files);
        expectAll(o.files, r.files);
        expect(plain.early).toEqual([]);
        expect(r.early.length).toBeGreaterThan(20);
      });
    }
  }

  it('bursts, reordering and duplicates: the same files', () => {
    const o: SimOptions = { files: big, sender: { mode: 'push', cycles: 3 }, channel: { burstEnter: 0.05, burstLeave: 0.3, reorder: 0.1, reorderDepth: 30, duplicate: 0.1 }, seed: 6, batch: 64 };
    const r = early(o);
    expect(r.complete).toBe(true);
    expectAll(o.files, r.files);
    expect(r.early.length).toBeGreaterThan(20);
  });

  it('a data offset past the first blocks (a long path, blocks of 64 bytes): early runs land at block offset minus dataOffset', () => {
    // E = 16, k = 4: the FCAST header (Content-Location of ~300 bytes) fills the first five blocks,
    // so it is known only once they decode. An on-demand carousel with a window of 16 blocks.
    const path = `${'deep/'.repeat(60)}f.bin`;
    const data = bytes(16 * 4 * 300 + 5, 4);
    const o: SimOptions = {
      files: [{ path, data }], sender: { memoryBudget: 16 * 8 * 16 + 1 }, fec: { symbolSize: 16, maxSourceBlockLength: 4, n1m3: 0, codeRate: 0.5 },
      channel: { loss: 0.1 }, seed: 1, batch: 16, maxPackets: 40_000,
    };
    const r = simulate({ ...o, receiver: { earlyWriteAfter: 48 } });
    expect(Buffer.from(r.files.get(path)!).equals(Buffer.from(data))).toBe(true);
    expect(r.early.length).toBeGreaterThan(20);
  });

  it('a crash and resume: early writes are not block data, the resumed receiver writes whole blocks over them', () => {
    // The shell's file survives the crash (as the part file does) but its journal knows only
    // completed blocks: blocks written early and not complete are pending again and rewritten.
    const o: SimOptions = { files: big, sender: { mode: 'push', cycles: 3 }, channel: { loss: 0.15 }, seed: 4, restartAfter: 2200, downFor: 200, batch: 32 };
    const r = early(o);
    expect(r.complete).toBe(true);
    expectAll(o.files, r.files);
    const beforeCrash = r.early.length;
    expect(beforeCrash).toBeGreaterThan(10);
  });

  it('a late joiner of an on-demand carousel served window by window: blocks quiet between rounds are written early, then filled', () => {
    // A memory budget of 8 blocks: the sender serves the 41 blocks 8 at a time in rounds, so a
    // block is quiet while the others have their turn. The joiner misses the first 1500 packets
    // (block 0, the header, among them): nothing is written early before the header is known.
    const o: SimOptions = {
      files: big, sender: { memoryBudget: 8 * 96 * E + 1, onDemandRounds: 4 }, channel: { joinAfter: 1500, loss: 0.05 }, seed: 2, batch: 64,
    };
    const r = early(o);
    expect(r.complete).toBe(true);
    expectAll(o.files, r.files);
    expect(r.early.length).toBeGreaterThan(0);
    expect(new Set(keys(r.early)).size).toBe(r.early.length);
  });
});
