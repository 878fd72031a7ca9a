// Verification hashes fed while blocks are written (src/store/prefix-digest.ts through
// OutputDir.beginDigest/writeBlock/deliver): in order, out of order, with a gap left for the
// verification's read-back, with the FCAST checksum over header and data, and a wrong digest
// still refused. Each case is checked against the read-back-only path (no beginDigest).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FcastObjectInfo } from '../../../src/assembly/index.js';
import { OutputDir } from '../../../src/store/output.js';
import { PrefixDigest } from '../../../src/store/prefix-digest.js';
import { ReceiverState } from '../../../src/store/spool.js';
import { InternetChecksum } from '../../../src/wire/checksum.js';

const work = mkdtempSync(join(tmpdir(), 'fcast-prefix-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BLOCK = 1001; // odd: the checksum's byte pairs straddle block edges
const data = new Uint8Array(10 * BLOCK - 77).map((_, i) => (i * 31 + 7) & 0xff);
const header = new Uint8Array(38).map((_, i) => i + 1);

function info(path: string, extra: Partial<FcastObjectInfo> = {}): FcastObjectInfo {
  return {
    isCid: false, checksumWhole: true, dataOffset: header.length, dataLength: data.length, path, contentLength: data.length,
    contentType: undefined, gzip: false, sha256: createHash('sha256').update(data).digest(), sha1: createHash('sha1').update(data).digest(),
    mtime: undefined, mode: undefined, cidComplete: false, cidId: undefined, ...extra,
  } as FcastObjectInfo;
}

/** Header bytes whose checksum with the data verifies: the last two header bytes complement the sum. */
function checkedHeader(): Uint8Array {
  const h = header.slice();
  h[h.length - 2] = 0;
  h[h.length - 1] = 0;
  const c = new InternetChecksum().update(h).update(data);
  const v = c.digest();
  h[h.length - 2] = v >>> 8;
  h[h.length - 1] = v & 0xff;
  return h;
}

let n = 0;
async function deliverIn(order: number[], opts: { digest: boolean; skip?: number; info?: FcastObjectInfo; header?: Uint8Array }): Promise<string> {
  const dir = join(work, `case${n++}`);
  const state = new ReceiverState(dir);
  state.openSession(1, undefined);
  state.addObject(2, { encodingId: 0, transferLength: data.length + header.length, symbolSize: 10, maxSourceBlockLength: 10 });
  const out = new OutputDir(dir, state);
  const h = opts.header ?? checkedHeader();
  const i = opts.info ?? info('f.bin');
  if (opts.digest) out.beginDigest(2, i, h);
  for (const b of order) {
    if (b === opts.skip) continue;
    out.writeBlock(2, b * BLOCK, data.subarray(b * BLOCK, Math.min(data.length, (b + 1) * BLOCK)));
  }
  // A block "of an earlier run": on disk, never fed to the digest.
  if (opts.skip !== undefined) {
    const fresh = new OutputDir(dir, state);
    fresh.writeBlock(2, opts.skip * BLOCK, data.subarray(opts.skip * BLOCK, (opts.skip + 1) * BLOCK));
    fresh.close();
  }
  const file = await out.deliver(2, i, h);
  expect(Buffer.from(readFileSync(file)).equals(Buffer.from(data))).toBe(true);
  return file;
}

describe('verification hashes fed as blocks are written', () => {
  it('the checksum helper of this test makes a valid header', () => {
    expect(new InternetChecksum().update(checkedHeader()).update(data).verify()).toBe(true);
  });

  it('in order, shuffled, and with a block written behind its back: same verified file as the read-back path', async () => {
    const inOrder = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const shuffled = [1, 0, 3, 2, 5, 4, 9, 6, 8, 7];
    for (const order of [inOrder, shuffled]) {
      await deliverIn(order, { digest: true });
      await deliverIn(order, { digest: false });
    }
    await deliverIn(shuffled, { digest: true, skip: 4 });
  });

  it('a wrong digest or checksum is still refused', async () => {
    const order = [0, 2, 1, 3, 4, 5, 6, 7, 8, 9];
    await expect(deliverIn(order, { digest: true, info: info('w.bin', { sha256: new Uint8Array(32) }) })).rejects.toMatchObject({ code: 'FCAST_DIGEST' });
    await expect(deliverIn(order, { digest: true, info: info('w2.bin', { sha1: new Uint8Array(20) }) })).rejects.toMatchObject({ code: 'FCAST_DIGEST' });
    const badHeader = checkedHeader();
    badHeader[3]! ^= 0x40;
    await expect(deliverIn(order, { digest: true, header: badHeader })).rejects.toMatchObject({ code: 'FCAST_CHECKSUM' });
  });

  it('PrefixDigest: out-of-order blocks wait and are read back once the gap fills', () => {
    const d = new PrefixDigest(info('p.bin', { checksumWhole: false, sha1: undefined }), new Uint8Array(0), '', false);
    const reads: Array<[number, number]> = [];
    const readBack = (offset: number, length: number): Uint8Array => {
      reads.push([offset, length]);
      return data.subarray(offset, offset + length);
    };
    const block = (b: number): Uint8Array => data.subarray(b * BLOCK, Math.min(data.length, (b + 1) * BLOCK));
    d.written(2 * BLOCK, block(2), readBack);
    d.written(1 * BLOCK, block(1), readBack);
    expect(d.length).toBe(0);
    d.written(0, block(0), readBack);
    expect(d.length).toBe(3 * BLOCK);
    expect(reads).toEqual([[BLOCK, BLOCK], [2 * BLOCK, BLOCK]]);
    for (let b = 3; b < 10; b++) d.written(b * BLOCK, block(b), readBack);
    expect(d.length).toBe(data.length);
    expect(d.sha256!.digest().equals(createHash('sha256').update(data).digest())).toBe(true);
  });

  it('PrefixDigest: at most 4 MiB read back per write; the rest follows later writes or the verification', async () => {
    const MIB = 1 << 20;
    const big = new Uint8Array(10 * MIB).map((_, i) => (i * 13 + 5) & 0xff);
    const bigInfo = info('big.bin', { checksumWhole: false, sha1: undefined, dataLength: big.length, contentLength: big.length, sha256: createHash('sha256').update(big).digest() });
    const d = new PrefixDigest(bigInfo, new Uint8Array(0), '', false); // the synchronous path (no thread pool)
    let readBytes = 0;
    const readBack = (offset: number, length: number): Uint8Array => {
      readBytes += length;
      return big.subarray(offset, offset + length);
    };
    const mib = (b: number): Uint8Array => big.subarray(b * MIB, (b + 1) * MIB);
    for (let b = 9; b >= 1; b--) d.written(b * MIB, mib(b), readBack);
    d.written(0, mib(0), readBack);
    expect(d.length).toBe(5 * MIB); // block 0 and four read back
    expect(readBytes).toBe(4 * MIB);
    d.written(0, mib(0), readBack); // a rewrite (already hashed) still moves the catch-up on
    expect(d.length).toBe(9 * MIB);

    // Through OutputDir: the last block fills the gap, the verification reads the rest.
    const outIn = (name: string): OutputDir => {
      const dir = join(work, name);
      const state = new ReceiverState(dir);
      state.openSession(1, undefined);
      state.addObject(2, { encodingId: 0, transferLength: big.length, symbolSize: 10, maxSourceBlockLength: 10 });
      return new OutputDir(dir, state);
    };
    const out = outIn('catch-up');
    out.beginDigest(2, bigInfo, new Uint8Array(0));
    for (let b = 9; b >= 0; b--) out.writeBlock(2, b * MIB, mib(b));
    const file = await out.deliver(2, bigInfo, new Uint8Array(0));
    expect(Buffer.from(readFileSync(file)).equals(Buffer.from(big))).toBe(true);
    const wrong = { ...bigInfo, path: 'wrong.bin', sha256: new Uint8Array(32) };
    const out2 = outIn('catch-up-wrong');
    out2.beginDigest(2, wrong, new Uint8Array(0));
    for (let b = 9; b >= 0; b--) out2.writeBlock(2, b * MIB, mib(b));
    await expect(out2.deliver(2, wrong, new Uint8Array(0))).rejects.toMatchObject({ code: 'FCAST_DIGEST' });
  });
});
