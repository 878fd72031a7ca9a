// The receiver's file shell (src/store/output.ts, src/store/spool.ts) on a temp directory:
// verification before rename, symlink tricks, resume spool round trip.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FcastObjectInfo } from '../../../src/assembly/index.js';
import { OutputDir } from '../../../src/store/output.js';
import { ReceiverState } from '../../../src/store/spool.js';

const work = mkdtempSync(join(tmpdir(), 'fcast-out-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function info(path: string, data: Uint8Array, extra: Partial<FcastObjectInfo> = {}): FcastObjectInfo {
  return {
    isCid: false,
    checksumWhole: false,
    dataOffset: 0,
    dataLength: data.length,
    path,
    contentLength: data.length,
    contentType: undefined,
    gzip: false,
    sha256: createHash('sha256').update(data).digest(),
    sha1: undefined,
    mtime: 1_500_000_000,
    mode: 0o640,
    cidComplete: false,
    cidId: undefined,
    ...extra,
  };
}

function setup(name: string): { dir: string; out: OutputDir; state: ReceiverState } {
  const dir = join(work, name);
  const state = new ReceiverState(dir);
  state.openSession(1, undefined);
  return { dir, out: new OutputDir(dir, state), state };
}

const oti = { encodingId: 0 as const, transferLength: 100, symbolSize: 10, maxSourceBlockLength: 10 };

describe('receiver output shell', () => {
  it('writes blocks at their offsets, verifies, sets mode and mtime, renames into place', async () => {
    const { dir, out, state } = setup('ok');
    const data = new Uint8Array(3000).map((_, i) => i * 7);
    state.addObject(2, oti);
    out.writeBlock(2, 1000, data.subarray(1000));
    out.writeBlock(2, 0, data.subarray(0, 1000));
    const file = await out.deliver(2, info('a/b/c.bin', data), new Uint8Array(0));
    expect(file).toBe(join(out.root, 'a/b/c.bin'));
    expect(Buffer.from(readFileSync(file)).equals(Buffer.from(data))).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(Math.round(statSync(file).mtimeMs / 1000)).toBe(1_500_000_000);
    expect(existsSync(state.partPath(2))).toBe(false);
    expect(existsSync(join(dir, 'a/b'))).toBe(true);
  });

  it('a digest mismatch leaves nothing under the final name', async () => {
    const { dir, out, state } = setup('bad');
    const data = new Uint8Array([1, 2, 3]);
    state.addObject(2, oti);
    out.writeBlock(2, 0, data);
    const wrong = info('x.bin', data, { sha256: new Uint8Array(32) });
    await expect(out.deliver(2, wrong, new Uint8Array(0))).rejects.toMatchObject({ code: 'FCAST_DIGEST' });
    expect(existsSync(join(dir, 'x.bin'))).toBe(false);
  });

  it('refuses a path through a symlinked directory (never writes outside DIR)', async () => {
    const { dir, out, state } = setup('link');
    const outside = join(work, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, join(dir, 'evil'));
    writeFileSync(join(dir, 'plainfile'), 'x');
    const data = new Uint8Array([9]);
    for (const [toi, path] of [[2, 'evil/payload'], [3, 'plainfile/payload']] as const) {
      state.addObject(toi, oti);
      out.writeBlock(toi, 0, data);
      await expect(out.deliver(toi, info(path, data), new Uint8Array(0))).rejects.toMatchObject({ code: 'FCAST_PATH' });
    }
    expect(existsSync(join(outside, 'payload'))).toBe(false);
  });

  it('spool records survive a reopen (resume): headers scanned, symbols read back', () => {
    const dir = join(work, 'spool');
    const a = new ReceiverState(dir);
    a.openSession(7, '10.0.0.1');
    a.addObject(5, oti);
    for (let r = 0; r < 25; r++) a.append(5, r, r % 3, r, new Uint8Array(10).fill(r));
    a.append(5, 25, 9, 9, new Uint8Array(4).fill(0xee)); // short last symbol
    a.markBlockDone(5, 1);
    // A done block is in the part file (a resume with the part gone receives the object again).
    writeFileSync(a.partPath(5), new Uint8Array(20));
    a.flushNow(() => undefined);
    a.close();
    const b = new ReceiverState(dir);
    const objects = b.openSession(7, '10.0.0.1');
    expect(objects.map((o) => [o.toi, o.done])).toEqual([[5, [1]]]);
    const seen: number[][] = [];
    expect(b.scan(5, (r, sbn, esi) => seen.push([r, sbn, esi]))).toBe(26);
    expect(seen[4]).toEqual([4, 1, 4]);
    // Each symbol is a view valid until the next one is read (decoders copy on push).
    const back: [number, number[]][] = [];
    for (const x of b.read(5, new Uint32Array([3, 25]))) back.push([x.esi, [...x.symbol]]);
    expect(back).toEqual([
      [3, new Array(10).fill(3)],
      [9, [0xee, 0xee, 0xee, 0xee, 0, 0, 0, 0, 0, 0]],
    ]);
    b.close();
    // Another session's state is discarded.
    const c = new ReceiverState(dir);
    expect(c.openSession(8, '10.0.0.1')).toEqual([]);
    c.close();
  });
});
