// SHA-256 off the main thread (src/store/sha256-pool.ts, native/src/sha256_job.cc): the digests
// equal node:crypto's, for whole files (sender) and for a receiver's blocks written in random
// orders (PrefixDigest through OutputDir); a failed job is a typed HASH_JOB error and the file is
// not renamed into place; abort() and OutputDir.close() settle at once and close the descriptors.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { FcastObjectInfo } from '../../../src/assembly/index.js';
import { planFile } from '../../../src/carousel/plan.js';
import { schemeFor } from '../../../codecs/index.js';
import { OutputDir } from '../../../src/store/output.js';
import { FileSha256, POOL_MIN_BYTES, poolWorthIt, sha256OfFile } from '../../../src/store/sha256-pool.js';
import { hashFile } from '../../../src/store/source-tree.js';
import { ReceiverState } from '../../../src/store/spool.js';

const work = mkdtempSync(join(tmpdir(), 'fcast-sha-pool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** Descriptors of this process open on `path`. */
function openOn(path: string): number {
  const real = realpathSync(path);
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === real;
    } catch {
      return false;
    }
  }).length;
}

function info(path: string, data: Uint8Array, extra: Partial<FcastObjectInfo> = {}): FcastObjectInfo {
  return {
    isCid: false, checksumWhole: false, dataOffset: 0, dataLength: data.length, path, contentLength: data.length,
    contentType: undefined, gzip: false, sha256: sha(data), sha1: undefined,
    mtime: undefined, mode: undefined, cidComplete: false, cidId: undefined, ...extra,
  } as FcastObjectInfo;
}

let outputs = 0;
function output(toi: number, length: number): { out: OutputDir; dir: string; state: ReceiverState } {
  const dir = join(work, `out${outputs++}`);
  const state = new ReceiverState(dir);
  state.openSession(1, undefined);
  state.addObject(toi, { encodingId: 0, transferLength: length, symbolSize: 10, maxSourceBlockLength: 10 });
  return { out: new OutputDir(dir, state), dir, state };
}

