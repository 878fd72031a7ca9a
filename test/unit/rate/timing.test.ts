// WEBRC receiver timing (RFC 3738 §3.2.2.2 join latency, §3.2.3.4 loss events), in virtual time:
// a join's latency runs from when the join is made, not from the epoch boundary a late timer
// stands for; losses are grouped into events by when they happened, not by when they were found.
import { describe, expect, it } from 'vitest';
import { resolveWebrcParams } from '../../../src/rate/params.js';
import { WebrcReceiver, type TraceEvent } from '../../../src/rate/receiver.js';

/** SPEC-NOTES §6.5: P 0.75, BCR_P 1, TSD 10 s (EL 0.5 s), QD 300 s, N 10: L 9, Q 30, T 40, base CN 40. */
const params = resolveWebrcParams({ srBps: 68.1 * 8 * 1400, packetLength: 1400, n: 10, constantRate: false });
const BASE = 40;

function traced(): { rx: WebrcReceiver; events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  const rx = new WebrcReceiver(params, 0, { trace: (e) => events.push(e) });
  while (rx.poll() !== undefined);
  // First base packet 50 ms after the join: ARTT = 0.05 s, first epoch due at 550 ms.
  rx.onPacket(50, { cn: BASE, ctsi: 5, psn: 900 });
  return { rx, events };
}

describe('join latency (§3.2.2.2)', () => {
  it('is measured from the join, when the epoch timer runs late', () => {
    const { rx, events } = traced();
    rx.handleTimeout(580); // the epoch of 550 ms, run 30 ms late: the join goes out now
    expect(rx.poll()).toEqual({ kind: 'join', cn: 5 });
    rx.onPacket(630, { cn: 5, ctsi: 5, psn: 65000 });
    const first = events.find((e) => e.kind === 'first');
    expect(first?.kind === 'first' && first.latency).toBeCloseTo(0.05, 9);
  });
});

describe('join latency from the membership report (reportDelayMs)', () => {
  it('times the base and wave joins from when their reports leave the host, not from the join action', () => {
    const events: TraceEvent[] = [];
    const rx = new WebrcReceiver(params, 0, { reportDelayMs: 12, trace: (e) => events.push(e) });
    while (rx.poll() !== undefined);
    rx.onPacket(62, { cn: BASE, ctsi: 5, psn: 900 }); // report at 12, first packet 50 ms later
    expect(rx.status().artt).toBeCloseTo(0.05, 9);
    rx.handleTimeout(562);
    expect(rx.poll()).toEqual({ kind: 'join', cn: 5 });
    rx.onPacket(624, { cn: 5, ctsi: 5, psn: 65000 });
    const first = events.find((e) => e.kind === 'first');
    expect(first?.kind === 'first' && first.latency).toBeCloseTo(0.05, 9);
  });
});

