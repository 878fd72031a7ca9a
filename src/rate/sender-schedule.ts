// WEBRC sender schedule (RFC 3738 §3.1.2, §5.1; SPEC-NOTES §6.1, §6.2): which channel sends a
// packet when, and the CCI (CTSI, CN, PSN) it carries. The carousel fills each packet slot with its
// next encoding symbol; this module knows nothing of payloads.
//
// Time: slot s (s = 0, 1, ... from `startMs`) spans [s·TSD, (s+1)·TSD) and has CTSI (startCtsi + s)
// mod T. Wave channel c ends its waves at the ends of the slots whose CTSI is c, so it is active in
// CTSI c−N+1 ... c and quiescent in c+1 ... c+Q (mod T). At start-up the schedule behaves as if it
// had always been running: the waves already under way at `startMs` are sent from their middle,
// with the PSNs they would have had.
//
// PSN rules: a wave's PSNs are consecutive and its last packet has PSN 2^16 − 1 (the first depends
// on how many packets the wave holds; waves larger than 2^16 packets wrap modulo 2^16, which
// §5.1 allows: "numbered consecutively modulo 2^16 within each cycle"). The base channel sends
// exactly L packets per slot, the first of each slot with PSN ≡ 0 (mod L), wrapping at the largest
// multiple of L <= 2^16.
//
// Push-in/poll-out: `next(now)` hands out the packets whose time has come, in time order across
// all channels; `nextTimeout()` says when the next one is due. No clock or timer is read here.

import { encodeCci, CCI_LENGTH } from './cci.js';
import type { WebrcParams } from './params.js';
import { WaveProfile, baseRateAt, baseTimeOf } from './waves.js';

/** One packet slot: send the next encoding symbol to channel `cn` at `at` with this CCI. */
export interface ScheduledPacket {
  readonly cn: number;
  readonly ctsi: number;
  readonly psn: number;
  /** Due time, ms (same clock as `now`). */
  readonly at: number;
  /** The 4-byte short-format CCI for the LCT header. */
  readonly cci: Uint8Array;
}

export interface WaveRate {
  readonly cn: number;
  /** 1 = the wave that ends in this slot ... N = the newest. */
  readonly layer: number;
  readonly rate: number;
}

/** Instantaneous rates (packets/s) at one moment. */
export interface ScheduleRates {
  readonly ctsi: number;
  readonly base: number;
  readonly waves: readonly WaveRate[];
  readonly aggregate: number;
}

interface BaseCursor {
  readonly kind: 'base';
  slot: number;
  k: number;
  psnSlotStart: number;
  time: number;
}

interface WaveCursor {
  readonly kind: 'wave';
  readonly cn: number;
  /** Absolute slot at whose end the current wave ends. */
  endSlot: number;
  j: number;
  time: number;
}

type Cursor = BaseCursor | WaveCursor;

export class SenderSchedule {
  readonly profile: WaveProfile;
  /** Binary min-heap on `time`: the root is the channel whose packet is due next. */
  private readonly cursors: Cursor[] = [];

