// WEBRC in a simulated network (virtual time, sim.ts): receivers behind bottlenecks converge to a
// layer set the bottleneck carries, leave layers when it shrinks, and settle apart when their
// bottlenecks differ (RFC 3738 §3.2; issue 5 "Core, virtual clock").
//
// Short slots for speed: TSD = 2 s, QD = 20 s (Q = 10), BCR_P = 5 pkt/s, so L = 9 base packets per
// slot as with the RFC defaults, EL = TSD/20 = 0.1 s. RFC 3738 only RECOMMENDS TSD = 10 s and
// QD = 300 s; any TSD/QD is allowed when the session description carries them. One run uses the
// RFC defaults (TSD 10 s, QD 300 s, BCR_P 1) in virtual time.
// Bottleneck: FIFO served at the link rate, 20 packets of queue, drop-tail; join/leave latency 20 ms;
// propagation 10 ms.
import { describe, expect, it } from 'vitest';
import { resolveWebrcParams } from '../../../src/rate/params.js';
import type { TraceEvent } from '../../../src/rate/receiver.js';
import { WebrcSim, lossShare, mean, settleTime, type SimReceiverSpec } from './sim.js';

const short = resolveWebrcParams({ srBps: 1000 * 8 * 1000, packetLength: 1000, tsd: 2, qd: 20, bcr: 5 });
const rfc = resolveWebrcParams({ srBps: 300 * 8 * 1000, packetLength: 1000 });

function link(name: string, rate: (t: number) => number): SimReceiverSpec {
  return { name, rate, queuePackets: 20, joinDelayMs: 20, leaveDelayMs: 20, propagationMs: 10 };
}

describe('WEBRC convergence (short TSD/QD)', () => {
  it('one receiver settles within its bottleneck and leaves layers when it halves', () => {
    const slotMs = short.tsd * 1000;
    const sim = new WebrcSim(short, [link('a', (t) => (t < 60_000 ? 150 : 75))]);
    const [a] = sim.run(120_000);
    expect(a.left).toBeUndefined();
    for (const [from, to, bn] of [[0, 60_000, 150], [60_000, 120_000, 75]] as const) {
      const sub = mean(a.samples, 'subscribed', to - 20_000, to);
      expect(sub, `phase ${bn}`).toBeLessThanOrEqual(bn * 1.05);
      expect(sub, `phase ${bn}`).toBeGreaterThanOrEqual(bn * 0.7);
      expect(lossShare(a.samples, to - 20_000, to)).toBeLessThan(0.02);
      // Per-slot means enter [0.7, 1.1]·bottleneck and stay there within 10 slots (200 epochs).
      const settle = settleTime(a.samples, from, to, bn * 0.7, bn * 1.1, slotMs);
      expect(settle, `phase ${bn}`).toBeDefined();
      expect(settle!).toBeLessThanOrEqual(10 * slotMs);
    }
    // It left layers: fewer joined waves at the end than before the bottleneck shrank.
    expect(mean(a.samples, 'nwc', 100_000, 120_000)).toBeLessThan(mean(a.samples, 'nwc', 40_000, 60_000) - 1);
  });

  it('two receivers with different bottlenecks settle at different layer counts', () => {
    const sim = new WebrcSim(short, [link('slow', () => 60), link('fast', () => 300)]);
    const results = sim.run(80_000);
    const [slow, fast] = results;
    for (const [r, bn] of [[slow, 60], [fast, 300]] as const) {
      const sub = mean(r.samples, 'subscribed', 50_000, 80_000);
      expect(sub, r.spec.name).toBeLessThanOrEqual(bn * 1.05);
      expect(sub, r.spec.name).toBeGreaterThanOrEqual(bn * 0.7);
      expect(lossShare(r.samples, 50_000, 80_000), r.spec.name).toBeLessThan(0.04);
    }
    expect(mean(fast.samples, 'nwc', 50_000, 80_000)).toBeGreaterThan(mean(slow.samples, 'nwc', 50_000, 80_000) + 3);
  });
});

