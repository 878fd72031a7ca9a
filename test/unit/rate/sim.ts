// A virtual-time network for WEBRC: one SenderSchedule, receivers each behind their own bottleneck.
// Per receiver: multicast joins/leaves take effect after a fixed latency (the graft/prune reaching the
// branch point); the bottleneck is a FIFO served at `rate(t)` packets/s (a token bucket with a
// queue) holding at most `queuePackets`, dropping at the tail; delivery adds `propagationMs`.
// Deterministic: no randomness, no clock, every event in time order.

import type { WebrcParams } from '../../../src/rate/params.js';
import { WebrcReceiver, type ReceiverOptions } from '../../../src/rate/receiver.js';
import { SenderSchedule } from '../../../src/rate/sender-schedule.js';

export interface SimReceiverSpec {
  readonly name: string;
  /** Bottleneck rate in packets/s at time t (ms). */
  readonly rate: (t: number) => number;
  readonly queuePackets: number;
  readonly joinDelayMs: number;
  /** Extra delay of the k-th join (0-based), ms: noise on the join path (another flow's queue, timers). */
  readonly joinJitterMs?: (k: number) => number;
  readonly leaveDelayMs: number;
  readonly propagationMs: number;
  readonly options?: ReceiverOptions;
  /** When the receiver starts (ms); default 0. */
  readonly startMs?: number;
  /**
   * The shell's timer: handleTimeout runs 0 to this many ms after a timeout is due (pseudo-random,
   * from the due time), as src/net/webrc-groups.ts's 10 ms interval on a busy event loop does,
   * while packets keep arriving in between.
   */
  readonly lateMs?: number;
  /**
   * A busy event loop: in every 100 ms the receiver is busy (decoding, writing) for 0 to this many
   * ms from the start of the window (pseudo-random); packets and timers that fall in a busy spell
   * are handled together at its end.
   */
  readonly stallMs?: number;
  /**
   * Single busy spells: from `at` for `ms` (ms) the receiver handles nothing; what fell in it is
   * handled after it, read `readFaster` times as fast as it arrived (default: all at its end).
   */
  readonly stalls?: readonly { readonly at: number; readonly ms: number; readonly readFaster?: number }[];
  /**
   * Spells in which the path slows down, in order (a sender that fell behind, then caught up): what
   * would arrive from `at` for `ms` ms arrives `stretch` times slower, and what comes after it waits
   * for it (then arrives in a burst); the receiver keeps running meanwhile.
   */
  readonly holds?: readonly { readonly at: number; readonly ms: number; readonly stretch: number }[];
  /** Reordering: every `every`-th packet past the bottleneck is held back `delayMs`. */
  readonly reorder?: { readonly every: number; readonly delayMs: number };
}

/**
 * A sender that falls behind its schedule (a busy CPU): from `at` for `ms` (ms) it sends at `factor`
 * of the scheduled rate, then catches up at 1.5x (src/net/webrc-pacer.ts) until it is on time.
 * Every packet is sent, none lost, only late; every receiver sees the same dips.
 */
export interface SenderDip {
  readonly at: number;
  readonly ms: number;
  readonly factor: number;
}

/** One sample per `sampleMs` of what a receiver is subscribed to and got. */
export interface Sample {
  readonly t: number;
  /** Nominal rate (packets/s) of the channels the network forwards to this receiver. */
  readonly subscribed: number;
  readonly nwc: number;
  readonly targetRate: number;
  /** Packets delivered since the previous sample, per second. */
  readonly delivered: number;
  /** Packets that reached the bottleneck / were dropped there since the previous sample, per second. */
  readonly offered: number;
  readonly dropped: number;
  readonly slowStart: boolean;
}

export interface SimReceiverResult {
  readonly spec: SimReceiverSpec;
  /** Set when the receiver starts. */
  receiver: WebrcReceiver | undefined;
  readonly samples: Sample[];
  offered: number;
  dropped: number;
  delivered: number;
  left: string | undefined;
}

interface Delivery {
  readonly at: number;
  readonly cn: number;
  readonly ctsi: number;
  readonly psn: number;
}

interface SimReceiver {
  readonly result: SimReceiverResult;
  receiver: WebrcReceiver | undefined;
  /** Channels the network forwards now. */
  readonly member: Set<number>;
  /** Membership changes on their way: [effective time, cn, join?]. */
  readonly pending: Array<[number, number, boolean]>;
  readonly deliveries: Delivery[];
  head: number;
  /** Joins made so far (the k of joinJitterMs). */
  joins: number;
  lastDeparture: number;
  /** Latest arrival given to a packet so far when `holds` are on (later ones never overtake it). */
  heldUntil: number;
  deliveredSinceSample: number;
  offeredSinceSample: number;
  droppedSinceSample: number;
}

export class WebrcSim {
  readonly schedule: SenderSchedule;
  private readonly receivers: SimReceiver[];
  private now = 0;

