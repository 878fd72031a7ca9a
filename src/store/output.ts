// Writes received objects into the output directory (RFC 6968 §3.8 steps 3-4, §5.3.3).
//
// Each object's data is assembled in DIR/.fcast/<toi>.part, block by block at its final offset
// (the FCAST header is cut off by the core, so the part file IS the file: no second copy). When
// every block is in, the part file is read back once, streaming: the FCAST checksum (G=1: over
// header + data), SHA-256 and/or SHA-1 digests and Content-Length are checked; mode and mtime
// are set; only then is it renamed to its final name. A partial or wrong file never appears
// under the final name. gzip Content-Encoding is undone into a second temp file while hashing
// (the digest is of the decoded object), the one case where bytes are written twice.
//
// Paths: Content-Location was already reduced to a safe relative path (src/wire
// content-location.ts). Here the directories on the way are created one by one, and any that
// exists as a symlink or a non-directory is refused (FCAST_PATH), so a planted link cannot send
// a file outside DIR. The final name may be an old symlink: rename replaces the link itself.

import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, createReadStream, createWriteStream, fdatasync, fdatasyncSync, fstatSync, lstatSync, mkdirSync, openSync, read, readSync, realpathSync, renameSync, rmSync, chmodSync, utimesSync, writeSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Writable } from 'node:stream';
import { RemoteProtocolError, FcastError } from '../errors.js';
import { InternetChecksum } from '../wire/checksum.js';
import type { FcastObjectInfo } from '../assembly/object-info.js';
import type { ReceiverState } from './spool.js';
import { PrefixDigest } from './prefix-digest.js';

/** Read-back chunk for verification: one buffer per delivery, reused (no stream, no per-chunk allocation). */
const VERIFY_CHUNK = 1 << 20;
/**
 * Verifications at once. Small files decode far faster than they are synced and read back; each
 * waiting one holds no descriptor, so thousands of them do not run out (EMFILE at `ulimit -n 512`
 * with 2000 files before this bound).
 */
const MAX_VERIFYING = 16;
/**
 * A part file's writeback is started every this many bytes written (fdatasync on the thread
 * pool), so the disk takes a large file while it is received and the fdatasync before the rename
 * finds little left: eight receivers syncing a whole 64 MB part each at the end took 0.05-0.25 s
 * apiece in the netns harness (8 x 64 MB at once: 584 ms here), on the path to the file's
 * appearance.
 */
const WRITEBACK_BYTES = 4 << 20;

export class OutputDir {
  readonly root: string;
  private readonly parts = new Map<number, number>();
  /** Directories under root this run created or found to be real directories (not links). */
  private readonly dirsOk = new Set<string>();
  private verifying = 0;
  private readonly waiting: Array<() => void> = [];
  /** Hashes fed as blocks are written (src/store/prefix-digest.ts), from beginDigest to deliver. */
  private readonly digests = new Map<number, PrefixDigest>();
  private readBackBuf = Buffer.alloc(0);
  /** Per part: bytes written since its last writeback started. */
  private readonly unsynced = new Map<number, number>();
  /** Parts with a writeback in flight (one at a time each). */
  private readonly syncing = new Set<number>();

  constructor(
    dir: string,
    private readonly state: ReceiverState,
  ) {
    mkdirSync(dir, { recursive: true });
    this.root = realpathSync(dir);
  }

  private part(toi: number): number {
    let fd = this.parts.get(toi);
    if (fd === undefined) {
      // Read-write, created if missing, never truncated ('a+' would append whatever the offset).
      fd = openSync(this.state.partPath(toi), fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
      this.parts.set(toi, fd);
    }
    return fd;
  }

  /** Write decoded data at its offset in the object's part file. */
  writeBlock(toi: number, fileOffset: number, bytes: Uint8Array): void {
    const fd = this.part(toi);
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, fileOffset + done);
    this.digests.get(toi)?.written(fileOffset, bytes, (offset, length) => this.readBack(fd, offset, length));
    this.writeback(toi, fd, bytes.length);
  }

  /** Start the part's writeback every WRITEBACK_BYTES; errors surface at the sync before the rename. */
  private writeback(toi: number, fd: number, written: number): void {
    const pending = (this.unsynced.get(toi) ?? 0) + written;
    if (pending < WRITEBACK_BYTES || this.syncing.has(toi)) {
      this.unsynced.set(toi, pending);
      return;
    }
    this.unsynced.set(toi, 0);
    this.syncing.add(toi);
    fdatasync(fd, () => this.syncing.delete(toi));
  }