describe('loss events (§3.2.3.4)', () => {
  it('groups losses by when they happened: one found 100 ms later but lost within ARTT joins the event', () => {
    const { rx, events } = traced();
    rx.onPacket(640, { cn: BASE, ctsi: 5, psn: 901 });
    // 902 missing: lost about 650 (between the arrivals at 640 and 660), found at 760 (reorder delay).
    rx.onPacket(660, { cn: BASE, ctsi: 5, psn: 903 });
    // 904 missing: lost about 680, found at 800: 40 ms after the event's first loss, ARTT is 50 ms.
    rx.onPacket(700, { cn: BASE, ctsi: 5, psn: 905 });
    rx.handleTimeout(760);
    rx.handleTimeout(800);
    expect(rx.stats.lost).toBe(2);
    expect(rx.stats.lossEvents).toBe(1);
    // 906 missing: lost about 800, 150 ms after the event began: a second event.
    rx.onPacket(900, { cn: BASE, ctsi: 5, psn: 907 });
    rx.handleTimeout(1000);
    expect(rx.stats.lost).toBe(3);
    expect(rx.stats.lossEvents).toBe(2);
    const lags = events.flatMap((e) => (e.kind === 'loss-event' ? [e.lag] : []));
    expect(lags).toEqual([110, 200]);
  });

  it('a loss found late on a slow channel joins the event of an earlier-found loss on a fast one', () => {
    const { rx } = traced();
    rx.handleTimeout(580);
    expect(rx.poll()).toEqual({ kind: 'join', cn: 5 });
    rx.onPacket(630, { cn: 5, ctsi: 5, psn: 65000 }); // first packet: ARTT becomes 37.5 ms
    rx.onPacket(640, { cn: 5, ctsi: 5, psn: 65001 });
    rx.onPacket(660, { cn: 5, ctsi: 5, psn: 65003 }); // 65002 lost about 650, found only at 760
    rx.onPacket(640, { cn: BASE, ctsi: 5, psn: 901 });
    rx.onPacket(670, { cn: BASE, ctsi: 5, psn: 903 }); // 902 lost about 655
    for (const [t, psn] of [[672, 904], [674, 905], [676, 906]] as const) rx.onPacket(t, { cn: BASE, ctsi: 5, psn });
    expect(rx.stats.lossEvents).toBe(1); // 902 found at 676, after three later packets
    rx.handleTimeout(760);
    expect(rx.stats.lost).toBe(2);
    expect(rx.stats.lossEvents).toBe(1);
  });

  it('a loss on a sparse channel joins an event when its gap, not only its midpoint, is within ARTT of it', () => {
    const { rx } = traced();
    rx.handleTimeout(580);
    expect(rx.poll()).toEqual({ kind: 'join', cn: 5 });
    rx.onPacket(630, { cn: 5, ctsi: 5, psn: 65000 }); // first packet: ARTT becomes 37.5 ms
    rx.onPacket(640, { cn: BASE, ctsi: 5, psn: 901 });
    rx.onPacket(660, { cn: BASE, ctsi: 5, psn: 903 }); // 902 lost about 650
    rx.handleTimeout(760);
    expect(rx.stats.lossEvents).toBe(1);
    // CN 5 carries a packet every 200 ms: 65001 was lost between 630 and 830 (midpoint 730, 80 ms
    // after the event's first loss, more than ARTT; but the gap reaches back to it).
    rx.onPacket(830, { cn: 5, ctsi: 5, psn: 65002 });
    rx.handleTimeout(930);
    expect(rx.stats.lost).toBe(2);
    expect(rx.stats.lossEvents).toBe(1);
    // A gap wholly later than ARTT after the event is a new one.
    rx.onPacket(1030, { cn: 5, ctsi: 5, psn: 65004 });
    rx.handleTimeout(1130);
    expect(rx.stats.lost).toBe(3);
    expect(rx.stats.lossEvents).toBe(2);
  });
});

describe('start-up exits (b) and (d) open a loss event (receiver.ts "Start-up exits")', () => {
  /** Start-up ended by rule (b) at 3050 ms (the scenario of receiver.test.ts), base packets every 100 ms. */
  function exitedByLatency(): WebrcReceiver {
    const { rx } = traced();
    rx.handleTimeout(550);
    expect(rx.poll()).toEqual({ kind: 'join', cn: 5 });
    rx.onPacket(560, { cn: 5, ctsi: 5, psn: 65000 });
    for (let t = 600; t < 1550; t += 100) rx.onPacket(t, { cn: 5, ctsi: 5, psn: 65000 + (t - 500) / 100 });
    for (let t = 600; t <= 1550; t += 10) rx.handleTimeout(t);
    expect(rx.poll()).toEqual({ kind: 'join', cn: 6 });
    for (let t = 1600; t <= 3000; t += 100) {
      rx.onPacket(t, { cn: BASE, ctsi: 5, psn: 901 + (t - 1600) / 100 });
      rx.handleTimeout(t);
    }
    rx.onPacket(3050, { cn: 6, ctsi: 5, psn: 64000 });
    expect(rx.status().slowStart).toBe(false);
    return rx;
  }

  it('a loss of the overflow that ended start-up, found after the exit, is not a new event', () => {
    const rx = exitedByLatency();
    // Base PSN 916 (due at 3100) lost; found at 3300 after three later packets.
    for (const t of [3200, 3250, 3300]) rx.onPacket(t, { cn: BASE, ctsi: 5, psn: 916 + (t === 3200 ? 1 : t === 3250 ? 2 : 3) });
    expect(rx.stats.lost).toBe(1);
    expect(rx.stats.lossEvents).toBe(0);
  });

  it('a loss more than ARTT after the exit is a loss event', () => {
    const rx = exitedByLatency();
    // The 1.5 s join latency made ARTT long: the next loss comes 100 ms past it.
    const gapFrom = 3100 + Math.ceil((rx.status().artt * 1000) / 100) * 100;
    let psn = 916;
    for (let t = 3100; t <= gapFrom; t += 100) rx.onPacket(t, { cn: BASE, ctsi: 5, psn: psn++ });
    psn++; // lost
    for (const t of [gapFrom + 200, gapFrom + 250, gapFrom + 300]) rx.onPacket(t, { cn: BASE, ctsi: 5, psn: psn++ });
    expect(rx.stats.lost).toBe(1);
    expect(rx.stats.lossEvents).toBe(1);
  });
});
