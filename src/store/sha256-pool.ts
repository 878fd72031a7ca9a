// SHA-256 of a file's byte ranges off the main thread: the FCAST object digest (RFC 6968 §3.3,
// Fcast-Obj-Digest-SHA256) that the sender computes before its first packet and that a receiver
// checks before the rename (§3.8 step 4). Both sat on a main thread while the second core was
// idle: ~30-35 ms (quiet) to 50-80 ms (loaded) per 64 MB on this box's SHA-NI, at the sender's
// start and at a lossy receiver's end (bench/multicast-peers.md, "Session 6, hashing").
//
// Off the main thread = the native addon's jobs on libuv's thread pool (native/src/sha256_job.cc),
// through the OpenSSL that Node links: a job preads a range of the file and hashes it. No worker
// thread: starting a Worker that has loaded node:crypto took 59 ms wall and 34 ms of process CPU
// here (median of 7, load 4.3), as much as the hash of the 64 MB file it would save, so it pays
// only for far larger files; a pool job is a dispatch and a callback. The bytes are read back
// from the file (the page cache) by the pool thread, so the main thread copies nothing and a
// caller's buffer may be reused at once: for 64 MB in 48 blocks of 1.4 MB, queuing the ranges took
// 1.0 ms of the main thread and the pool's read-back and hash 41 ms of CPU, against 55 ms of the
// main thread to copy the blocks for a hash elsewhere and 48 ms to hash them here (same run).
// Bytes a caller holds that are next in order, with nothing queued before them, are hashed at
// once on its thread into the same state (bytes()): cheaper still, when that thread has the time.
//
// Without the addon, the ranges are read and hashed synchronously on the calling thread, as
// before. Files below POOL_MIN_BYTES are hashed there too (hashFile), and objects below it keep
// the receiver's synchronous digest: for them a job's round trip costs about what the hash does.

import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { getNative } from '../../codecs/native.js';
import { FcastError } from '../errors.js';

/** The addon's SHA-256 jobs (native/src/sha256_job.cc). */
interface Sha256Kernel {
  sha256Open(): unknown;
  sha256Range(handle: unknown, fd: number, offset: number, length: number, done: (e: Error | null) => void): void;
  sha256Update(handle: unknown, bytes: Uint8Array): boolean;
  sha256Final(handle: unknown): Uint8Array | undefined;
}

/**
 * Files and objects smaller than this are hashed on the calling thread. Below it the whole hash
 * (open, read, hash, close) takes under ~0.3-0.4 ms here, about a pool round trip's wall time
 * (4 KiB: 122 us here, 132 us through the pool; 256 KiB: 431 and 412 us; 1 MiB: 1.29 and 0.98 ms;
 * load 4.3): the pool gains nothing, and a receiver of 1000 small files would run a job each.
 */
export const POOL_MIN_BYTES = 256 << 10;
/** Largest range one job hashes, so an abort waits for at most this much (~8 ms) of hashing. */
const JOB_BYTES = 16 << 20;
/** Read size of the synchronous path. */
const SYNC_CHUNK = 4 << 20;

let kernelCache: Sha256Kernel | null | undefined;

function kernel(): Sha256Kernel | undefined {
  if (kernelCache === undefined) {
    const n = getNative();
    kernelCache = n !== undefined && typeof n['sha256Open'] === 'function' && typeof n['sha256Range'] === 'function' && typeof n['sha256Update'] === 'function' && typeof n['sha256Final'] === 'function' ? (n as unknown as Sha256Kernel) : null;
  }
  return kernelCache ?? undefined;
}

/** Objects (receiver) and files (sender) from this size are hashed on the thread pool. */
export function poolWorthIt(bytes: number): boolean {
  return bytes >= POOL_MIN_BYTES && kernel() !== undefined;
}

/** Raised (HASH_JOB, origin io) when a job fails: the file could not be read back, or was cut short. */
function jobFailed(path: string, e: Error): FcastError {
  return new FcastError('HASH_JOB', 'io', `${path}: ${e.message}`, { cause: e });
}

/**
 * SHA-256 over ranges of one file, fed in order: range() queues, digest() gives the hash of
 * every range queued before it. Adjacent queued ranges go as one job. The file has its own
 * read-only descriptor only while jobs are queued or running (a receiver with many objects in
 * flight holds no extra descriptors for them: 1000 small files ran out under `ulimit -n 256`).
 */
export class FileSha256 {
  private readonly native: Sha256Kernel | undefined;
  private readonly handle: unknown;
  private readonly hash: Hash | undefined;
  private fd: number | undefined;
  /** Ranges not yet handed to a job: [offset, length] pairs. */
  private readonly queue: Array<[number, number]> = [];
  private running = false;
  private failure: FcastError | undefined;
  private aborted = false;
  private settle: (() => void) | undefined;
  private result: Promise<Uint8Array> | undefined;
  /** Bytes queued so far. */
  queued = 0;