describe('sha256 off the main thread', () => {
  it('the addon has the SHA-256 jobs (this machine builds it)', () => {
    expect(poolWorthIt(POOL_MIN_BYTES)).toBe(true);
    expect(poolWorthIt(POOL_MIN_BYTES - 1)).toBe(false);
  });

  it('whole files: the same digest as node:crypto below, at and above the pool threshold and across jobs', async () => {
    for (const size of [0, 1, 4095, POOL_MIN_BYTES - 1, POOL_MIN_BYTES, (16 << 20) + 12_345]) {
      const bytes = randomBytes(size);
      const path = join(work, `whole-${size}`);
      writeFileSync(path, bytes);
      expect(Buffer.from(await sha256OfFile(path))).toEqual(sha(bytes));
      expect(Buffer.from(await hashFile(path))).toEqual(sha(bytes));
    }
  });

  it('sender: the FCAST header built from the pooled digest is byte for byte the one from node:crypto', async () => {
    const bytes = randomBytes(3 << 20);
    const path = join(work, 'header.bin');
    writeFileSync(path, bytes);
    const fec = { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 } as const;
    const file = (sha256: Uint8Array) => ({ key: 0, contentLocation: 'header.bin', contentLength: bytes.length, contentType: 'application/octet-stream', sha256, mtime: 1, mode: 0o644 });
    const pooled = planFile(1, file(await hashFile(path)), fec, schemeFor, 7);
    const reference = planFile(1, file(sha(bytes)), fec, schemeFor, 7);
    expect(Buffer.from(pooled.header)).toEqual(Buffer.from(reference.header));
  });

  it('receiver (pooled from 256 KiB): random data in random block orders and sizes gives node:crypto\'s digest, and the file is placed', async () => {
    let toi = 10;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: POOL_MIN_BYTES, max: 1_500_000 }), fc.integer({ min: 1000, max: 400_000 }), fc.integer(), async (size, block, seed) => {
        const data = randomBytes(size);
        const blocks: number[] = [];
        for (let off = 0; off < size; off += block) blocks.push(off);
        // A seeded shuffle: some blocks in order, most not.
        let s = seed >>> 0;
        for (let i = blocks.length - 1; i > 0; i--) {
          s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
          const j = s % (i + 1);
          [blocks[i], blocks[j]] = [blocks[j]!, blocks[i]!];
        }
        const t = toi++;
        const { out, dir, state } = output(t, size);
        const inf = info(`f${t}.bin`, data);
        out.beginDigest(t, inf, new Uint8Array(0));
        // Leave the last block in the order unwritten half the time: the verification queues the rest.
        const skipLast = (s & 1) === 1 && blocks.length > 1;
        const written = skipLast ? blocks.slice(0, -1) : blocks;
        for (const off of written) {
          // The caller's buffer is reused at once (the decoder's arena): the pool reads the part file.
          const view = Buffer.from(data.subarray(off, Math.min(size, off + block)));
          out.writeBlock(t, off, view);
          view.fill(0xaa);
        }
        if (skipLast) {
          // Written behind the digest's back (as an earlier run's block after a resume).
          const off = blocks[blocks.length - 1]!;
          const fd = openSync(state.partPath(t), 'r+');
          writeSync(fd, data, off, Math.min(size, off + block) - off, off);
          closeSync(fd);
        }
        const placed = await out.deliver(t, inf, new Uint8Array(0));
        expect(placed).toBe(join(dir, `f${t}.bin`));
        expect(sha(readFileSync(placed))).toEqual(sha(data));
        out.close();
      }),
      { numRuns: 25 },
    );
  });

  it('a failed job is HASH_JOB and the file is not renamed into place; a wrong digest is still FCAST_DIGEST', async () => {
    const data = randomBytes(3 << 20);
    const { out, dir, state } = output(2, data.length);
    // No Content-Length (it is optional), so the cut is not caught by the length check first.
    const inf = info('cut.bin', data, { contentLength: undefined });
    out.beginDigest(2, inf, new Uint8Array(0));
    // Blocks 1 and 2 wait beyond the prefix; the part file is cut before block 0 fills the gap,
    // so their read-back on the pool finds the file short.
    for (const b of [2, 1]) out.writeBlock(2, b << 20, data.subarray(b << 20, (b + 1) << 20));
    truncateSync(state.partPath(2), 1 << 20);
    out.writeBlock(2, 0, data.subarray(0, 1 << 20));
    await expect(out.deliver(2, inf, new Uint8Array(0))).rejects.toMatchObject({ code: 'HASH_JOB', origin: 'io' });
    expect(existsSync(join(dir, 'cut.bin'))).toBe(false);
    out.close();

    const wrong = output(3, data.length);
    const bad = info('wrong.bin', data, { sha256: new Uint8Array(32) });
    wrong.out.beginDigest(3, bad, new Uint8Array(0));
    wrong.out.writeBlock(3, 0, data);
    await expect(wrong.out.deliver(3, bad, new Uint8Array(0))).rejects.toMatchObject({ code: 'FCAST_DIGEST' });
    expect(existsSync(join(wrong.dir, 'wrong.bin'))).toBe(false);
    wrong.out.close();
  });

  it('a job whose kernel fails rejects the digest with HASH_JOB and closes the file', async () => {
    const path = join(work, 'kernel-fails');
    writeFileSync(path, randomBytes(1000));
    const failing = {
      sha256Open: (): unknown => ({}),
      sha256Range: (_h: unknown, _fd: number, _o: number, _l: number, done: (e: Error | null) => void): void => void setImmediate(() => done(new Error('EIO'))),
      sha256Update: (): boolean => false,
      sha256Final: (): Uint8Array | undefined => undefined,
    };
    const h = new FileSha256(path, failing);
    h.range(0, 1000);
    await expect(h.digest()).rejects.toMatchObject({ code: 'HASH_JOB', origin: 'io' });
    expect(openOn(path)).toBe(0);
  });

  it('abort() and OutputDir.close() settle at once: queued ranges dropped, descriptors closed', async () => {
    const path = join(work, 'abort.bin');
    writeFileSync(path, randomBytes(48 << 20));
    const h = new FileSha256(path);
    for (let b = 0; b < 48; b++) h.range(b << 20, 1 << 20);
    const t0 = performance.now();
    const digest = h.digest();
    h.abort();
    await expect(digest).rejects.toMatchObject({ code: 'HASH_JOB' });
    // At most the one job running (16 MiB) is waited for.
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(openOn(path)).toBe(0);

    const data = randomBytes(8 << 20);
    const { out, state } = output(4, data.length);
    out.beginDigest(4, info('closed.bin', data), new Uint8Array(0));
    for (let b = 0; b < 8; b++) out.writeBlock(4, b << 20, data.subarray(b << 20, (b + 1) << 20));
    out.close();
    for (let i = 0; i < 100 && openOn(state.partPath(4)) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(openOn(state.partPath(4))).toBe(0);
  });
});
