// WEBRC receiver rules, driven by hand in virtual time (RFC 3738 §3.2; SPEC-NOTES §6.3, §7 rows 20-22).
import { describe, expect, it } from 'vitest';
import { resolveWebrcParams } from '../../../src/rate/params.js';
import { WebrcReceiver, type ReceiverAction } from '../../../src/rate/receiver.js';

/** SPEC-NOTES §6.5: P 0.75, BCR_P 1, TSD 10 s (EL 0.5 s), QD 300 s, N 10: L 9, Q 30, T 40, base CN 40. */
const params = resolveWebrcParams({ srBps: 68.1 * 8 * 1400, packetLength: 1400, n: 10, constantRate: false });
const BASE = 40;

function drain(rx: WebrcReceiver): ReceiverAction[] {
  const out: ReceiverAction[] = [];
  for (let a = rx.poll(); a !== undefined; a = rx.poll()) out.push(a);
  return out;
}

/** Run timers up to `until`, as a shell would. */
function runTimers(rx: WebrcReceiver, until: number): void {
  for (let i = 0; i < 10_000; i++) {
    const t = rx.nextTimeout();
    if (t === undefined || t > until) return;
    rx.handleTimeout(t);
  }
  throw new Error('timer loop did not settle');
}

/** A receiver that got its first base packet (CTSI 5, PSN 9·100 + k) 50 ms after joining at 0. */
function started(k = 0): WebrcReceiver {
  const rx = new WebrcReceiver(params, 0);
  drain(rx);
  rx.onPacket(50, { cn: BASE, ctsi: 5, psn: 900 + k });
  return rx;
}

describe('start (§3.2.1, §3.2.2.5)', () => {
  it('joins the base channel alone and nothing else until a base packet arrives', () => {
    const rx = new WebrcReceiver(params, 0);
    expect(drain(rx)).toEqual([{ kind: 'join', cn: BASE }]);
    runTimers(rx, 9_000);
    expect(drain(rx)).toEqual([]);
    // A wave packet (not joined) is ignored.
    rx.onPacket(9_100, { cn: 5, ctsi: 5, psn: 1 });
    expect(rx.stats.ignored).toBe(1);
    expect(rx.status().targetRate).toBe(0);
  });

  it('sets TRR_P = ARR_P = 1 + 4·ln(0.75)/10 = 0.885 after a base packet with PSN mod 9 = 4', () => {
    const rx = started(4);
    const s = rx.status();
    expect(s.trr).toBeCloseTo(0.88493, 4);
    expect(s.arr).toBeCloseTo(0.88493, 4);
    expect(s.artt).toBeCloseTo(0.05, 12); // FirstTime − JoinTime of the base channel
    expect(s.slowStart).toBe(true);
    expect(s.ctsi).toBe(5);
  });

  it('joins the lowest layer (CN = CTSI) at the first epoch in start-up, then waits for its first packet', () => {
    const rx = started();
    runTimers(rx, 550);
    expect(drain(rx)).toEqual([{ kind: 'join', cn: 5 }]);
    expect(rx.status().nwc).toBe(1);
    // ARR_P grew by S_1/S_0 = 2.333 at the join.
    // The epoch update had capped ARR_P at ARR_P_max(0) = BCR_P = 1 just before.
    expect(rx.status().arr).toBeCloseTo(2.3333, 3);
    // JOINING: no further join while no packet has come from CN 5.
    runTimers(rx, 1_000);
    expect(drain(rx)).toEqual([]);
  });
});

describe('slot change (§3.2.3.3)', () => {
  it('leaves the quiescent channel, ignores stale CTSIs (d > T − Q/2)', () => {
    const rx = started();
    runTimers(rx, 550);
    drain(rx);
    rx.onPacket(600, { cn: 5, ctsi: 5, psn: 65000 }); // first packet of CN 5
    const arr = rx.status().arr;
    rx.onPacket(700, { cn: BASE, ctsi: 6, psn: 909 });
    expect(drain(rx)).toEqual([{ kind: 'leave', cn: 5 }]);
    expect(rx.status().nwc).toBe(0);
    expect(rx.status().arr).toBeCloseTo(arr - 0.75, 9);
    // A reordered packet of slot 5: d = 39 > 40 − 15 = 25, not a slot change.
    rx.onPacket(710, { cn: BASE, ctsi: 5, psn: 908 });
    expect(rx.status().ctsi).toBe(6);
    expect(rx.stats.staleCtsi).toBe(1);
  });
});