  /** The object's header is known: hash its data as its blocks are written (not gzip objects). */
  beginDigest(toi: number, info: FcastObjectInfo, headerBytes: Uint8Array): void {
    if (!info.gzip) this.digests.set(toi, new PrefixDigest(info, headerBytes, this.state.partPath(toi)));
  }

  /** Part-file bytes written earlier (a view of one reused buffer). */
  private readBack(fd: number, offset: number, length: number): Uint8Array {
    if (this.readBackBuf.length < length) this.readBackBuf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, this.readBackBuf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return this.readBackBuf.subarray(0, got);
  }

  syncPart(toi: number): void {
    const fd = this.parts.get(toi);
    if (fd !== undefined) fdatasyncSync(fd);
  }

  /** fdatasync on the thread pool (the receive loop keeps running); a closed part is done. */
  syncPartAsync(toi: number): Promise<void> {
    const fd = this.parts.get(toi);
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fdatasync(fd, (e) => (e === null || e.code === 'EBADF' ? resolve() : reject(e))));
  }

  private closePart(toi: number): void {
    this.unsynced.delete(toi);
    const fd = this.parts.get(toi);
    if (fd === undefined) return;
    closeSync(fd);
    this.parts.delete(toi);
  }

  /** Forget a rejected object's part file. */
  discard(toi: number): void {
    this.digests.get(toi)?.abort();
    this.digests.delete(toi);
    this.closePart(toi);
    rmSync(this.state.partPath(toi), { force: true });
  }

  /**
   * Verify the decoded object and move it into place. Throws RemoteProtocolError
   * (FCAST_CHECKSUM, FCAST_DIGEST, FCAST_CONTENT_LENGTH, FCAST_CONTENT_ENCODING, FCAST_PATH).
   * Returns the final absolute path.
   */
  async deliver(toi: number, info: FcastObjectInfo, headerBytes: Uint8Array): Promise<string> {
    // A 0-byte object never wrote a block: create its (empty) part file now. Its descriptor is
    // closed until a verification slot is free.
    this.part(toi);
    this.closePart(toi);
    this.state.objectDecoded(toi);
    if (this.verifying >= MAX_VERIFYING) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.verifying++;
    try {
      const fd = openSync(this.state.partPath(toi), 'r');
      // On the thread pool: with many small files, one fdatasync each must not hold up the receive
      // loop. The verification reads back and hashes meanwhile and the rename waits for both: a
      // lossy receiver's last 40-53 MB of a 64 MB object were hashed, then synced (45-70 ms each).
      const synced = new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e === null ? resolve() : reject(e))));
      synced.catch(() => undefined); // handled: a sync error surfaces where it is awaited, before the rename
      try {
        return await this.verifyAndPlace(fd, toi, info, headerBytes, synced);
      } finally {
        // The descriptor stays open until the sync is done with it, whatever the verification said.
        await synced.catch(() => undefined);
        closeSync(fd);
      }
    } finally {
      this.verifying--;
      this.waiting.shift()?.();
    }
  }

  private async verifyAndPlace(fd: number, toi: number, info: FcastObjectInfo, headerBytes: Uint8Array, synced: Promise<void>): Promise<string> {
    const path = info.path!;
    const partFile = this.state.partPath(toi);
    let content = partFile;
    // The data hashed while it was written: only the rest is read back.
    const prefix = info.gzip ? undefined : this.digests.get(toi);
    this.digests.delete(toi);
    try {
      // SHA-256 on the thread pool (prefix-digest.ts): the part file's rest is queued there too.
      const pooled = prefix?.pooled !== undefined ? prefix.restOffThread(fstatSync(fd).size) : undefined;
      pooled?.catch(() => undefined); // handled: a failed job surfaces where it is awaited, before the rename
      const checksum = prefix !== undefined ? prefix.checksum : info.checksumWhole ? new InternetChecksum().update(headerBytes) : undefined;
      const sha256 = prefix !== undefined ? prefix.sha256 : info.sha256 ? createHash('sha256') : undefined;
      const sha1 = prefix !== undefined ? prefix.sha1 : info.sha1 ? createHash('sha1') : undefined;
      let length = prefix?.length ?? 0;
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb): void {
          sha256?.update(chunk);
          sha1?.update(chunk);
          length += chunk.length;
          cb();
        },
      });
      if (info.gzip) {
        content = `${partFile}.dec`;
        const out = createWriteStream(content);
        const tee = new Writable({
          write(chunk: Buffer, _enc, cb): void {
            sink.write(chunk);
            out.write(chunk, cb);
          },
          final(cb): void {
            out.end(cb);
          },
        });
        const raw = createReadStream(partFile);
        raw.on('data', (c) => checksum?.update(c as Buffer));
        try {
          await pipeline(raw, createGunzip(), tee);
        } catch (e) {
          if (e instanceof FcastError) throw e;
          throw new RemoteProtocolError('FCAST_CONTENT_ENCODING', `gzip: ${(e as Error).message}`);
        }
      } else if (pooled === undefined) {
        await readAll(fd, info.dataLength, length, (chunk) => {
          checksum?.update(chunk);
          sha256?.update(chunk);
          sha1?.update(chunk);
          length += chunk.length;
        });
      }
      if (checksum !== undefined && !checksum.verify()) throw new RemoteProtocolError('FCAST_CHECKSUM', path);
      if (info.contentLength !== undefined && length !== info.contentLength) {
        throw new RemoteProtocolError('FCAST_CONTENT_LENGTH', `${path}: Content-Length ${info.contentLength}, got ${length}`);
      }
      if (sha256 !== undefined && !sha256.digest().equals(info.sha256!)) throw new RemoteProtocolError('FCAST_DIGEST', `${path}: SHA-256`);
      if (sha1 !== undefined && !sha1.digest().equals(info.sha1!)) throw new RemoteProtocolError('FCAST_DIGEST', `${path}: SHA-1`);
      if (pooled !== undefined && !Buffer.from(await pooled).equals(info.sha256!)) throw new RemoteProtocolError('FCAST_DIGEST', `${path}: SHA-256`);
      await synced;
      const target = this.prepareTarget(path);
      // setuid/setgid/sticky bits are not restored from the network.
      chmodSync(content, (info.mode ?? 0o644) & 0o777);
      if (info.mtime !== undefined) utimesSync(content, info.mtime, info.mtime);
      renameSync(content, target);
      if (content !== partFile) rmSync(partFile, { force: true });
      return target;
    } catch (e) {
      if (content !== partFile) rmSync(content, { force: true });
      throw e;
    }
  }

  /** Create the directories down to `rel`'s parent, refusing symlinks and non-directories. */
  private prepareTarget(rel: string): string {
    const segments = rel.split('/');
    let dir = this.root;
    for (const seg of segments.slice(0, -1)) {
      dir = join(dir, seg);
      if (this.dirsOk.has(dir)) continue;
      this.dirsOk.add(dir);
      let st;
      try {
        st = lstatSync(dir);
      } catch {
        mkdirSync(dir);
        continue;
      }
      if (!st.isDirectory()) throw new RemoteProtocolError('FCAST_PATH', `${rel}: ${dir} is not a directory`);
    }
    const target = join(dir, segments[segments.length - 1]!);
    if (!target.startsWith(this.root + sep)) throw new RemoteProtocolError('FCAST_PATH', rel);
    try {
      if (lstatSync(target).isDirectory()) throw new RemoteProtocolError('FCAST_PATH', `${rel} is a directory`);
    } catch (e) {
      if (e instanceof FcastError) throw e;
    }
    return target;
  }

  close(): void {
    for (const toi of [...this.parts.keys()]) this.closePart(toi);
    for (const d of this.digests.values()) d.abort();
    this.digests.clear();
  }
}

/** Read a whole file (`expected` bytes long) from offset 0 through one reused buffer, chunk by chunk. */
async function readAll(fd: number, expected: number, from: number, each: (chunk: Buffer) => void): Promise<void> {
  // A small file gets a small buffer (one byte more, so its end is seen at once).
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(VERIFY_CHUNK, expected - from + 1)));
  for (let pos = from; ; ) {
    const n = await new Promise<number>((resolve, reject) => read(fd, buf, 0, buf.length, pos, (e, got) => (e === null ? resolve(got) : reject(e))));
    if (n === 0) return;
    each(buf.subarray(0, n));
    pos += n;
  }
}
