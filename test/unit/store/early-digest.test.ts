// The sender's early digests (src/store/early-digest.ts): bin/start.mjs hashes the file arguments
// of `fcast send` before the command loads, and hashFile claims them. A claim gives the file's
// SHA-256; a file changed since (size, mtime or a new inode) is hashed anew; arguments that are
// not regular files worth a pool job are left alone; what is never claimed is aborted.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { claimEarlyDigest, dropEarlyDigests, startEarlyDigests } from '../../../src/store/early-digest.js';
import { POOL_MIN_BYTES, poolWorthIt } from '../../../src/store/sha256-pool.js';
import { hashFile } from '../../../src/store/source-tree.js';

const work = mkdtempSync(join(tmpdir(), 'fcast-early-digest-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => dropEarlyDigests());

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

function file(name: string, bytes: number): { path: string; data: Buffer } {
  const path = join(work, name);
  const data = randomBytes(bytes);
  writeFileSync(path, data);
  return { path, data };
}

describe.skipIf(!poolWorthIt(POOL_MIN_BYTES))('early digests', () => {
  it('a file argument is hashed early and claimed once, by a relative or absolute path', async () => {
    const { path, data } = file('a.bin', 3 << 20);
    startEarlyDigests([relative(process.cwd(), path)]);
    const claimed = claimEarlyDigest(path);
    expect(claimed).toBeDefined();
    expect(Buffer.from(await claimed!)).toEqual(sha(data));
    expect(claimEarlyDigest(path)).toBeUndefined();
    // hashFile without an early digest hashes the file itself.
    expect(Buffer.from(await hashFile(path))).toEqual(sha(data));
  });

  it('hashFile takes the early digest', async () => {
    const { path, data } = file('b.bin', 1 << 20);
    startEarlyDigests([path]);
    expect(Buffer.from(await hashFile(path))).toEqual(sha(data));
    expect(claimEarlyDigest(path)).toBeUndefined();
  });

  it('a file changed after its early hash began is hashed anew', async () => {
    const grown = file('c.bin', 1 << 20);
    startEarlyDigests([grown.path]);
    appendFileSync(grown.path, Buffer.from('more'));
    expect(claimEarlyDigest(grown.path)).toBeUndefined();
    expect(Buffer.from(await hashFile(grown.path))).toEqual(sha(Buffer.concat([grown.data, Buffer.from('more')])));

    const touched = file('d.bin', 1 << 20);
    startEarlyDigests([touched.path]);
    utimesSync(touched.path, 1_000_000, 1_000_000);
    expect(claimEarlyDigest(touched.path)).toBeUndefined();

    const replaced = file('e.bin', 1 << 20);
    startEarlyDigests([replaced.path]);
    const other = file('e2.bin', 1 << 20);
    renameSync(other.path, replaced.path);
    expect(claimEarlyDigest(replaced.path)).toBeUndefined();
    expect(Buffer.from(await hashFile(replaced.path))).toEqual(sha(other.data));
  });

  it('flag values, missing paths, directories and small files are left alone', () => {
    const small = file('small.bin', POOL_MIN_BYTES - 1);
    startEarlyDigests(['239.1.2.3:5000', join(work, 'missing'), work, small.path, '1G']);
    for (const p of ['239.1.2.3:5000', join(work, 'missing'), work, small.path, '1G']) expect(claimEarlyDigest(p)).toBeUndefined();
  });

  it('an unclaimed digest is aborted by dropEarlyDigests, a claimed one by its signal', async () => {
    const dropped = file('f.bin', 4 << 20);
    startEarlyDigests([dropped.path]);
    dropEarlyDigests();
    expect(claimEarlyDigest(dropped.path)).toBeUndefined();

    const aborted = file('g.bin', 4 << 20);
    startEarlyDigests([aborted.path]);
    const ctl = new AbortController();
    const claimed = claimEarlyDigest(aborted.path, ctl.signal);
    ctl.abort();
    await expect(claimed).rejects.toMatchObject({ code: 'HASH_JOB' });
  });
});
