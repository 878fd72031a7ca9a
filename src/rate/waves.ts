// WEBRC channel rate profiles and packet timing (RFC 3738 §3.1.2; SPEC-NOTES §6.1, §6.2, §6.5).
//
// Base channel: in every slot the rate falls from BCR_P to P·BCR_P: r(τ) = BCR_P·P^(τ/TSD).
// Wave channel: N active slots, the rate falling by P per slot to BCR_P at the end of the last one.
//
// Packet k of a channel (k = 0, 1, ...) is sent when the cumulative expected count F(t) = ∫ r
// reaches k. For the base channel this gives exactly L = ceil(F(TSD)) packets per slot, packet k at
// rate BCR_P + k·ln(P)/TSD: the value RFC 3738 §3.2.2.5 tells a receiver to start TRR_P/ARR_P at.
//
// Shaping [ours, permitted by §3.1.2 for the first <= 2 slots of a wave]: with constantRate, the
// newest wave carries R − (base + the N−1 older waves) during its first slot, R = SR_P. The others
// are exponential, so the sum is exactly R at every instant, also across slot boundaries (the
// base's jump of (1−P)·BCR_P and the new wave's start balance the BCR_P that goes quiescent).
// From its second slot the wave is the plain exponential BCR_P·(1/P)^(N−1)·P^(v/TSD).

import { layerSum, type WebrcParams } from './params.js';

/** Wave-relative timing of one wave (identical for every wave channel and cycle). */
export class WaveProfile {
  /** Packets in one wave; its PSNs run from 2^16 − count (mod 2^16) to 2^16 − 1. */
  readonly count: number;
  private readonly lnInvP: number;
  /** Wave-relative start of the exponential part: TSD when the first slot is shaped, else 0. */
  private readonly expStart: number;
  /** Rate at the start of the exponential part. */
  private readonly expRate: number;
  /** Packets in the shaped first slot (0 without shaping, not rounded). */
  private readonly shapedCount: number;
  /** K in the shaped slot's F(u) = R·u − K·(1 − P^(u/TSD)). */
  private readonly shapedK: number;

  constructor(private readonly params: WebrcParams) {
    const { p, bcr, n, tsd, srP, constantRate } = params;
    this.lnInvP = Math.log(1 / p);
    this.expStart = constantRate ? tsd : 0;
    this.expRate = bcr * Math.pow(1 / p, constantRate ? n - 1 : n);
    this.shapedK = constantRate ? (bcr * layerSum(p, n - 1) * tsd) / this.lnInvP : 0;
    this.shapedCount = constantRate ? srP * tsd - this.shapedK * (1 - p) : 0;
    const total = this.shapedCount + this.expCount(n * tsd - this.expStart);
    this.count = Math.ceil(total - 1e-9);
  }

  /** Packets per second at wave-relative time u (0 <= u < N·TSD). */
  rateAt(u: number): number {
    const { p, tsd, bcr, n, srP } = this.params;
    if (u < this.expStart) return srP - bcr * layerSum(p, n - 1) * Math.pow(p, u / tsd);
    return this.expRate * Math.pow(p, (u - this.expStart) / tsd);
  }

  /** Wave-relative send time (s) of packet j, 0 <= j < count. */
  timeOf(j: number): number {
    if (j < this.shapedCount) return this.shapedTimeOf(j);
    const x = j - this.shapedCount;
    const { p, tsd } = this.params;
    return this.expStart + (tsd * Math.log(1 - (x * this.lnInvP) / (this.expRate * tsd))) / Math.log(p);
  }

  /** How many packets of the wave are sent before wave-relative time u. */
  countBefore(u: number): number {
    if (u <= 0) return 0;
    const f = u < this.expStart ? this.shapedF(u) : this.shapedCount + this.expCount(u - this.expStart);
    return Math.min(this.count, Math.ceil(f - 1e-9));
  }

  /** PSN of packet j: the last packet of the wave carries 2^16 − 1 (RFC 3738 §3.1.2, §5.1). */
  psnOf(j: number): number {
    return (0x10000 - this.count + j) & 0xffff;
  }

  /** Expected packets in the first v seconds of the exponential part. */
  private expCount(v: number): number {
    const { p, tsd } = this.params;
    return (this.expRate * tsd * (1 - Math.pow(p, v / tsd))) / this.lnInvP;
  }

  private shapedF(u: number): number {
    const { p, tsd, srP } = this.params;
    return srP * u - this.shapedK * (1 - Math.pow(p, u / tsd));
  }

  /**
   * Invert the shaped slot's F (not closed-form). F is increasing and convex there (its rate grows),
   * so Newton's method from the start of the slot converges in a few steps; bisection is the
   * fallback should rounding stall it.
   */
  private shapedTimeOf(j: number): number {
    const { tsd } = this.params;
    let u = 0;
    for (let i = 0; i < 50; i++) {
      const step = (this.shapedF(u) - j) / this.rateAt(u);
      u = Math.min(tsd, Math.max(0, u - step));
      if (Math.abs(step) < 1e-10) return u;
    }
    let lo = 0;
    let hi = tsd;
    for (let i = 0; i < 60 && hi - lo > 1e-12; i++) {
      const mid = (lo + hi) / 2;
      if (this.shapedF(mid) < j) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}

/** Base channel rate at slot-relative time τ (s). */
export function baseRateAt(params: WebrcParams, tau: number): number {
  return params.bcr * Math.pow(params.p, tau / params.tsd);
}

/** Slot-relative send time (s) of base packet k of a slot, 0 <= k < L. */
export function baseTimeOf(params: WebrcParams, k: number): number {
  const { p, bcr, tsd } = params;
  return (tsd * Math.log(1 - (k * Math.log(1 / p)) / (bcr * tsd))) / Math.log(p);
}

/**
 * Rate of the layer-th lowest active wave at slot-relative time τ of an unshaped slot, layer 1..N
 * (layer 1 ends in this slot). The SPEC-NOTES §6.5 table: BCR_P·(1/P)^layer·P^(τ/TSD).
 */
export function layerRateAt(params: WebrcParams, layer: number, tau: number): number {
  return params.bcr * Math.pow(1 / params.p, layer) * Math.pow(params.p, tau / params.tsd);
}
