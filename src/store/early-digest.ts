// The sender's file digests started before its command has loaded (issue 4, "Speed").
//
// Why: `fcast send FILE` needs each file's SHA-256 in the FCAST header of the file's first
// block before that block can go out (RFC 6968 §3.3, Fcast-Obj-Digest-SHA256). The hash runs on
// the thread pool (sha256-pool.ts), but it started only once the command's bundle, oclif and the
// source scan had loaded, ~60-80 ms after Node's start, and the first data packet then waited for
// it (64 MB: ~40 ms of hashing) with the second core idle. bin/start.mjs now starts the hashes of
// the command line's file arguments before it loads the send bundle, and the command claims them
// (hashFile) instead of starting its own.
//
// Speculative by design: bin/start.mjs cannot tell a PATH argument from a flag's value, so every
// argument naming a regular file of at least POOL_MIN_BYTES is hashed (anything else is left
// alone). A claim checks that the file is still the one hashed (device, inode, size, mtime,
// ctime, as lstat reports them in nanoseconds), else the early hash is dropped and the file hashed
// anew. What no one claims is aborted when the command ends (dropEarlyDigests), within one pool
// job (at most 16 MB of hashing).
//
// Only the fast start does it (bin/start.mjs, through the bundle's startEarly): the ordinary
// oclif path starts nothing early, and hashFile then simply hashes.

import { lstatSync, type BigIntStats } from 'node:fs';
import { resolve } from 'node:path';
import { FileSha256, poolWorthIt } from './sha256-pool.js';

interface EarlyDigest {
  readonly stat: BigIntStats;
  readonly hash: FileSha256;
  readonly digest: Promise<Uint8Array>;
}

const early = new Map<string, EarlyDigest>();

function fileStat(path: string): BigIntStats | undefined {
  try {
    const st = lstatSync(path, { bigint: true });
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** Start hashing, on the thread pool, every argument that names a regular file worth a pool job. */
export function startEarlyDigests(args: readonly string[]): void {
  for (const arg of args) {
    const path = resolve(arg);
    if (early.has(path)) continue;
    const stat = fileStat(path);
    if (stat === undefined || !poolWorthIt(Number(stat.size))) continue;
    const hash = new FileSha256(path);
    hash.range(0, Number(stat.size));
    const digest = hash.digest();
    digest.catch(() => undefined); // claimed or dropped: an unclaimed failure is nobody's error
    early.set(path, { stat, hash, digest });
  }
}

/**
 * The early digest of `path` if one was started and the file is unchanged since, else undefined
 * (a stale one is aborted). `signal` aborts the claimed hash as it would a fresh one.
 */
export function claimEarlyDigest(path: string, signal?: AbortSignal): Promise<Uint8Array> | undefined {
  const abs = resolve(path);
  const entry = early.get(abs);
  if (entry === undefined) return undefined;
  early.delete(abs);
  const now = fileStat(abs);
  if (now === undefined || !sameFile(entry.stat, now)) {
    entry.hash.abort();
    return undefined;
  }
  if (signal === undefined) return entry.digest;
  const onAbort = (): void => entry.hash.abort();
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return entry.digest.finally(() => signal.removeEventListener('abort', onAbort));
}

/** Abort every early digest not claimed (the command has ended, or will not hash). */
export function dropEarlyDigests(): void {
  for (const entry of early.values()) entry.hash.abort();
  early.clear();
}