  /** `backend` is for tests (a failing job); by default the addon's, or synchronous without it. */
  constructor(
    readonly path: string,
    backend: Sha256Kernel | undefined = kernel(),
  ) {
    this.native = backend;
    this.handle = backend?.sha256Open();
    this.hash = backend === undefined ? createHash('sha256') : undefined;
  }

  /** True when this hash runs on the thread pool. */
  get offThread(): boolean {
    return this.native !== undefined;
  }

  /** Hash the file's [offset, offset + length) after every range queued before. */
  range(offset: number, length: number): void {
    if (length <= 0 || this.aborted || this.result !== undefined || this.failure !== undefined) return;
    this.queued += length;
    if (this.native === undefined) {
      this.hashSync(offset, length);
      return;
    }
    const last = this.queue[this.queue.length - 1];
    if (last !== undefined && last[0] + last[1] === offset) last[1] += length;
    else this.queue.push([offset, length]);
    this.pump();
  }

  /**
   * `chunk` is the file's [offset, offset + chunk.length), in memory: hashed here at once when
   * nothing queued is still to be hashed before it (a receiver's block at its prefix's end: no
   * read-back, the cheapest way), else queued as a range to be read back on the pool.
   */
  bytes(offset: number, chunk: Uint8Array): void {
    if (chunk.length === 0 || this.aborted || this.result !== undefined || this.failure !== undefined) return;
    if (this.native === undefined) {
      this.queued += chunk.length;
      this.hash!.update(chunk);
    } else if (!this.running && this.queue.length === 0 && this.native.sha256Update(this.handle, chunk)) {
      this.queued += chunk.length;
    } else {
      this.range(offset, chunk.length);
    }
  }

  /** The digest of everything queued; rejects with HASH_JOB if a job failed or the hash was aborted. */
  digest(): Promise<Uint8Array> {
    this.result ??= new Promise<void>((resolve) => {
      this.settle = resolve;
      this.pump();
    }).then(() => this.finish());
    return this.result;
  }

  /** Drop the queued ranges and close the file; a job running (at most JOB_BYTES) finishes first. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.queue.length = 0;
    this.failure ??= new FcastError('HASH_JOB', 'io', `${this.path}: aborted`);
    this.pump();
  }

  private finish(): Uint8Array {
    if (this.failure !== undefined) throw this.failure;
    const out = this.native !== undefined ? this.native.sha256Final(this.handle) : new Uint8Array(this.hash!.digest());
    if (out === undefined) throw new FcastError('HASH_JOB', 'io', `${this.path}: no digest`);
    return out;
  }

  private open(): number {
    this.fd ??= openSync(this.path, 'r');
    return this.fd;
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Start the next job if none runs. When nothing is left to run (all hashed, a failure, an
   * abort), close the file and settle the digest: never while a job may still read the descriptor.
   */
  private pump(): void {
    if (this.running) return;
    const next = this.failure === undefined ? this.queue[0] : undefined;
    if (next === undefined) {
      this.closeFile();
      this.settle?.();
      return;
    }
    const [offset, length] = next;
    const take = Math.min(length, JOB_BYTES);
    if (take === length) this.queue.shift();
    else next.splice(0, 2, offset + take, length - take);
    let fd: number;
    try {
      fd = this.open();
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    this.running = true;
    this.native!.sha256Range(this.handle, fd, offset, take, (e) => {
      this.running = false;
      if (e !== null) this.fail(e);
      else this.pump();
    });
  }

  private fail(e: Error): void {
    this.failure ??= jobFailed(this.path, e);
    this.queue.length = 0;
    this.pump();
  }

  private hashSync(offset: number, length: number): void {
    try {
      const fd = this.open();
      const buf = Buffer.allocUnsafe(Math.min(SYNC_CHUNK, length));
      for (let pos = offset, end = offset + length; pos < end; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
        if (n === 0) throw new Error('file shorter than the range');
        this.hash!.update(buf.subarray(0, n));
        pos += n;
      }
      this.closeFile();
    } catch (e) {
      this.fail(e as Error);
    }
  }
}

/**
 * SHA-256 of a whole file: on the thread pool from POOL_MIN_BYTES (the caller's thread is free
 * meanwhile), else here. HASH_JOB if it cannot be read to its end, or when `signal` aborts it
 * (the jobs stop within one job: a sender interrupted while it hashes a large file ends at once).
 */
export async function sha256OfFile(path: string, signal?: AbortSignal): Promise<Uint8Array> {
  const size = statSync(path).size;
  const h = new FileSha256(path, poolWorthIt(size) ? kernel() : undefined);
  const onAbort = (): void => h.abort();
  if (signal?.aborted === true) h.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    h.range(0, size);
    return await h.digest();
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
