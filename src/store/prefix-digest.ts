// Verification hashes fed while an object is received (RFC 6968 §3.8 step 4: the FCAST checksum
// over header and data, the SHA-256 / SHA-1 digests of the data). src/store/output.ts used to
// read the whole part file back and hash it after the last block: 64 MB read and hashed at the
// very end, by every receiver at the same moment. Here the hashes follow the part file's
// contiguous prefix as blocks are written: a block at the prefix's end is hashed from the bytes
// just written; one written beyond it waits (its offset and length only) until the gap before
// it is filled, and is then read back from the part file, at most CATCH_UP_BYTES per write (the
// rest at the next writes). A receiver without loss gets blocks nearly in file order, so little
// is read back. A lossy one completes most blocks at once near the end of the repair pass, in
// random order (the pass serves every block at the same pace): 40-53 MB of a 64 MB object were
// still beyond the prefix when its last block decoded, read back and hashed in that one write,
// before the final fdatasync could start (netns harness at 10% loss, 45-70 ms under load). What
// is still beyond the prefix at the end (that, or blocks of an earlier run after a resume) is read
// by the verification itself, while the part file is synced (src/store/output.ts deliver).
// gzip-encoded objects are not fed (their digest is of the decoded bytes).
//
// Off the main thread: for an object of POOL_MIN_BYTES or more whose only whole-object hash is
// SHA-256 (what fcast senders send: G=0, no SHA-1), what would be read back is hashed on the
// thread pool instead (src/store/sha256-pool.ts): blocks written beyond the prefix are queued as
// ranges of the part file once the gap fills (no catch-up budget: queuing is free) and the rest
// at the end (restOffThread), read back there from the page cache. A lossy receiver's SHA-256 of
// its last 40-53 MB (20-30 ms quiet, more under load) left its receive loop. A block at the
// prefix's end, with nothing queued before it, is still hashed here from the bytes just written
// (no read-back: one copy less), so a lossless receiver, whose blocks arrive nearly in order,
// hashes as before. bench/receive-cpu.mjs could not tell the two apart (lossless 64 MB: 0.36-0.39
// CPU-s with every block read back on the pool, 0.37 hashed here, 0.34-0.37 before, load 1-7;
// bench/multicast-peers.md, "Session 6, hashing"). The other hashes keep the synchronous path.

import { createHash, type Hash } from 'node:crypto';
import { InternetChecksum } from '../wire/checksum.js';
import type { FcastObjectInfo } from '../assembly/object-info.js';
import { FileSha256, poolWorthIt } from './sha256-pool.js';

/** Bytes read back and hashed per written() call at most, so one write never stalls the receive loop for long. */
const CATCH_UP_BYTES = 4 << 20;

export class PrefixDigest {
  readonly checksum: InternetChecksum | undefined;
  readonly sha256: Hash | undefined;
  readonly sha1: Hash | undefined;
  /** SHA-256 on the thread pool (then sha256, sha1 and checksum are all undefined). */
  readonly pooled: FileSha256 | undefined;
  /** Data bytes hashed (or, pooled, queued) so far: the part file's [0, length) is in the hashes. */
  length = 0;
  /** Blocks written beyond the prefix: offset -> length. */
  private readonly waiting = new Map<number, number>();

  /** `partPath`: the part file the blocks are written to (the pooled hash reads it back). `offThread` false: never pooled. */
  constructor(info: FcastObjectInfo, headerBytes: Uint8Array, partPath: string, offThread = poolWorthIt(info.dataLength)) {
    const pooled = offThread && info.sha256 !== undefined && !info.checksumWhole && info.sha1 === undefined;
    this.pooled = pooled ? new FileSha256(partPath) : undefined;
    this.checksum = info.checksumWhole ? new InternetChecksum().update(headerBytes) : undefined;
    this.sha256 = info.sha256 && !pooled ? createHash('sha256') : undefined;
    this.sha1 = info.sha1 ? createHash('sha1') : undefined;
  }

  /**
   * `bytes` were written to the part file at `offset`. `readBack(offset, length)` returns bytes
   * of the part file (a view valid until the next call).
   */
  written(offset: number, bytes: Uint8Array, readBack: (offset: number, length: number) => Uint8Array): void {
    if (offset === this.length) this.feed(bytes);
    // Beyond the prefix: hashed once the gap fills. Before it (a rewrite): already hashed.
    else if (offset > this.length && bytes.length > 0) this.waiting.set(offset, bytes.length);
    let budget = this.pooled === undefined ? CATCH_UP_BYTES : Infinity;
    for (let next = this.waiting.get(this.length); next !== undefined && budget > 0; next = this.waiting.get(this.length)) {
      const at = this.length;
      this.waiting.delete(at);
      if (this.pooled !== undefined) this.queue(next);
      else this.feed(readBack(at, next));
      budget -= next;
    }
  }

  /**
   * Pooled: queue the part file's rest, [length, size) (blocks still beyond the prefix, or of an
   * earlier run), and give the SHA-256 of it all. HASH_JOB if a job failed.
   */
  restOffThread(size: number): Promise<Uint8Array> {
    this.queue(size - this.length);
    return this.pooled!.digest();
  }

  /** Pooled: drop what is queued and close the hash's descriptor (the object was discarded). */
  abort(): void {
    this.pooled?.abort();
  }

  private queue(length: number): void {
    this.pooled!.range(this.length, length);
    this.length += length;
  }

  private feed(chunk: Uint8Array): void {
    if (this.pooled !== undefined) {
      this.pooled.bytes(this.length, chunk);
      this.length += chunk.length;
      return;
    }
    this.checksum?.update(chunk);
    this.sha256?.update(chunk);
    this.sha1?.update(chunk);
    this.length += chunk.length;
  }
}