describe('WEBRC with a late shell timer (receiver.ts "Epoch boundaries")', () => {
  // The netns test's session (80 Mbit/s, TSD 1 s, QD 10 s, BCR 5, P 0.9: EL = 50 ms) behind a
  // 10 Mbit/s link whose tbf queue holds 50 ms (43 packets); the shell's timer runs 0-10 ms late.
  // Counting the packets that arrive meanwhile into the closing epoch made RR_P swing ±20%, the
  // RR_P check let 3-5 joins through in a row, and the loss was 3.4%.
  it('keeps the loss under 1% on a 10 Mbit/s link', () => {
    const params = resolveWebrcParams({ srBps: 80e6, packetLength: 1450, tsd: 1, qd: 10, bcr: 5, p: 0.9 });
    const pps = 10e6 / 8 / 1450;
    for (const lateMs of [10, 20]) {
      const spec: SimReceiverSpec = { name: `late ${lateMs}`, rate: () => pps, queuePackets: 43, joinDelayMs: 5, leaveDelayMs: 5, propagationMs: 0.5, lateMs, joinJitterMs: (k) => (k * 7919) % 10 };
      const [r] = new WebrcSim(params, [spec]).run(60_000);
      const loss = lossShare(r.samples, 20_000, 60_000);
      const sub = mean(r.samples, 'subscribed', 20_000, 60_000);
      process.stderr.write(`timer up to ${lateMs} ms late: ${(sub / pps).toFixed(3)} of the link, loss ${(100 * loss).toFixed(2)}%\n`);
      expect(loss).toBeLessThan(0.01);
      expect(sub).toBeGreaterThan(0.8 * pps);
    }
  });

  // What is left [measured, not fixed]: a receiver busy for up to 10-25 ms in every 100 ms
  // (decoding, writing) handles the packets of a busy spell together at its end, so RR_P per 50 ms
  // epoch still swings and a few joins get through in a row: 1.7-2.6% loss here (2.3-2.9% in
  // netns). Kernel receive timestamps for the controller would take it away.
  it('with a busy event loop the loss stays under 3%', () => {
    const params = resolveWebrcParams({ srBps: 80e6, packetLength: 1450, tsd: 1, qd: 10, bcr: 5, p: 0.9 });
    const pps = 10e6 / 8 / 1450;
    for (const stallMs of [10, 25]) {
      const spec: SimReceiverSpec = { name: `stall ${stallMs}`, rate: () => pps, queuePackets: 43, joinDelayMs: 5, leaveDelayMs: 5, propagationMs: 0.5, lateMs: 10, stallMs, joinJitterMs: (k) => (k * 7919) % 10 };
      const [r] = new WebrcSim(params, [spec]).run(60_000);
      const loss = lossShare(r.samples, 20_000, 60_000);
      process.stderr.write(`busy up to ${stallMs} ms per 100 ms: ${(mean(r.samples, 'subscribed', 20_000, 60_000) / pps).toFixed(3)} of the link, loss ${(100 * loss).toFixed(2)}%\n`);
      expect(loss).toBeLessThan(0.03);
    }
  });
});

describe('WEBRC with reordering (§3.2.3.4: simple misordering is not loss)', () => {
  it('counts no loss when every 20th packet is overtaken, and still fills the bottleneck', () => {
    const spec = { ...link('jitter', () => 150), reorder: { every: 20, delayMs: 15 } };
    const [r] = new WebrcSim(short, [spec]).run(40_000);
    expect(r.dropped).toBeGreaterThan(0); // the bottleneck did push back
    expect(r.receiver!.stats.lost).toBeLessThanOrEqual(r.dropped);
    const sub = mean(r.samples, 'subscribed', 20_000, 40_000);
    expect(sub).toBeGreaterThanOrEqual(150 * 0.7);
    expect(sub).toBeLessThanOrEqual(150 * 1.05);
  });

  it('counts no loss at all on a path that only reorders', () => {
    const spec = { ...link('jitter', () => 2000), queuePackets: 1000, reorder: { every: 7, delayMs: 4 } };
    const [r] = new WebrcSim(short, [spec]).run(20_000);
    expect(r.dropped).toBe(0);
    expect(r.receiver!.stats.received).toBeGreaterThan(5000);
    expect(r.receiver!.stats.lost).toBe(0);
  });
});