  constructor(
    readonly params: WebrcParams,
    specs: readonly SimReceiverSpec[],
    private readonly sampleMs = 500,
    private readonly senderDips: readonly SenderDip[] = [],
  ) {
    this.schedule = new SenderSchedule(params, 0, 0);
    this.receivers = specs.map((spec) => ({
      result: { spec, receiver: undefined, samples: [], offered: 0, dropped: 0, delivered: 0, left: undefined },
      receiver: undefined,
      member: new Set<number>(),
      pending: [],
      deliveries: [],
      head: 0,
      joins: 0,
      lastDeparture: -Infinity,
      heldUntil: -Infinity,
      deliveredSinceSample: 0,
      offeredSinceSample: 0,
      droppedSinceSample: 0,
    }));
  }

  /** Advance virtual time to `until` (ms); bounded by `maxEvents`. */
  run(until: number, maxEvents = 20_000_000): SimReceiverResult[] {
    let events = 0;
    let nextSample = this.now + this.sampleMs;
    while (events++ < maxEvents) {
      const t = this.nextEventTime(nextSample);
      if (t > until) break;
      this.now = t;
      if (t >= nextSample) {
        this.sample(t);
        nextSample += this.sampleMs;
      }
      this.step(t);
    }
    if (events >= maxEvents) throw new Error(`simulation did not reach ${until} ms within ${maxEvents} events`);
    this.now = until;
    return this.receivers.map((r) => r.result);
  }

  private nextEventTime(nextSample: number): number {
    let t = Math.min(nextSample, this.schedule.nextTimeout());
    for (const r of this.receivers) {
      const start = r.result.spec.startMs ?? 0;
      if (r.receiver === undefined) {
        if (r.result.left === undefined) t = Math.min(t, start);
        continue;
      }
      if (r.head < r.deliveries.length) t = Math.min(t, afterStall(r.deliveries[r.head].at, r.result.spec));
      for (const [at] of r.pending) t = Math.min(t, at);
      const timeout = r.receiver.nextTimeout();
      if (timeout !== undefined) t = Math.min(t, afterStall(timeout + lateness(timeout, r.result.spec.lateMs), r.result.spec));
    }
    return Math.max(t, this.now);
  }

  private step(now: number): void {
    for (const r of this.receivers) {
      if (r.receiver === undefined && r.result.left === undefined && now >= (r.result.spec.startMs ?? 0)) {
        r.receiver = new WebrcReceiver(this.params, now, r.result.spec.options);
        r.result.receiver = r.receiver;
        this.drainActions(r, now);
      }
      this.applyMembership(r, now);
    }
    for (let p = this.schedule.next(now); p !== undefined; p = this.schedule.next(now)) {
      for (const r of this.receivers) if (r.member.has(p.cn)) this.offer(r, now, p);
    }
    for (const r of this.receivers) {
      const rx = r.receiver;
      if (rx === undefined) continue;
      while (r.head < r.deliveries.length && afterStall(r.deliveries[r.head].at, r.result.spec) <= now) {
        const d = r.deliveries[r.head++];
        r.result.delivered++;
        r.deliveredSinceSample++;
        rx.onPacket(now, d);
      }
      if (r.head > 4096) {
        r.deliveries.splice(0, r.head);
        r.head = 0;
      }
      const timeout = rx.nextTimeout();
      if (timeout !== undefined && afterStall(timeout + lateness(timeout, r.result.spec.lateMs), r.result.spec) <= now) rx.handleTimeout(now);
      this.drainActions(r, now);
    }
  }

  private offer(r: SimReceiver, scheduled: number, p: { cn: number; ctsi: number; psn: number }): void {
    const { spec } = r.result;
    const now = sentAt(scheduled, this.senderDips);
    r.result.offered++;
    r.offeredSinceSample++;
    const rate = spec.rate(now);
    const service = 1000 / rate;
    const departure = Math.max(now, r.lastDeparture) + service;
    // Packets ahead of this one (including the one in service) must fit in the queue.
    if ((departure - now) / service > spec.queuePackets + 1) {
      r.result.dropped++;
      r.droppedSinceSample++;
      return;
    }
    r.lastDeparture = departure;
    const held = spec.reorder !== undefined && r.result.offered % spec.reorder.every === 0;
    let at = departure + spec.propagationMs + (held ? spec.reorder!.delayMs : 0);
    for (const h of spec.holds ?? []) if (at >= h.at && at < h.at + h.ms) at = h.at + (at - h.at) * h.stretch;
    at = Math.max(at, r.heldUntil);
    if (spec.holds !== undefined) r.heldUntil = at;
    const d = { at, cn: p.cn, ctsi: p.ctsi, psn: p.psn };
    // Keep deliveries sorted by time: a held packet slips behind the ones that overtake it.
    let i = r.deliveries.length;
    while (i > r.head && r.deliveries[i - 1].at > d.at) i--;
    r.deliveries.splice(i, 0, d);
  }

