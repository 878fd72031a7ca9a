// WEBRC session parameters (RFC 3738 §3.1.1; SPEC-NOTES §6.2): the sender's inputs with their RFC
// defaults, the values derived from them (SR_P, L, Q, T, cycle) and their validation.
//
// Units: rates in packets per second (suffix P in the RFC) unless named `...Bps` (bits per second);
// durations in seconds, as in the RFC. Only the `now` of the state machines is in milliseconds.
//
// Choices [ours]:
// - CCI format: the short 32-bit format (RFC 3738 §5.1, LCT C=0), so T <= 255 (cci.ts).
// - N defaults to the largest N whose exponential peak BCR_P·(1 + 1/P + ... + (1/P)^N) fits in
//   SR_P (the aggregate at the start of a slot without shaping); the RFC leaves N to the sender
//   and points at a paper for the mechanism ([8]). N >= 2, so that shaping the first slot of a wave
//   leaves the exponential tail the RFC requires.
// - constantRate (default true): the sender shapes the first slot of each wave so the aggregate
//   rate is exactly SR_P (RFC 3738 §3.1.2 permits this for the first <= 2 slots; sender-schedule.ts).

import { LocalProtocolError, RemoteProtocolError, type ErrorCode } from '../errors.js';

/** Short CCI format limits (RFC 3738 §5.1). */
export const MAX_T_SHORT = 255;
export const PSN_SPACE_SHORT = 0x10000;

/** What a sender is configured with (flags); omitted fields take the RFC defaults. */
export interface WebrcParamsInput {
  /** SR_b: upper bound on the aggregate sending rate, bits per second. */
  readonly srBps: number;
  /** LENP_B: packet length in bytes. */
  readonly packetLength: number;
  /** BCR_P: base channel rate at the start of a slot, packets/s (default 1). */
  readonly bcr?: number;
  /** P: per-slot multiplicative rate drop (default 0.75). */
  readonly p?: number;
  /** N: slots per wave = active wave channels (default: from SR_P, see file comment). */
  readonly n?: number;
  /** TSD: time slot duration, seconds (RECOMMENDED 10). */
  readonly tsd?: number;
  /** QD: minimum quiescent period, seconds (RECOMMENDED 300). */
  readonly qd?: number;
  /** Whether the sender keeps its aggregate rate constant (RECOMMENDED; default true). */
  readonly constantRate?: boolean;
}

/** Validated inputs plus every derived value the sender and receivers use. */
export interface WebrcParams {
  readonly srBps: number;
  readonly packetLength: number;
  readonly bcr: number;
  readonly p: number;
  readonly n: number;
  readonly tsd: number;
  readonly qd: number;
  readonly constantRate: boolean;
  /** SR_P = SR_b / (8·LENP_B), packets/s. */
  readonly srP: number;
  /** L = ceil(BCR_P·TSD·(P−1)/ln P): base packets per slot. */
  readonly l: number;
  /** Q = ceil(QD/TSD): quiescent slots per cycle of a wave channel. */
  readonly q: number;
  /** T = N + Q: slots per cycle = wave channels (CN 0..T−1). */
  readonly t: number;
  /** CN of the base channel (= T). */
  readonly baseCn: number;
  /** Cycle length C = TSD·T, seconds. */
  readonly cycle: number;
  /** Base PSNs wrap at the largest multiple of L <= 2^16 (RFC 3738 §3.1.2). */
  readonly basePsnModulus: number;
}

/** RFC 3738's defaults and RECOMMENDED values (§3.1.1), taken by `resolveWebrcParams` for omitted fields. */
export const WEBRC_DEFAULTS = { bcr: 1, p: 0.75, tsd: 10, qd: 300, constantRate: true } as const;

