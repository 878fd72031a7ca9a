// One recvmmsg batch of the addon (native/src/recvmmsg.cc) as runs of datagrams from one sender,
// UDP GRO buffers cut into their datagrams: what both native receive paths hand on, one call per
// run: mcast-recv.ts (each socket polled on its own timer) and mcast-stamped.ts (WEBRC's sockets,
// each datagram with the kernel's receive time).

import { dotted } from './socket-addon.js';

/** Largest datagram or GRO buffer read (bigger ones are truncated by the kernel and dropped). */
export const SLOT = 65_536;
/** Entries per recvmmsg call. */
export const BATCH = 64;
/** Words per entry in a batch's meta array: length, source IPv4 (host order), GRO segment size. */
export const META = 3;

/** Called per run: its datagrams are the first `count` of RecvRuns' arrays; false stops the batch. */
export type RunHandler = (count: number, sourceAddress: string) => boolean;

export class RecvRuns {
  // Datagram positions of one run, GRO buffers split (grown if a batch holds more).
  offsets = new Uint32Array(BATCH * 16);
  lengths = new Uint32Array(BATCH * 16);
  /** Arrival per datagram on the caller's clock (stamped batches only). */
  arrivals: Float64Array;
  /** GRO buffers seen so far (each held two or more datagrams). */
  groBuffers = 0;
  private lastIp = -1;
  private lastAddress = '';

  constructor(private readonly stamped: boolean) {
    this.arrivals = new Float64Array(stamped ? BATCH * 16 : 0);
  }

  /**
   * The first `n` entries of `meta`, as runs from one sender, each to `run`. With `ages` (the
   * addon's per-entry age of the kernel's stamp, negative for none), each datagram's arrival is
   * `now` minus its entry's age.
   */
  split(meta: Uint32Array, n: number, run: RunHandler, ages?: Float64Array, now = 0): void {
    let count = 0;
    let ip = -1;
    for (let i = 0; i < n; i++) {
      const len = meta[META * i]!;
      if (len === 0) continue;
      if (meta[META * i + 1]! !== ip && count > 0) {
        if (!run(count, this.address(ip))) return;
        count = 0;
      }
      ip = meta[META * i + 1]!;
      // A GRO buffer is segments of `seg` bytes, the last one possibly shorter (udp(7)).
      const seg = meta[META * i + 2]! || len;
      if (seg < len) this.groBuffers++;
      const parts = Math.ceil(len / seg);
      if (count + parts > this.offsets.length) this.grow(count + parts + (n - i) * 16);
      // No stamp: the read time is the best bound there is.
      const at = ages === undefined || ages[i]! < 0 ? now : now - ages[i]!;
      const end = i * SLOT + len;
      for (let off = i * SLOT; off < end; off += seg) {
        this.offsets[count] = off;
        this.lengths[count] = Math.min(seg, end - off);
        if (this.stamped) this.arrivals[count] = at;
        count++;
      }
    }
    if (count > 0) run(count, this.address(ip));
  }

  /** A sender's address as the batch reports it, dotted (the last one is kept: runs repeat it). */
  address(ip: number): string {
    if (ip !== this.lastIp) {
      this.lastIp = ip;
      this.lastAddress = dotted(ip);
    }
    return this.lastAddress;
  }

  private grow(n: number): void {
    const o = new Uint32Array(n);
    o.set(this.offsets);
    const l = new Uint32Array(n);
    l.set(this.lengths);
    this.offsets = o;
    this.lengths = l;
    if (this.stamped) {
      const a = new Float64Array(n);
      a.set(this.arrivals);
      this.arrivals = a;
    }
  }
}
