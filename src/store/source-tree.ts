// What `fcast send PATH...` puts on the air: regular files and whole directory trees, each file
// with the relative Content-Location a receiver rebuilds it under (RFC 6968 §3.3), its size,
// mtime, mode and SHA-256 (Fcast-Obj-Digest-SHA256, streamed: a file is never loaded whole).
//
// Naming [ours]: a file argument is sent as its base name; a directory argument as
// <dirname>/<path inside it>, like `cp -r DIR DEST`. Symbolic links and special files are
// skipped (and reported): following links could send files from outside the tree. Two sources
// with the same Content-Location are a usage error.

import { closeSync, openSync, readSync } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FcastError, LocalProtocolError } from '../errors.js';
import { claimEarlyDigest } from './early-digest.js';
import { sha256OfFile } from './sha256-pool.js';

export interface SourceFile {
  /** Absolute path on this machine. */
  readonly path: string;
  /** Relative path with '/' separators (not yet percent-encoded). */
  readonly location: string;
  readonly size: number;
  /** Whole seconds since the Unix epoch. */
  readonly mtime: number;
  readonly mode: number;
}

export interface SourceTree {
  readonly files: readonly SourceFile[];
  /** Paths skipped: symbolic links, sockets, devices. */
  readonly skipped: readonly string[];
}

async function walk(dir: string, prefix: string, files: SourceFile[], skipped: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const path = join(dir, e.name);
    const location = `${prefix}/${e.name}`;
    if (e.isDirectory()) await walk(path, location, files, skipped);
    else if (e.isFile()) files.push(await describe(path, location));
    else skipped.push(path);
  }
}

async function describe(path: string, location: string): Promise<SourceFile> {
  const st = await lstat(path);
  return { path, location, size: st.size, mtime: Math.floor(st.mtimeMs / 1000), mode: st.mode & 0o7777 };
}

/** Expand PATH arguments into the sorted list of files to send. */
export async function scanSources(paths: readonly string[]): Promise<SourceTree> {
  const files: SourceFile[] = [];
  const skipped: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    const st = await lstat(abs).catch((e: NodeJS.ErrnoException) => {
      throw new FcastError('INPUT_FILE', 'io', `${p}: ${e.code ?? e.message}`);
    });
    const name = basename(abs);
    if (st.isDirectory()) await walk(abs, name === '' ? '.' : name, files, skipped);
    else if (st.isFile()) files.push(await describe(abs, name));
    else skipped.push(abs);
  }
  files.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  for (let i = 1; i < files.length; i++) {
    if (files[i]!.location === files[i - 1]!.location) {
      throw new LocalProtocolError('USAGE', `two sources map to ${files[i]!.location}: ${files[i - 1]!.path} and ${files[i]!.path}`);
    }
  }
  return { files, skipped };
}

/** Reads up to this size are synchronous: for a small file the promise round trips (open, read, close on the thread pool) cost more than the read (2000 files of 1-4 KB: 1.5 s of the sender's CPU). */
const SYNC_READ_BYTES = 64 * 1024;
/**
 * SHA-256 of a file (src/store/sha256-pool.ts): on the thread pool from 256 KiB, so the caller
 * can start hashing early and do the rest of its start-up while the digest is computed; the one
 * bin/start.mjs started before the command loaded, if the file is unchanged since
 * (early-digest.ts). `signal` aborts it (HASH_JOB).
 */
export function hashFile(path: string, signal?: AbortSignal): Promise<Uint8Array> {
  return claimEarlyDigest(path, signal) ?? sha256OfFile(path, signal);
}

/**
 * Fill `target` with the bytes of `path` from `offset`. INPUT_FILE when the file is now shorter
 * than when it was scanned (it changed under us; its digest would no longer match).
 */
export async function readRange(path: string, offset: number, target: Uint8Array): Promise<void> {
  if (target.length <= SYNC_READ_BYTES) {
    readRangeSync(path, offset, target);
    return;
  }
  const fh = await open(path, 'r');
  try {
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await fh.read(target, done, target.length - done, offset + done);
      if (bytesRead === 0) throw new FcastError('INPUT_FILE', 'io', `${path} shrank while being sent`);
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

function readRangeSync(path: string, offset: number, target: Uint8Array): void {
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < target.length) {
      const n = readSync(fd, target, done, target.length - done, offset + done);
      if (n === 0) throw new FcastError('INPUT_FILE', 'io', `${path} shrank while being sent`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}