describe('WEBRC convergence (RFC defaults: TSD 10 s, QD 300 s, BCR_P 1, P 0.75)', () => {
  it('one receiver behind 100 pkt/s settles within it', () => {
    const sim = new WebrcSim(rfc, [link('a', () => 100)]);
    const [a] = sim.run(300_000);
    const sub = mean(a.samples, 'subscribed', 200_000, 300_000);
    expect(sub).toBeLessThanOrEqual(105);
    expect(sub).toBeGreaterThanOrEqual(70);
    // The equation tolerates a few percent at this ARTT (~45 ms): REQN(0.045 s, 4%) ≈ 99 pkt/s.
    expect(lossShare(a.samples, 200_000, 300_000)).toBeLessThan(0.04);
    // Per-slot means enter [70, 110] and stay there within 10 slots (200 epochs).
    const settle = settleTime(a.samples, 0, 300_000, 70, 110, rfc.tsd * 1000);
    expect(settle).toBeDefined();
    expect(settle!).toBeLessThanOrEqual(100_000);
  });
});

// Start-up rule (b) (§3.2.2.6) against noisy join latencies: the RECOMMENDED "large rise" is about
// one packet gap of the joined layer, so delay noise the path adds on top (another flow's queue,
// host timers: 0-40 ms here, as bench/webrc-fairness.ts traces showed next to a TCP flow) crossed
// it and ended start-up far below the bottleneck. Ours is the larger of it and 4·MDEV.
describe('WEBRC start-up with noisy join latency (§3.2.2.6 rule (b))', () => {
  // The netns/bench session: P 0.9, BCR_P 5, TSD 1 s, QD 10 s, 40 Mbit/s of 1450-byte packets.
  const bench = resolveWebrcParams({ srBps: 40e6, packetLength: 1450, p: 0.9, bcr: 5, tsd: 1, qd: 10 });
  /** Deterministic noise in [0, 50] ms, successive values far apart. */
  const noise = (k: number): number => (k * 23) % 51;

  it('is not ended by latency noise far below the bottleneck', () => {
    const events: TraceEvent[] = [];
    const spec: SimReceiverSpec = {
      name: 'noisy', rate: () => 700, queuePackets: 60, joinDelayMs: 40, leaveDelayMs: 40, propagationMs: 40,
      joinJitterMs: noise, options: { trace: (e) => events.push(e) },
    };
    new WebrcSim(bench, [spec]).run(20_000);
    const trrAt = (t: number): number => events.filter((e) => e.kind === 'epoch' && e.t <= t).map((e) => (e.kind === 'epoch' ? e.trr : 0)).at(-1) ?? 0;
    const firsts = events.filter((e): e is Extract<TraceEvent, { kind: 'first' }> => e.kind === 'first');
    // The noise alone crossed the RFC's threshold between successive joins below half the
    // bottleneck (where start-up used to end) ...
    const crossed = firsts.find((e, i) => i > 0 && e.latency - firsts[i - 1]!.latency > e.threshold);
    expect(crossed).toBeDefined();
    expect(trrAt(crossed!.t)).toBeLessThan(0.5 * 700);
    // ... but start-up ran on until the bottleneck (its queue's rise or a loss ended it).
    const exit = events.find((e): e is Extract<TraceEvent, { kind: 'slow-start-exit' }> => e.kind === 'slow-start-exit');
    expect(exit).toBeDefined();
    expect(exit!.trr).toBeGreaterThan(0.7 * 700);
  });
});