describe('loss events (§3.2.3.4, §3.2.2.6 exit (a))', () => {
  it('finds losses at the tail of a wave from its last PSN 65,535 when it goes quiescent', () => {
    const rx = started();
    runTimers(rx, 550);
    drain(rx);
    for (let psn = 901; psn <= 908; psn++) rx.onPacket(550 + psn - 900, { cn: BASE, ctsi: 5, psn });
    for (let psn = 65530; psn <= 65533; psn++) rx.onPacket(600 + psn - 65530, { cn: 5, ctsi: 5, psn });
    expect(rx.stats.lost).toBe(0);
    rx.onPacket(700, { cn: BASE, ctsi: 6, psn: 909 });
    expect(drain(rx)).toEqual([{ kind: 'leave', cn: 5 }]);
    // Missing until the reorder delay (100 ms) has passed: they may come late on their own socket.
    expect(rx.stats.lost).toBe(0);
    expect(rx.nextTimeout()).toBeLessThanOrEqual(800);
    rx.handleTimeout(800);
    expect(rx.stats.lost).toBe(2); // 65,534 and 65,535
    expect(rx.stats.lossEvents).toBe(1);
  });

  it("a wave's last packet read just after the next slot's first packet (another socket) is not a loss", () => {
    const rx = started();
    runTimers(rx, 550);
    drain(rx);
    for (let psn = 901; psn <= 908; psn++) rx.onPacket(550 + psn - 900, { cn: BASE, ctsi: 5, psn });
    for (let psn = 65530; psn <= 65534; psn++) rx.onPacket(600 + psn - 65530, { cn: 5, ctsi: 5, psn });
    rx.onPacket(700, { cn: BASE, ctsi: 6, psn: 909 });
    expect(drain(rx)).toEqual([{ kind: 'leave', cn: 5 }]);
    rx.onPacket(700.5, { cn: 5, ctsi: 5, psn: 65535 });
    rx.handleTimeout(900);
    expect(rx.stats.lost).toBe(0);
    expect(rx.stats.lossEvents).toBe(0);
    expect(rx.stats.ignored).toBe(0);
    expect(rx.status().slowStart).toBe(true);
  });

  it('counts a PSN gap as a loss after 3 later packets, not a reordered one', () => {
    const rx = started();
    // 901 arrives after 902: reordering, no loss.
    rx.onPacket(100, { cn: BASE, ctsi: 5, psn: 902 });
    rx.onPacket(110, { cn: BASE, ctsi: 5, psn: 901 });
    expect(rx.stats.lost).toBe(0);
    // 903 never comes: lost once 904, 905, 906 are in.
    for (const [t, psn] of [[120, 904], [130, 905]] as const) rx.onPacket(t, { cn: BASE, ctsi: 5, psn });
    expect(rx.stats.lost).toBe(0);
    rx.onPacket(140, { cn: BASE, ctsi: 5, psn: 906 });
    expect(rx.stats.lost).toBe(1);
    expect(rx.stats.lossEvents).toBe(1);
    const s = rx.status();
    // Start-up ends: SSR_P = max(SSMINR_P, P·TRR_P) = SSMINR_P = 4.11; LOSSP reset so REQN = TRR_P.
    expect(s.slowStart).toBe(false);
    expect(s.targetRate).toBeCloseTo(1 + 1 / 0.75 + 1 / 0.5625, 9);
  });

  it('counts a hole as lost after the reorder delay without later packets', () => {
    const rx = started();
    rx.onPacket(100, { cn: BASE, ctsi: 5, psn: 903 }); // 901, 902 missing
    runTimers(rx, 199);
    expect(rx.stats.lost).toBe(0);
    runTimers(rx, 200);
    expect(rx.stats.lost).toBe(2);
    expect(rx.stats.lossEvents).toBe(1); // both within one ARTT
  });

  it('wraps the base PSN at the largest multiple of L <= 2^16 without inventing losses', () => {
    const rx = new WebrcReceiver(params, 0);
    rx.onPacket(50, { cn: BASE, ctsi: 5, psn: 65527 });
    rx.onPacket(60, { cn: BASE, ctsi: 5, psn: 65528 });
    rx.onPacket(70, { cn: BASE, ctsi: 6, psn: 0 });
    for (let psn = 1; psn < 5; psn++) rx.onPacket(70 + psn, { cn: BASE, ctsi: 6, psn });
    expect(rx.stats.lost).toBe(0);
    expect(rx.stats.received).toBe(7);
  });
});

