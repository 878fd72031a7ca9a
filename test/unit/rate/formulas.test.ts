// WEBRC receiver formulas against hand-computed values (RFC 3738 §3.2.2; SPEC-NOTES §6.3, §6.5).
import { describe, expect, it } from 'vitest';
import {
  LossEstimator,
  RttEstimator,
  losspForRate,
  nextLayerRatio,
  reqn,
  waveMrtt,
} from '../../../src/rate/estimators.js';
import { layerSum } from '../../../src/rate/params.js';

describe('rate equation (§3.2.2.3)', () => {
  it('REQN(ARTT 0.1 s, LOSSP 0.01) = 112.4 pkt/s', () => {
    expect(reqn(0.1, 0.01)).toBeCloseTo(112.39, 2);
  });

  it('inverts: the LOSSP that makes REQN equal a rate', () => {
    expect(losspForRate(0.1, 112.39299)).toBeCloseTo(0.01, 6);
    for (const rate of [3, 40, 1000, 1e5]) expect(reqn(0.05, losspForRate(0.05, rate))).toBeCloseTo(rate, 6);
    // Even total loss gives more than this rate: LOSSP = 1.
    expect(reqn(0.1, 1)).toBeCloseTo(0.0411, 4);
    expect(losspForRate(0.1, 0.03)).toBe(1);
  });
});

describe('loss estimator (§3.2.2.1)', () => {
  it('keeps LOSSP after a reset while nothing happens', () => {
    const e = new LossEstimator(0.3 * 0.5 / 10);
    e.reset(0.01);
    expect([e.w, e.x, e.y, e.z]).toEqual([0, 0, 0, 100]);
    expect(e.onEpochEnd()).toBeCloseTo(0.01, 12);
  });

  it('filters a loss event after 50 packets into Z (hand-computed)', () => {
    const e = new LossEstimator(0.015); // G = Nu·EL/TSD = 0.3·0.5/10
    e.reset(0.01);
    for (let i = 0; i < 50; i++) e.onPacketEvent();
    e.onLossEventStart(); // X = 50, W = 0, Y = 1
    e.onPacketEvent(); // the lost packet itself
    const lossp = e.onEpochEnd();
    // Z = 100·0.7^0.015 + 0.015·50/1.015·(1 − 0.7^1.015) = 99.6909; X = 49.25; Y = 0.985
    expect(e.z).toBeCloseTo(99.69085, 4);
    expect(e.x).toBeCloseTo(49.25, 10);
    expect(e.y).toBeCloseTo(0.985, 10);
    // Z1 = 82.746, Z2 = 60.359 -> LOSSP = 1/82.746
    expect(lossp).toBeCloseTo(0.0120851, 6);
  });

  it('rescale sets LOSSP but keeps the loss-free run growing it, where a reset holds it flat', () => {
    // A long loss-free run after one loss event: Z2 (the run W counted) sets LOSSP.
    const run = (): LossEstimator => {
      const e = new LossEstimator(0.015);
      e.reset(0.01);
      e.onLossEventStart();
      for (let i = 0; i < 400; i++) e.onPacketEvent();
      e.onEpochEnd();
      return e;
    };
    const [scaled, cleared] = [run(), run()];
    const target = scaled.lossp * 1.5; // a lower REQN, as the RR_P check asks
    scaled.rescale(target);
    cleared.reset(target);
    expect(scaled.lossp).toBeCloseTo(target, 3);
    expect(cleared.lossp).toBe(target);
    expect(scaled.y).toBeCloseTo(0.985, 10);
    // 100 more loss-free packets: the scaled history's LOSSP falls on, the cleared one's stays.
    for (const e of [scaled, cleared]) {
      for (let i = 0; i < 100; i++) e.onPacketEvent();
      e.onEpochEnd();
    }
    expect(scaled.lossp).toBeLessThan(0.85 * target);
    expect(cleared.lossp).toBeCloseTo(target, 12);
  });
});

describe('ARTT (§3.2.2.2)', () => {
  it('starts from the base join and filters wave MRTTs with Rho', () => {
    const r = new RttEstimator(0.75);
    r.initFromBase(0.2);
    expect([r.artt, r.v]).toEqual([0.2, 0.2 * 0.2]);
    r.update(0.1);
    // Omega = 0.25·0.04/0.04 = 0.25; K = 1: Rho = 0.25/(1 − 0.75²) = 0.5714
    // V = 0.4286·0.04 + 0.5714·0.01 = 0.022857; ARTT = max(0.75·0.2, 0.142857) = 0.15
    expect(r.v).toBeCloseTo(0.0228571, 6);
    expect(r.artt).toBeCloseTo(0.15, 12);
    r.update(0.14);
    // Omega = 0.25·0.0225/0.022857 = 0.24609; K = 2: Rho = Omega/(1 − (1−Omega)³) = 0.43133
    const omega = (0.25 * 0.0225) / 0.0228571;
    const rho = omega / (1 - Math.pow(1 - omega, 3));
    expect(r.artt).toBeCloseTo((1 - rho) * 0.15 + rho * 0.14, 6);
  });

  it('corrects a wave join latency by the expected wait for its first packet', () => {
    // 0.5 − ln(4/3)/(2·0.25·1)·0.75² = 0.17636 s
    expect(waveMrtt(0.5, 0.75, 1, 2)).toBeCloseTo(0.176358, 5);
    expect(waveMrtt(0.1, 0.75, 1, 1)).toBeLessThan(0); // may be negative, as the RFC notes
  });
});

describe('SPEC-NOTES §6.5 receiver figures', () => {
  it('ARR_P_max(2) = 4.11 and the NWC 2 -> 3 join threshold 6.48 pkt/s', () => {
    expect(layerSum(0.75, 2)).toBeCloseTo(4.111, 3);
    expect(nextLayerRatio(0.75, 2)).toBeCloseTo(1.5766, 4);
    expect(layerSum(0.75, 2) * nextLayerRatio(0.75, 2)).toBeCloseTo(6.48, 2);
  });
});
