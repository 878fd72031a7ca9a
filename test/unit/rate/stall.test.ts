// WEBRC start-up against the receiver's own event-loop stalls (RFC 3738 §3.2.2.6 rule (d); the
// "Epochs the receiver did not see end" rule of src/rate/receiver.ts), in virtual time: one
// receiver on a fast, unlimited LAN path with fcast's default parameters, busy for 40 ms once
// across an epoch boundary in start-up while its packets wait in the socket buffer. Before the
// rule, such a stall ended start-up on rule (d) at 8-18% of the rate (bench/webrc-ramp.ts --stall).
import { describe, expect, it } from 'vitest';
import { resolveWebrcParams, withFcastDefaults } from '../../../src/rate/params.js';
import type { SlowStartExit, TraceEvent } from '../../../src/rate/receiver.js';
import { WebrcSim } from './sim.js';

const params = resolveWebrcParams(withFcastDefaults({ srBps: 100e6, packetLength: 1476 }));

interface Run {
  readonly exit: { rule: SlowStartExit; trr: number } | undefined;
  readonly merged: number;
  /** First 100 ms sample at >= 90% of SR_P (ms), or undefined. */
  readonly at90: number | undefined;
}

function run(stall: { at: number; ms: number; readFaster?: number } | undefined, bottleneckPps = 1e7, hold?: { at: number; ms: number; stretch: number }): Run {
  let exit: Run['exit'];
  let merged = 0;
  const trace = (e: TraceEvent): void => {
    if (e.kind === 'slow-start-exit') exit ??= { rule: e.rule, trr: e.trr };
    if (e.kind === 'epoch') merged += e.span - 1;
  };
  const [r] = new WebrcSim(params, [{
    name: 'rx', rate: () => bottleneckPps, queuePackets: Math.max(20, bottleneckPps * 0.05), holds: hold === undefined ? undefined : [hold], joinDelayMs: 2, leaveDelayMs: 2,
    propagationMs: 0.1, options: { minArtt: 0.02, trace }, stalls: stall === undefined ? undefined : [stall],
  }], 100).run(5000);
  return { exit, merged, at90: r!.samples.find((s) => s.delivered >= 0.9 * params.srP)?.t };
}

describe('WEBRC start-up and a stalled receiver', () => {
  it('reaches 90% of a fast path in a few seconds with the default parameters', () => {
    const clean = run(undefined);
    expect(clean.at90).toBeDefined();
    expect(clean.at90!).toBeLessThanOrEqual(3000);
    expect(clean.exit?.rule).toBe('max-rate');
    expect(clean.merged).toBe(0);
  });

  it('a 40 ms stall across an epoch boundary does not end start-up early (rule (d)), wherever it falls', () => {
    let merged = 0;
    // 24 positions 37 ms apart over the climb: each lands at a different point of the 50 ms epochs.
    for (let k = 0; k < 24; k++) {
      const r = run({ at: 600 + 37 * k, ms: 40 });
      expect(r.exit?.rule, `stall at ${600 + 37 * k} ms`).toBe('max-rate');
      expect(r.at90, `stall at ${600 + 37 * k} ms`).toBeLessThanOrEqual(3100);
      merged += r.merged;
    }
    // The stalls did fall across boundaries: those epochs were merged with the next.
    expect(merged).toBeGreaterThanOrEqual(10);
  });

  it('nor does a 150 ms stall whose backlog takes another 75 ms to read, wherever it falls', () => {
    // The boundaries while the backlog is read merge too (netns at 100M: stalls of 118-286 ms).
    for (let k = 0; k < 12; k++) {
      const r = run({ at: 600 + 53 * k, ms: 150, readFaster: 3 });
      expect(r.exit?.rule, `stall at ${600 + 53 * k} ms`).toBe('max-rate');
      expect(r.at90, `stall at ${600 + 53 * k} ms`).toBeLessThanOrEqual(3300);
    }
  });

  it('nor does one short epoch while the receiver runs (packets came 3 times slower for 60 ms, then in a burst)', () => {
    // Rule (d) acts on two lagging epochs in a row ("Rule (d)" in src/rate/receiver.ts).
    for (let k = 0; k < 12; k++) {
      const from = 700 + 61 * k;
      const r = run(undefined, 1e7, { at: from, ms: 20, stretch: 3 });
      expect(r.exit?.rule, `held at ${from} ms`).toBe('max-rate');
      expect(r.at90, `held at ${from} ms`).toBeLessThanOrEqual(3100);
    }
  });

  it('a real bottleneck still ends start-up below the rate', () => {
    // 20 Mbit/s behind a 100 Mbit/s session: a steady queue, not a stall.
    const r = run(undefined, 20e6 / (8 * 1476));
    expect(r.exit).toBeDefined();
    expect(r.exit!.rule).not.toBe('max-rate');
    expect(r.merged).toBe(0);
  });
});