describe('join timeout (§3.2.3.7) and exceptional timeouts (§3.2.3.8)', () => {
  it('undoes a join that brings no packet and leaves that channel', () => {
    const rx = started();
    runTimers(rx, 550);
    expect(drain(rx)).toEqual([{ kind: 'join', cn: 5 }]);
    // Deadline: §3.2.3.7's max(2V/ARTT, 10·ARTT) = max(0.1, 0.5) s, or [ours] two packet gaps of
    // the joined wave (layer 1, 0.5 s into its slot: (1/P)·P^(0.5/10) pkt/s), whichever is later.
    const deadline = 550 + Math.max(500, (2 / ((1 / 0.75) * Math.pow(0.75, 0.05))) * 1000);
    expect(deadline).toBeCloseTo(2072, 0);
    runTimers(rx, deadline - 1);
    expect(rx.status().nwc).toBe(1);
    runTimers(rx, deadline + 1);
    expect(drain(rx)[0]).toEqual({ kind: 'leave', cn: 5 });
    expect(rx.stats.joinTimeouts).toBe(1);
    expect(rx.stats.leaves).toBe(1);
  });

  it('leaves the session after max(10, TSD) s without packets', () => {
    const rx = started();
    runTimers(rx, 10_049);
    expect(drain(rx).some((a) => a.kind === 'leave-session')).toBe(false);
    runTimers(rx, 10_050);
    expect(drain(rx).at(-1)).toEqual({ kind: 'leave-session', reason: 'no-packets' });
    expect(rx.status().closed).toBe(true);
    expect(rx.nextTimeout()).toBeUndefined();
  });

  it('leaves the session after max(20, 2·TSD) s without a CTSI change', () => {
    const rx = new WebrcReceiver(params, 0, { mrrP: 1 });
    drain(rx);
    let psn = 0;
    for (let t = 50; t <= 20_050; t += 1000) {
      rx.onPacket(t, { cn: BASE, ctsi: 5, psn: psn++ });
      runTimers(rx, t);
    }
    runTimers(rx, 20_060);
    expect(drain(rx).at(-1)).toEqual({ kind: 'leave-session', reason: 'no-slot-change' });
  });

  it('leaves the session when the base channel alone loses most packets (SHOULD, §3.2.1)', () => {
    const rx = new WebrcReceiver(params, 0, { mrrP: 1 });
    drain(rx);
    // Two of every three base packets lost; judged over 2·L = 18 packet events.
    for (let i = 0, t = 50; i < 8; i++, t += 1000) {
      rx.onPacket(t, { cn: BASE, ctsi: 5 + Math.floor((3 * i) / 9), psn: 3 * i });
      runTimers(rx, t + 500);
    }
    expect(drain(rx).at(-1)).toEqual({ kind: 'leave-session', reason: 'base-loss' });
  });
});

describe('start-up exit (b) (§3.2.2.6)', () => {
  it('ends start-up when the join latency jumps between successive waves', () => {
    const rx = started();
    runTimers(rx, 550);
    expect(drain(rx)).toEqual([{ kind: 'join', cn: 5 }]);
    rx.onPacket(560, { cn: 5, ctsi: 5, psn: 65000 }); // 10 ms after the join
    for (let t = 600; t < 1550; t += 100) rx.onPacket(t, { cn: 5, ctsi: 5, psn: 65000 + (t - 500) / 100 });
    runTimers(rx, 1550); // rule (d): one epoch after CN 5's first packet, then join CN 6
    expect(drain(rx)).toEqual([{ kind: 'join', cn: 6 }]);
    expect(rx.status().slowStart).toBe(true);
    // CN 6's first packet 1.5 s after the join: far above (P^3 − 1)/(P·ln P)/ARR_P ≈ 2.68/4.1 s;
    // within the join timeout max(2V/ARTT, 10·ARTT), which the first, negative MRTT made long.
    for (let t = 1600; t < 3050; t += 100) {
      rx.onPacket(t, { cn: BASE, ctsi: 5, psn: 901 + (t - 1600) / 100 });
      runTimers(rx, t);
    }
    expect(rx.stats.joinTimeouts).toBe(0);
    expect(rx.status().slowStart).toBe(true);
    rx.onPacket(3050, { cn: 6, ctsi: 5, psn: 64000 });
    expect(rx.stats.lost).toBe(0);
    expect(rx.status().slowStart).toBe(false);
  });
});

describe('start-up exit (c) (§3.2.2.6)', () => {
  it('ends start-up when the next layer would pass MRR_P, with SSR_P = max(SSMINR_P, TRR_P)', () => {
    const rx = new WebrcReceiver(params, 0, { mrrP: 2 });
    drain(rx);
    rx.onPacket(50, { cn: BASE, ctsi: 5, psn: 900 });
    runTimers(rx, 550);
    const s = rx.status();
    expect(s.slowStart).toBe(false);
    // TRATE = min(max(SSR_P, REQN), MRR_P) = MRR_P; no join since 2 < ARR_P·2.33 and NWC stays 0.
    expect(s.targetRate).toBe(2);
    expect(drain(rx)).toEqual([]);
  });
});