/**
 * fcast's defaults [ours] (`fcast send`, through `withFcastDefaults`): a receiver on a fast LAN path
 * reaches 90% of SR within a few seconds, where the RFC's set takes 30 s and more (start-up joins
 * one wave per about two epochs, so the climb takes ~N·2·EL; figures in fcast-send(1) WEBRC and
 * bench/webrc-ramp.ts). Each is a sender's choice the RFC leaves open or only RECOMMENDS:
 * - TSD 1 s (RECOMMENDED 10): EL = TSD/20 = 50 ms, so start-up climbs 10 times faster, and a
 *   layer's rate halves in a few seconds instead of a minute, so receivers also fall faster.
 * - QD 10 s (RECOMMENDED >= 300): QD must outlast the leave latency of the network: seconds with
 *   IGMP/MLD snooping or a querier's last-member queries (2 x 1 s by default) on a LAN; 300 s is
 *   for inter-domain prune state. It also keeps T = N + Q within the short CCI's 255.
 * - BCR_P 50 packets/s (default 1): the base channel every receiver takes (590 kbit/s at LENP_B
 *   1476); fewer waves then span SR (N 20 at 100 Mbit/s, 34 at 1 Gbit/s instead of 48 and 70 at
 *   BCR_P 5). Below ~11 Mbit/s it shrinks so that `minWaves` waves still fit.
 * - P 0.85 (default 0.75): steps of 1/P = 1.18 between layers; at 0.75 (1.33) receivers settled
 *   at 57-73% of a 50 Mbit/s link, at 0.9 a fast path needs 35-50% more waves to climb.
 */
export const FCAST_WEBRC_DEFAULTS = { bcr: 50, p: 0.85, tsd: 1, qd: 10, minWaves: 8 } as const;

/** Fill the fields `input` omits with FCAST_WEBRC_DEFAULTS (BCR_P scaled down for low SR). */
export function withFcastDefaults(input: WebrcParamsInput): WebrcParamsInput {
  const d = FCAST_WEBRC_DEFAULTS;
  const p = input.p ?? d.p;
  const srP = input.srBps / (8 * input.packetLength);
  // Rounded down to 0.01 packets/s so that the session description carries a short number.
  const fits = Number.isFinite(srP) && srP > 0 && p > 0 && p < 1 ? Math.max(0.01, Math.floor((100 * srP) / layerSum(p, d.minWaves)) / 100) : d.bcr;
  return { ...input, p, bcr: input.bcr ?? Math.min(d.bcr, fits), tsd: input.tsd ?? d.tsd, qd: input.qd ?? d.qd };
}

/** S_k = 1 + 1/P + ... + (1/P)^k: the base plus k exponential layers at a slot start, in BCR_P units. */
export function layerSum(p: number, k: number): number {
  return (Math.pow(1 / p, k + 1) - 1) / (1 / p - 1);
}

type ErrorFactory = (code: ErrorCode, detail: string) => Error;
const local: ErrorFactory = (code, detail) => new LocalProtocolError(code, detail);
const remote: ErrorFactory = (_code, detail) => new RemoteProtocolError('SESSION_VALUE', detail);

/** Validate sender inputs, fill RFC defaults, derive L, Q, T. Throws LocalProtocolError WEBRC_PARAMS. */
export function resolveWebrcParams(input: WebrcParamsInput): WebrcParams {
  return resolve(input, local);
}