  private applyMembership(r: SimReceiver, now: number): void {
    for (let i = 0; i < r.pending.length; ) {
      const [at, cn, join] = r.pending[i];
      if (at <= now) {
        if (join) r.member.add(cn);
        else r.member.delete(cn);
        r.pending.splice(i, 1);
      } else i++;
    }
  }

  private drainActions(r: SimReceiver, now: number): void {
    const rx = r.receiver;
    if (rx === undefined) return;
    const { spec } = r.result;
    for (let a = rx.poll(); a !== undefined; a = rx.poll()) {
      switch (a.kind) {
        case 'join':
          r.pending.push([now + spec.joinDelayMs + (spec.joinJitterMs?.(r.joins++) ?? 0), a.cn, true]);
          break;
        case 'leave':
          r.pending.push([now + spec.leaveDelayMs, a.cn, false]);
          break;
        case 'leave-session':
          r.result.left = a.reason;
          for (const cn of r.member) r.pending.push([now + spec.leaveDelayMs, cn, false]);
          r.receiver = undefined;
          return;
      }
    }
  }

  private sample(t: number): void {
    const rates = this.schedule.rates(t);
    for (const r of this.receivers) {
      let subscribed = r.member.has(this.params.baseCn) ? rates.base : 0;
      for (const w of rates.waves) if (r.member.has(w.cn)) subscribed += w.rate;
      const status = r.result.receiver?.status();
      r.result.samples.push({
        t,
        subscribed,
        nwc: status?.nwc ?? 0,
        targetRate: status?.targetRate ?? 0,
        delivered: (r.deliveredSinceSample * 1000) / this.sampleMs,
        offered: (r.offeredSinceSample * 1000) / this.sampleMs,
        dropped: (r.droppedSinceSample * 1000) / this.sampleMs,
        slowStart: status?.slowStart ?? true,
      });
      r.deliveredSinceSample = r.offeredSinceSample = r.droppedSinceSample = 0;
    }
  }
}

/** When a packet scheduled at `t` (ms) leaves a sender with `dips` (see SenderDip). */
function sentAt(t: number, dips: readonly SenderDip[]): number {
  for (const { at, ms, factor } of dips) {
    const behindAtEnd = at + factor * ms;
    const onTimeAt = at + (3 - 2 * factor) * ms;
    if (t < at || t >= onTimeAt) continue;
    return t <= behindAtEnd ? at + (t - at) / factor : at + ms + (t - behindAtEnd) / 1.5;
  }
  return t;
}

/** How late the timer runs for a timeout due at `due`: 0..lateMs, a fixed hash of `due`. */
function lateness(due: number, lateMs: number | undefined): number {
  if (lateMs === undefined) return 0;
  return ((Math.imul(Math.floor(due * 1000) | 0, 0x9e3779b1) >>> 0) / 0x1_0000_0000) * lateMs;
}

/**
 * When a receiver gets to an event at `t`: after its busy spell if `t` falls in one (busy for up to
 * `stallMs` at the start of every 100 ms, and each of `stalls`).
 */
function afterStall(t: number, spec: SimReceiverSpec): number {
  for (const s of spec.stalls ?? []) {
    const end = s.at + s.ms;
    // The backlog: what arrived during the spell, and after it until the reading caught up.
    const caughtUp = s.readFaster === undefined ? end : end + s.ms / (s.readFaster - 1);
    if (t >= s.at && t < caughtUp) t = s.readFaster === undefined ? end : end + (t - s.at) / s.readFaster;
  }
  if (spec.stallMs === undefined) return t;
  const w = Math.floor(t / 100);
  const end = w * 100 + ((Math.imul(w + 1, 0x9e3779b1) >>> 0) / 0x1_0000_0000) * spec.stallMs;
  return t < end ? end : t;
}

/** Mean of a sample field over [from, to) ms. */
export function mean(
  samples: readonly Sample[],
  field: 'subscribed' | 'delivered' | 'offered' | 'dropped' | 'nwc' | 'targetRate',
  from: number,
  to: number,
): number {
  const xs = samples.filter((s) => s.t >= from && s.t < to).map((s) => s[field]);
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Share of the packets reaching the bottleneck in [from, to) that it dropped. */
export function lossShare(samples: readonly Sample[], from: number, to: number): number {
  return mean(samples, 'dropped', from, to) / Math.max(1e-9, mean(samples, 'offered', from, to));
}

/**
 * How long after `from` (ms) the subscribed rate, averaged per window of `windowMs`, enters the
 * band [lo, hi] and stays there until `to`; undefined if it never does.
 */
export function settleTime(samples: readonly Sample[], from: number, to: number, lo: number, hi: number, windowMs: number): number | undefined {
  let settled: number | undefined;
  for (let start = from; start + windowMs <= to; start += windowMs) {
    const m = mean(samples, 'subscribed', start, start + windowMs);
    if (m < lo || m > hi) settled = undefined;
    else settled ??= start - from;
  }
  return settled;
}
