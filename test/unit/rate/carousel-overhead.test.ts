// What a receiver on part of an on-demand carousel pays (issue 5 follow-up; src/carousel/sender.ts
// "Transmission order"): packets received until the whole file decodes, over its source symbols,
// with duplicate ESIs counted. The netns WEBRC test's session in virtual time: 48 MB-like (35
// blocks of k = 1000, R = 1/4, the real memory budget scaled to the small symbols), WEBRC at
// 80 Mbit/s, TSD 1 s, QD 10 s, BCR 5, P 0.9. Before the on-demand cycle was spread over every
// block, a receiver on half the packets needed 1.96 k and one on all of them 3.75 k.
import { describe, expect, it } from 'vitest';
import type { FecSettings } from '../../../src/carousel/plan.js';
import { resolveWebrcParams, type WebrcParams } from '../../../src/rate/index.js';
import { onLayers, runOverhead, type Accept, type OverheadResult } from './carousel-sim.js';

const E = 16;
const FEC: FecSettings = { encodingId: 3, symbolSize: E, maxSourceBlockLength: 1000, codeRate: 1 / 4, n1m3: 2 };
/** The sender's default 128 MiB at E = 1400, for E = 16: the same number of blocks fit. */
const BUDGET = Math.round((128 * 2 ** 20 * E) / 1400);
const FILE = 34_286 * E;
const PARAMS: WebrcParams = resolveWebrcParams({ srBps: 80e6, packetLength: 1450, tsd: 1, qd: 10, bcr: 5, p: 0.9 });

function run(accept: Accept, webrc: WebrcParams | undefined, fec: FecSettings = FEC): OverheadResult & { share: number } {
  let offered = 0;
  let taken = 0;
  const r = runOverhead({
    fileBytes: FILE,
    fec,
    webrc,
    fixedRate: 5000,
    sender: { memoryBudget: BUDGET },
    maxPackets: 2_000_000,
    accept: (at, slot, i) => {
      offered++;
      const ok = accept(at, slot, i);
      if (ok) taken++;
      return ok;
    },
  });
  return { ...r, share: taken / offered };
}

function report(label: string, r: OverheadResult & { share: number }): void {
  const done = r.blocks.map((b) => b.completedAt / r.cyclePackets);
  process.stderr.write(`${label}: share ${r.share.toFixed(3)}, received ${r.received} = ${r.ratio.toFixed(3)} k, duplicates ${(r.duplicates / r.sourceSymbols).toFixed(3)} k, ` +
    `blocks complete at ${Math.min(...done).toFixed(2)}-${Math.max(...done).toFixed(2)} cycles\n`);
}

/** Cycles between the first and the last block's completion. */
function completionSpread(r: OverheadResult): number {
  const done = r.blocks.map((b) => b.completedAt);
  return (Math.max(...done) - Math.min(...done)) / r.cyclePackets;
}

describe('on-demand carousel: a receiver on part of the packets gets what FEC needs', () => {
  it('WEBRC receivers on all, half, and an eighth of the rate (base + lowest waves)', () => {
    for (const [layers, most] of [[PARAMS.n, 1.25], [41, 1.25], [27, 1.3]] as const) {
      const r = run(onLayers(PARAMS, layers), PARAMS);
      report(`WEBRC base + ${layers} of ${PARAMS.n} waves`, r);
      expect(r.complete).toBe(true);
      expect(r.ratio).toBeLessThan(most);
      // A receiver done within its first cycle never sees an ESI twice; the slow one spans
      // cycles, each with a fresh order, and some of its symbols come again.
      if (r.sentUntilComplete < r.cyclePackets) expect(r.duplicates).toBe(0);
      else expect(r.duplicates / r.sourceSymbols).toBeLessThan(0.15);
      // Every block at the same pace: they all complete within a fraction of a cycle.
      expect(completionSpread(r)).toBeLessThan(0.5);
    }
  });

  it('a receiver taking 60% of the packets at random, or a periodic 0.6 s on / 0.9 s off', () => {
    let x = 99;
    const random = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const iid = run(() => random() < 0.6, undefined);
    report('random 60%', iid);
    const periodic = run((at) => at % 1500 < 600, undefined);
    report('periodic 0.6 s of 1.5 s', periodic);
    for (const r of [iid, periodic]) {
      expect(r.complete).toBe(true);
      expect(r.ratio).toBeLessThan(1.25);
      expect(completionSpread(r)).toBeLessThan(0.5);
    }
  });

  it('fixed rate, R = 2/3: a late joiner (mid-cycle, 10% loss) completes within one cycle of joining', () => {
    const fec: FecSettings = { ...FEC, codeRate: 2 / 3 };
    let x = 7;
    const random = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const cycle = 35 * 1500;
    for (const joinAt of [0.3, 0.5, 0.9]) {
      const r = run((_at, _slot, i) => i >= joinAt * cycle && random() >= 0.1, undefined, fec);
      report(`late join at ${joinAt} of the cycle, 10% loss`, r);
      expect(r.complete).toBe(true);
      expect((r.sentUntilComplete - r.firstAccepted) / r.cyclePackets).toBeLessThan(1);
    }
  });
});