function resolve(input: WebrcParamsInput, fail: ErrorFactory): WebrcParams {
  const bad = (detail: string): never => {
    throw fail('WEBRC_PARAMS', detail);
  };
  const positive = (name: string, v: number): number =>
    Number.isFinite(v) && v > 0 ? v : bad(`${name} must be a positive number, got ${v}`);
  const srBps = positive('SR_b', input.srBps);
  const packetLength = input.packetLength;
  if (!Number.isInteger(packetLength) || packetLength < 1 || packetLength > 65535) {
    bad(`LENP_B must be an integer in 1..65535, got ${packetLength}`);
  }
  const bcr = positive('BCR_P', input.bcr ?? WEBRC_DEFAULTS.bcr);
  const p = input.p ?? WEBRC_DEFAULTS.p;
  if (!(Number.isFinite(p) && p > 0 && p < 1)) bad(`P must be in (0, 1), got ${p}`);
  const tsd = positive('TSD', input.tsd ?? WEBRC_DEFAULTS.tsd);
  const qd = positive('QD', input.qd ?? WEBRC_DEFAULTS.qd);
  const constantRate = input.constantRate ?? WEBRC_DEFAULTS.constantRate;
  const srP = srBps / (8 * packetLength);
  const l = Math.ceil((bcr * tsd * (p - 1)) / Math.log(p));
  if (l > PSN_SPACE_SHORT) bad(`L = ${l} base packets per slot exceeds the 16-bit PSN space`);
  const q = Math.ceil(qd / tsd);
  const n = input.n ?? defaultN(srP, bcr, p);
  if (!Number.isInteger(n) || n < 2) {
    bad(`N must be an integer >= 2, got ${n} (SR_P ${srP.toFixed(2)} pkt/s needs >= ${(bcr * layerSum(p, 2)).toFixed(2)})`);
  }
  const peak = bcr * layerSum(p, n);
  if (peak > srP * (1 + 1e-9)) {
    bad(`N = ${n} waves peak at ${peak.toFixed(2)} pkt/s, above SR_P = ${srP.toFixed(2)} pkt/s`);
  }
  const t = n + q;
  if (t > MAX_T_SHORT) bad(`T = N + Q = ${t} exceeds ${MAX_T_SHORT} (short CCI format)`);
  return {
    srBps, packetLength, bcr, p, n, tsd, qd, constantRate, srP, l, q, t,
    baseCn: t,
    cycle: tsd * t,
    basePsnModulus: Math.floor(PSN_SPACE_SHORT / l) * l,
  };
}

/** Largest N with BCR_P·S_N <= SR_P (0 when not even N = 0 fits; validation then rejects it). */
function defaultN(srP: number, bcr: number, p: number): number {
  let n = 0;
  while (n < MAX_T_SHORT && bcr * layerSum(p, n + 1) <= srP) n++;
  return n;
}

/**
 * The WEBRC part of a session description (RFC 3738 §3: receivers MUST know it before joining).
 * A flat record of numbers so it drops into the session's `rate.params` as is; CONSTANT is 1 when
 * the aggregate rate is constant (RFC 3738 §3.1.1 RECOMMENDS saying so), else 0.
 */
export interface WebrcSessionParams {
  readonly SR_b: number;
  readonly LENP_B: number;
  readonly BCR_P: number;
  readonly P: number;
  readonly N: number;
  readonly TSD: number;
  readonly QD: number;
  readonly CONSTANT: 0 | 1;
}

export function toSessionParams(params: WebrcParams): WebrcSessionParams {
  return {
    SR_b: params.srBps,
    LENP_B: params.packetLength,
    BCR_P: params.bcr,
    P: params.p,
    N: params.n,
    TSD: params.tsd,
    QD: params.qd,
    CONSTANT: params.constantRate ? 1 : 0,
  };
}

/**
 * Parse the WEBRC parameters of a session description (a parsed JSON object or the session's
 * `rate.params` record). Bad input is the sender's fault: RemoteProtocolError SESSION_VALUE.
 */
export function fromSessionParams(value: unknown): WebrcParams {
  const bad = (detail: string): never => {
    throw new RemoteProtocolError('SESSION_VALUE', `WEBRC ${detail}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad('parameters are not an object');
  const record = value as Record<string, unknown>;
  const num = (key: keyof WebrcSessionParams): number => {
    const v = record[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : bad(`${key} missing or not a number`);
  };
  const constant = num('CONSTANT');
  if (constant !== 0 && constant !== 1) bad(`CONSTANT must be 0 or 1, got ${constant}`);
  return resolve(
    {
      srBps: num('SR_b'),
      packetLength: num('LENP_B'),
      bcr: num('BCR_P'),
      p: num('P'),
      n: num('N'),
      tsd: num('TSD'),
      qd: num('QD'),
      constantRate: constant === 1,
    },
    remote,
  );
}