  /**
   * @param startMs  time (ms) at which slot 0 begins.
   * @param startCtsi CTSI of slot 0 (0..T−1).
   */
  constructor(
    readonly params: WebrcParams,
    private readonly startMs: number,
    private readonly startCtsi = 0,
  ) {
    this.profile = new WaveProfile(params);
    const { t, n, tsd } = params;
    const base: BaseCursor = { kind: 'base', slot: 0, k: 0, psnSlotStart: 0, time: 0 };
    this.cursors.push(base);
    for (let cn = 0; cn < t; cn++) {
      let endSlot = (((cn - startCtsi) % t) + t) % t;
      const startSlot = endSlot - n + 1;
      let j = startSlot < 0 ? this.profile.countBefore(-startSlot * tsd) : 0;
      if (j === this.profile.count) {
        // The wave under way sent its last packet before startMs: begin with the next one.
        endSlot += t;
        j = 0;
      }
      const cursor: WaveCursor = { kind: 'wave', cn, endSlot, j, time: 0 };
      this.timeWave(cursor);
      this.cursors.push(cursor);
    }
    for (let i = (this.cursors.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Due time (ms) of the next packet; call `next` at or after it. */
  nextTimeout(): number {
    return this.startMs + this.cursors[0].time * 1000;
  }

  /** The next packet if it is due at `now` (ms), else undefined. Call in a loop until undefined. */
  next(now: number): ScheduledPacket | undefined {
    const c = this.cursors[0];
    const at = this.startMs + c.time * 1000;
    if (at > now) return undefined;
    const { t, tsd, n } = this.params;
    let cn: number;
    let slot: number;
    let psn: number;
    if (c.kind === 'base') {
      cn = this.params.baseCn;
      slot = c.slot;
      psn = c.psnSlotStart + c.k;
      this.advanceBase(c);
    } else {
      cn = c.cn;
      // Label by send time (a hair of tolerance at slot starts), clamped into the wave's active slots.
      slot = Math.min(c.endSlot, Math.max(c.endSlot - n + 1, Math.floor(c.time / tsd + 1e-9)));
      psn = this.profile.psnOf(c.j);
      this.advanceWave(c);
    }
    this.siftDown(0);
    const ctsi = (this.startCtsi + slot) % t;
    const cci = new Uint8Array(CCI_LENGTH);
    encodeCci({ ctsi, cn, psn }, cci);
    return { cn, ctsi, psn, at, cci };
  }

  /** Nominal per-channel rates at `now` (the profile the packet times follow). */
  rates(now: number): ScheduleRates {
    const { tsd, n, t } = this.params;
    const sec = (now - this.startMs) / 1000;
    const slot = Math.floor(sec / tsd);
    const ctsi = (((this.startCtsi + slot) % t) + t) % t;
    const base = baseRateAt(this.params, sec - slot * tsd);
    const waves: WaveRate[] = [];
    let aggregate = base;
    for (let layer = 1; layer <= n; layer++) {
      // The layer-th wave ends at the end of slot + layer − 1, so it began N slots before that.
      const u = sec - (slot + layer - n) * tsd;
      const rate = this.profile.rateAt(u);
      waves.push({ cn: (ctsi + layer - 1) % t, layer, rate });
      aggregate += rate;
    }
    return { ctsi, base, waves, aggregate };
  }

  /** Restore the heap below index i after its cursor moved later; ties go to the lower CN order. */
  private siftDown(i: number): void {
    const heap = this.cursors;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) return;
      const right = left + 1;
      const child = right < heap.length && before(heap[right], heap[left]) ? right : left;
      if (!before(heap[child], heap[i])) return;
      [heap[i], heap[child]] = [heap[child], heap[i]];
      i = child;
    }
  }

  private advanceBase(c: BaseCursor): void {
    const { l, tsd, basePsnModulus } = this.params;
    c.k++;
    if (c.k === l) {
      c.k = 0;
      c.slot++;
      c.psnSlotStart = (c.psnSlotStart + l) % basePsnModulus;
    }
    c.time = c.slot * tsd + baseTimeOf(this.params, c.k);
  }

  private advanceWave(c: WaveCursor): void {
    c.j++;
    if (c.j === this.profile.count) {
      c.j = 0;
      c.endSlot += this.params.t;
    }
    this.timeWave(c);
  }

  private timeWave(c: WaveCursor): void {
    const { n, tsd } = this.params;
    c.time = (c.endSlot - n + 1) * tsd + this.profile.timeOf(c.j);
  }
}

/** Heap order: earlier time first; at equal times the base channel, then lower CN (deterministic). */
function before(a: Cursor, b: Cursor): boolean {
  if (a.time !== b.time) return a.time < b.time;
  return rank(a) < rank(b);
}

function rank(c: Cursor): number {
  return c.kind === 'base' ? -1 : c.cn;
}
