// WEBRC receiver, overload leave (receiver.ts "Overload" [ours]): when its link shrinks, a receiver
// leaves its highest layers within a few epochs instead of waiting for its waves to decay (x P a
// slot: 10 slots from 50 to 10 Mbit/s at P 0.85), and does not leave a layer for the loss of a
// settled receiver or of its start-up. Virtual time (sim.ts), the netns test's scale: fcast's
// defaults on an 80M session, a 50 Mbit/s tbf link with 50 ms of queue that drops to 10 Mbit/s.
import { describe, expect, it } from 'vitest';
import { resolveWebrcParams, withFcastDefaults } from '../../../src/rate/params.js';
import type { TraceEvent } from '../../../src/rate/receiver.js';
import { WebrcSim, lossShare, mean, type SimReceiverSpec } from './sim.js';

const params = resolveWebrcParams(withFcastDefaults({ srBps: 80e6, packetLength: 1476 }));
const pps = (mbit: number): number => (mbit * 1e6) / (8 * 1490);
const EL_MS = (params.tsd * 1000) / 20;
const DROP_MS = 8000;

function run(rate: (t: number) => number, until: number): { samples: ReturnType<WebrcSim['run']>[0]['samples']; events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  const spec: SimReceiverSpec = {
    name: 'r2', rate, queuePackets: Math.round(pps(50) * 0.05), joinDelayMs: 12, leaveDelayMs: 2, propagationMs: 0.2,
    options: { minArtt: 0.02, trace: (e) => events.push(e) },
  };
  const [r] = new WebrcSim(params, [spec], 100).run(until);
  return { samples: r!.samples, events };
}

describe('WEBRC overload leave (a link that shrinks 5x)', () => {
  it('is within 1.3x of the new link in 30 epochs, with under 2,000 packets lost after the drop', () => {
    const { samples, events } = run((t) => pps(t < DROP_MS ? 50 : 10), 20_000);
    const within = samples.find((s) => s.t > DROP_MS && s.offered <= 1.3 * pps(10));
    const lost = samples.filter((s) => s.t > DROP_MS).reduce((a, s) => a + s.dropped / 10, 0);
    const leaves = events.filter((e) => e.kind === 'overload-leave');
    process.stderr.write(`within 1.3x ${within === undefined ? 'never' : (within.t - DROP_MS) / EL_MS} epochs after the drop, ${lost.toFixed(0)} packets lost, ` +
      `${leaves.length} overload leaves\n`);
    // Waiting for the waves to decay took 128 epochs and lost ~8,000 packets here.
    expect(within).toBeDefined();
    expect(within!.t - DROP_MS).toBeLessThanOrEqual(30 * EL_MS);
    expect(lost).toBeLessThan(2000);
    // Settled on the new link: near it, without loss.
    const sub = mean(samples, 'subscribed', 12_000, 20_000);
    expect(sub).toBeGreaterThan(0.7 * pps(10));
    expect(sub).toBeLessThan(1.1 * pps(10));
    expect(lossShare(samples, 12_000, 20_000)).toBeLessThan(0.02);
    // No leave before the drop: neither start-up's overshoot (one layer) nor settled loss is one.
    expect(leaves.every((e) => e.t > DROP_MS)).toBe(true);
  });

  it('leaves nothing on a link that stays, and still settles near it', () => {
    for (const mbit of [10, 50]) {
      const { samples, events } = run(() => pps(mbit), 20_000);
      expect(events.filter((e) => e.kind === 'overload-leave'), `${mbit} Mbit/s`).toEqual([]);
      expect(mean(samples, 'subscribed', 10_000, 20_000), `${mbit} Mbit/s`).toBeGreaterThan(0.7 * pps(mbit));
    }
  });
});
