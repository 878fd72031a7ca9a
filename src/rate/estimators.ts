// WEBRC receiver estimators (RFC 3738 §3.2.2.1-§3.2.2.3; SPEC-NOTES §6.3): the loss-rate filter
// (W, X, Y, Z -> LOSSP), the multicast round-trip average (MRTT -> ARTT, V) and the TCP-style rate
// equation REQN with its inverse (used to "reset LOSSP so that REQN equals a rate").
// Pure arithmetic; time in seconds.

/** Nu and Delta: time-based and loss-based smoothing (RECOMMENDED 0.3 each, §3.2.2.1). */
export const NU = 0.3;
export const DELTA = 0.3;
/** Alpha: ARTT smoothing (RECOMMENDED 0.25, §3.2.2.2). */
export const ALPHA = 0.25;

/** REQN = 1/(ARTT·sqrt(LOSSP)·(0.816 + 7.35·LOSSP·(1 + 32·LOSSP²))) packets/s (§3.2.2.3, from TFRC). */
export function reqn(artt: number, lossp: number): number {
  return 1 / (artt * Math.sqrt(lossp) * (0.816 + 7.35 * lossp * (1 + 32 * lossp * lossp)));
}

/**
 * The LOSSP in (0, 1] at which REQN(artt, ·) equals `rate`; 1 when even LOSSP = 1 gives more.
 * REQN falls strictly as LOSSP grows, so bisection on log(LOSSP) converges.
 */
export function losspForRate(artt: number, rate: number): number {
  if (!(rate > 0) || reqn(artt, 1) >= rate) return 1;
  let lo = -60; // ln LOSSP; e^-60 gives REQN far above any packet rate
  let hi = 0;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (reqn(artt, Math.exp(mid)) > rate) lo = mid;
    else hi = mid;
  }
  return Math.exp((lo + hi) / 2);
}

/**
 * LOSSP estimator (§3.2.2.1). W counts packet events since the current loss event began; X and Y
 * hold the packets and loss events not yet filtered into the long-term inverse loss rate Z.
 */
export class LossEstimator {
  w = 0;
  x = 0;
  y = 0;
  z = 1;
  lossp = 1;

  /** G = Nu·EL/TSD: the share of X and Y filtered into Z at each epoch end. */
  constructor(private readonly g: number) {}

  /** A packet event: received or lost. */
  onPacketEvent(): void {
    this.w += 1;
  }

  /** The first loss of a new loss event. */
  onLossEventStart(): void {
    this.x += this.w;
    this.w = 0;
    this.y += 1;
  }

  /** End of an epoch: filter into Z, then recompute LOSSP; returns it. */
  onEpochEnd(): number {
    const { g } = this;
    const keep = 1 - DELTA;
    this.z = this.z * Math.pow(keep, g * this.y) + ((g * this.x) / (g * this.y + 1)) * (1 - Math.pow(keep, g * this.y + 1));
    this.x *= 1 - g;
    this.y *= 1 - g;
    this.lossp = 1 / Math.max(this.z1(), this.z2(), 1);
    return this.lossp;
  }

  /** Z1: the long-term Z with the short-term history (X, Y) filtered in. */
  private z1(): number {
    const keep = 1 - DELTA;
    return this.z * Math.pow(keep, this.y) + (this.x / (this.y + 1)) * (1 - Math.pow(keep, this.y + 1));
  }

  /** Z2: what Z1 would be were the next packet lost (the run W since the last loss event counts). */
  private z2(): number {
    const keep = 1 - DELTA;
    return this.z * Math.pow(keep, this.y + 1) + ((this.x + this.w + 1) / (this.y + 2)) * (1 - Math.pow(keep, this.y + 2));
  }

  /**
   * LOSSP = a by scaling the loss history (Z, X and W by one factor, Y kept) instead of clearing
   * it [ours, for the RR_P check's reset: receiver.ts]: the loss-free run W keeps its weight, so
   * REQN goes on rising from a where a cleared history would hold it flat until W passes ~1.2·Z.
   */
  rescale(a: number): void {
    const c = 1 / a / Math.max(this.z1(), this.z2(), 1);
    this.z *= c;
    this.x *= c;
    this.w *= c;
    this.lossp = 1 / Math.max(this.z1(), this.z2(), 1);
  }

  /** Reset to LOSSP = a: W = X = Y = 0, Z = 1/a. */
  reset(a: number): void {
    this.w = 0;
    this.x = 0;
    this.y = 0;
    this.z = 1 / a;
    this.lossp = a;
  }
}

/**
 * ARTT estimator (§3.2.2.2). The base channel's join time sets ARTT and V; each wave join's MRTT
 * is then filtered in with a weight that adapts to the measurements' variance.
 */
export class RttEstimator {
  artt = 0;
  v = 0;
  /** Measurements since the base one (the K of Rho). */
  k = 0;

  constructor(private readonly p: number) {}

  /** First packet on the base channel: ARTT = FirstTime − JoinTime, V = ARTT². */
  initFromBase(rtt: number): void {
    this.artt = rtt;
    this.v = rtt * rtt;
    this.k = 0;
  }

  /** A wave join's MRTT (already corrected by the expected wait for the first packet; may be < 0). */
  update(mrtt: number): void {
    this.k += 1;
    // V = 0 only if every measurement so far was 0: then take Alpha itself as the weight.
    const omega = this.v > 0 ? Math.min(1, (ALPHA * this.artt * this.artt) / this.v) : ALPHA;
    const rho = omega / (1 - Math.pow(1 - omega, this.k + 1));
    this.v = (1 - rho) * this.v + rho * mrtt * mrtt;
    this.artt = Math.max(this.p * this.artt, (1 - rho) * this.artt + rho * mrtt);
  }
}

/** MRTT of a wave join: (FirstTime − JoinTime) − ln(1/P)/(2(1−P)·BCR_P)·P^NWC (§3.2.2.2). */
export function waveMrtt(joinLatency: number, p: number, bcr: number, nwc: number): number {
  return joinLatency - (Math.log(1 / p) / (2 * (1 - p) * bcr)) * Math.pow(p, nwc);
}

/**
 * ARR_P grows by this factor when NWC -> NWC+1: ((1/P)^(NWC+2) − 1)/((1/P)^(NWC+1) − 1)
 * (§3.2.2.5, §3.2.3.6). The join rule compares TRATE with ARR_P times this.
 */
export function nextLayerRatio(p: number, nwc: number): number {
  const q = 1 / p;
  return (Math.pow(q, nwc + 2) - 1) / (Math.pow(q, nwc + 1) - 1);
}
