// Decoder arenas for the receiver core (RFC 5052 §9.1 blocks of n·E bytes), reused instead of
// allocated once per block.
//
// Why: at the defaults a block's arena is 1500 × 1400 B = 2.1 MB, and a 4 GB object has ~2900
// blocks. Allocated per block, glibc serves these multi-megabyte buffers from its heap once its
// dynamic mmap threshold has risen (it rises to the size of the largest mmapped chunk freed) and
// keeps the freed space: a receiver of a 200 MB object, starved of CPU, measured 261-404 MB
// RSS, against 168-179 MB with the threshold pinned (MALLOC_MMAP_THRESHOLD_). Reusing a few
// buffers takes the allocator out of the loop.
//
// Sizes are rounded up to a 64 KiB class so that the two block lengths of one partition (and
// objects with the same E and B) share buffers. Arenas under 64 KiB are not pooled: small
// allocations do not fragment like this and tiny objects would only hold memory.

const CLASS = 64 * 1024;
/** Buffers beyond maxBytes still kept: those a receiver has in hand besides its budget (a cold decode, a block being written, the header block). */
const SLACK = 4;

export interface ArenaPoolStats {
  /** Buffers ever allocated by the pool (reuse keeps this near the number in use at once). */
  readonly allocated: number;
  /** Bytes of pooled buffers handed out and not yet released. */
  readonly liveBytes: number;
  /** Bytes of released buffers kept for reuse. */
  readonly idleBytes: number;
  /** Largest liveBytes + idleBytes seen. */
  readonly peakBytes: number;
}

export class ArenaPool {
  private readonly idle = new Map<number, Uint8Array[]>();
  private idleBytes = 0;
  private liveBytes = 0;
  private peakBytes = 0;
  private allocated = 0;

  /** `maxBytes`: live + idle bytes above which (plus SLACK buffers) released buffers are dropped, not kept. */
  constructor(private readonly maxBytes: number) {}

  /**
   * A buffer of at least `bytes` bytes, holding whatever its last user left (DecoderOptions.arena:
   * a decoder that needs zeros clears them itself; the native one writes every byte it reads, so
   * clearing 2 MB per block here was pure cost). Give it back with `release` once nothing refers
   * to it any more; a buffer never released is simply collected.
   */
  acquire(bytes: number): Uint8Array {
    if (bytes < CLASS) return new Uint8Array(bytes);
    const size = Math.ceil(bytes / CLASS) * CLASS;
    const free = this.idle.get(size);
    const reused = free?.pop();
    let arena: Uint8Array;
    if (reused !== undefined) {
      this.idleBytes -= size;
      arena = reused;
    } else {
      this.makeRoom(size);
      arena = new Uint8Array(size);
      this.allocated++;
    }
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes + this.idleBytes);
    return arena;
  }

  /** The buffer is no longer referenced: keep it for reuse within maxBytes. */
  release(arena: Uint8Array): void {
    const size = arena.length;
    if (size < CLASS || size % CLASS !== 0) return;
    this.liveBytes -= size;
    if (this.liveBytes + this.idleBytes + size > this.maxBytes + SLACK * size) return;
    const free = this.idle.get(size);
    if (free === undefined) this.idle.set(size, [arena]);
    else free.push(arena);
    this.idleBytes += size;
  }

  stats(): ArenaPoolStats {
    return { allocated: this.allocated, liveBytes: this.liveBytes, idleBytes: this.idleBytes, peakBytes: this.peakBytes };
  }

  /** Drop idle buffers of other sizes when a new one would pass maxBytes. */
  private makeRoom(size: number): void {
    for (const [s, list] of this.idle) {
      while (list.length > 0 && this.liveBytes + this.idleBytes + size > this.maxBytes + SLACK * size) {
        list.pop();
        this.idleBytes -= s;
      }
      if (list.length === 0) this.idle.delete(s);
    }
  }
}
