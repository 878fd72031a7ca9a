// Join timeout on a fast path with a slow lowest wave (RFC 3738 §3.2.3.7; receiver.ts "Join
// timeout"). With ARTT at a 20 ms floor the RFC's max(2V/ARTT, 10·ARTT) is 200 ms, while the lowest
// wave at BCR_P = 1 sends 1-1.3 packets a second: a join made with no packet of that wave due for
// 200 ms timed out, every time, and the receiver stayed at the base channel alone (loopback, TSD 2 s,
// QD 4 s: 3 of 19 runs with 0 layers after 10-14 join timeouts). The deadline now also allows two
// packet gaps of the joined wave at that point of its slot.
import { describe, expect, it } from 'vitest';
import { resolveWebrcParams } from '../../../src/rate/params.js';
import { WebrcReceiver } from '../../../src/rate/receiver.js';
import { WebrcSim, type SimReceiverSpec } from './sim.js';

const params = resolveWebrcParams({ srBps: 40e6, packetLength: 1476, tsd: 2, qd: 4 });

describe('join deadline of a slow wave', () => {
  it('a first packet 400 ms after joining the lowest wave is not a timeout (ARTT 20 ms)', () => {
    const rx = new WebrcReceiver(params, 0, { minArtt: 0.02 });
    while (rx.poll() !== undefined);
    rx.onPacket(1, { cn: params.baseCn, ctsi: 4, psn: 0 });
    expect(rx.status().artt).toBeCloseTo(0.02);
    let join: { at: number; cn: number } | undefined;
    for (let t = 1; t <= 1000 && join === undefined; t += 5) {
      rx.handleTimeout(t);
      for (let a = rx.poll(); a !== undefined; a = rx.poll()) if (a.kind === 'join') join = { at: t, cn: a.cn };
    }
    expect(join?.cn).toBe(4);
    const at = join!.at;
    for (let t = at; t < at + 400; t += 5) rx.handleTimeout(t);
    rx.onPacket(at + 400, { cn: 4, ctsi: 4, psn: 0xffff - 1 });
    expect(rx.stats.joinTimeouts).toBe(0);
    expect(rx.status().joined).toEqual([4]);
  });

  it('receivers whose base join measures ARTT at the 20 ms floor climb, with no join timeouts', () => {
    // Each starts 2 ms before a slot's first base packet (0.1 ms path): ARTT = the floor, and the
    // first join, one epoch later, is the lowest wave with ~0.75 s between its packets.
    const specs: SimReceiverSpec[] = Array.from({ length: 5 }, (_, i) => ({
      name: `rx${i}`,
      startMs: 2000 * (i + 1) - 2,
      rate: () => 1e6,
      queuePackets: 1000,
      joinDelayMs: 0.1,
      leaveDelayMs: 0.1,
      propagationMs: 0.05,
      options: { minArtt: 0.02 },
    }));
    const results = new WebrcSim(params, specs).run(2000 * 5 + 6000);
    for (const r of results) {
      expect(r.receiver?.stats.joinTimeouts, r.spec.name).toBe(0);
      expect(r.receiver?.status().nwc, r.spec.name).toBeGreaterThanOrEqual(10);
    }
  });
});
