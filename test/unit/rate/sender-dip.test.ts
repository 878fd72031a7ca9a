// WEBRC start-up against a sender that falls behind (RFC 3738 §3.2.2.6 rule (d); "Rule (d)" in
// src/rate/receiver.ts [ours]), in virtual time: one receiver on a fast, unlimited LAN path with
// fcast's default parameters; during its climb the sender's output dips to 50-70% of the schedule
// for 100-300 ms (up to 100 ms behind) (a busy CPU), then catches up at 1.5x. No packet is lost, only sent late: the
// receiver got every packet the sender sent, so the short epochs are the sender's, not a slow path.
import { describe, expect, it } from 'vitest';
import { resolveWebrcParams, withFcastDefaults } from '../../../src/rate/params.js';
import type { SlowStartExit, TraceEvent } from '../../../src/rate/receiver.js';
import { WebrcSim, type SenderDip } from './sim.js';

const params = resolveWebrcParams(withFcastDefaults({ srBps: 100e6, packetLength: 1476 }));

interface Run {
  readonly exit: { rule: SlowStartExit; trr: number; t: number } | undefined;
  /** First 100 ms sample at >= 90% of SR_P (ms), or undefined. */
  readonly at90: number | undefined;
  readonly lost: number;
}

function run(dips: readonly SenderDip[], bottleneckPps = 1e7, queuePackets = 20): Run {
  let exit: Run['exit'];
  const trace = (e: TraceEvent): void => {
    if (e.kind === 'slow-start-exit') exit ??= { rule: e.rule, trr: e.trr, t: e.t };
  };
  const [r] = new WebrcSim(params, [{
    name: 'rx', rate: () => bottleneckPps, queuePackets, joinDelayMs: 2, leaveDelayMs: 2,
    propagationMs: 0.1, options: { minArtt: 0.02, trace },
  }], 100, dips).run(6000);
  return { exit, at90: r!.samples.find((s) => s.delivered >= 0.9 * params.srP)?.t, lost: r!.receiver?.stats.lost ?? -1 };
}

describe('WEBRC start-up and a sender that falls behind', () => {
  const clean = run([]);

  it('reaches 90% of a fast path with no dip', () => {
    expect(clean.exit?.rule).toBe('max-rate');
    expect(clean.at90).toBeDefined();
  });

  it('a dip of 100-300 ms to 50-70% of the schedule (up to 100 ms behind), none lost, does not end start-up (rule (d)), wherever it falls', () => {
    const cases: SenderDip[] = [];
    // Up to 100 ms behind. Further behind (300 ms at 0.5: 150 ms), the next join's first packet
    // comes that much later and start-up ends on rule (b), a MUST ("Rule (d)" in receiver.ts).
    for (const [ms, factor] of [[100, 0.5], [200, 0.5], [100, 0.7], [200, 0.7], [300, 0.7]] as const) {
      {
        // Positions over the climb, 83 ms apart: each lands at a different point of the 50 ms epochs.
        for (let k = 0; k < 6; k++) cases.push({ at: 500 + 83 * k + (ms % 7), ms, factor });
      }
    }
    const failed: string[] = [];
    for (const dip of cases) {
      const r = run([dip]);
      const label = `${dip.ms} ms at ${dip.factor} from ${dip.at} ms: ${r.exit?.rule} at ${r.exit?.t.toFixed(0)} ms, trr ${r.exit?.trr.toFixed(0)}, 90% at ${r.at90}, lost ${r.lost}`;
      if (r.exit?.rule !== 'max-rate' || r.at90 === undefined || r.at90 > clean.at90! + 2 * dip.ms + 300) failed.push(label);
      expect(r.lost, label).toBe(0);
    }
    expect(failed).toEqual([]);
  });

  it('a real bottleneck still ends start-up below the rate (a short queue: losses; a long one: queueing)', () => {
    const link = 20e6 / (8 * 1476);
    for (const queueMs of [50, 1000]) {
      const r = run([], link, Math.round(link * queueMs / 1000));
      expect(r.exit, `queue ${queueMs} ms`).toBeDefined();
      expect(r.exit!.rule, `queue ${queueMs} ms`).not.toBe('max-rate');
      expect(r.exit!.trr, `queue ${queueMs} ms`).toBeLessThan(1.2 * link);
    }
  });
});
