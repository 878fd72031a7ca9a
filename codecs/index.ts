// The FEC layer's front door: pick a scheme by FEC Encoding ID and build an OTI with sensible
// defaults. Callers (carousel, assembly, commands) import from here.
import { LocalProtocolError, RemoteProtocolError } from '../src/errors.js';
import { ldpcStaircase } from './ldpc-staircase/scheme.js';
import { noCode } from './nocode/scheme.js';
import { divCeil, ldpcBlockN, partitionCounts } from './partition.js';
import type { FecEncodingId, FecOti, FecScheme } from './types.js';

export type * from './types.js';
export { ldpcStaircase } from './ldpc-staircase/scheme.js';
export { noCode } from './nocode/scheme.js';
export { partitionCounts, ldpcBlockN } from './partition.js';

/** The scheme for an FEC Encoding ID from the wire; FEC_UNSUPPORTED for any other ID. */
export function schemeFor(encodingId: number): FecScheme {
  if (encodingId === 0) return noCode;
  if (encodingId === 3) return ldpcStaircase;
  throw new RemoteProtocolError('FEC_UNSUPPORTED', `FEC Encoding ID ${encodingId}`);
}

export interface OtiOptions {
  /** E in bytes (default 1024). */
  readonly symbolSize?: number;
  /** B in symbols (default: 1000 for LDPC, 4096 for No-Code). */
  readonly maxSourceBlockLength?: number;
  /** Default: LDPC-Staircase (3), or No-Code (0) for an object too small to carry an LDPC code. */
  readonly encodingId?: FecEncodingId;
  /** LDPC code rate k/n, 0 < CR ≤ 1 (default 2/3); max_n = ceil(B / CR) (RFC 5170 §5.4). */
  readonly codeRate?: number;
  /** LDPC N1 (3..10, default 3: best for iterative decoding, RFC 5170 §4.2.3). */
  readonly n1?: number;
  /** LDPC PRNG seed (default 1). */
  readonly seed?: number;
}

/** Default LDPC block: big enough for low overhead, small enough to decode in a few ms. */
const DEFAULT_LDPC_B = 1000;
const DEFAULT_NOCODE_B = 4096;

/**
 * An OTI for an object of `transferLength` bytes (LDPC-Staircase unless told otherwise),
 * validated by its scheme: throws FEC_PARAMS with a reason when the options do not fit.
 */
export function createOti(transferLength: number, opts: OtiOptions = {}): FecOti {
  const symbolSize = opts.symbolSize ?? 1024;
  const encodingId = opts.encodingId ?? (tooSmallForLdpc(transferLength, symbolSize, opts) ? 0 : 3);
  let oti: FecOti;
  if (encodingId === 0) {
    oti = { encodingId, transferLength, symbolSize, maxSourceBlockLength: opts.maxSourceBlockLength ?? DEFAULT_NOCODE_B };
  } else {
    const b = opts.maxSourceBlockLength ?? DEFAULT_LDPC_B;
    const cr = opts.codeRate ?? 2 / 3;
    if (!(cr > 0 && cr <= 1)) throw new LocalProtocolError('FEC_PARAMS', `code rate ${cr} is not in (0, 1]`);
    const n1 = opts.n1 ?? 3;
    oti = {
      encodingId,
      transferLength,
      symbolSize,
      maxSourceBlockLength: b,
      maxEncodingSymbols: maxNFor(b, cr),
      n1m3: n1 - 3,
      symbolsPerPacket: 1,
      seed: opts.seed ?? 1,
    };
  }
  schemeFor(encodingId).validate(oti);
  return oti;
}

/**
 * A tiny object (a block with fewer than N1 repair symbols, e.g. 3 symbols at rate 2/3) cannot
 * carry an LDPC code: by default it goes out with No-Code instead.
 */
function tooSmallForLdpc(transferLength: number, symbolSize: number, opts: OtiOptions): boolean {
  if (!(symbolSize >= 1)) return false;
  const b = opts.maxSourceBlockLength ?? DEFAULT_LDPC_B;
  const cr = opts.codeRate ?? 2 / 3;
  if (!(b >= 1 && cr > 0 && cr <= 1) || !Number.isSafeInteger(transferLength) || transferLength < 0) return false;
  const p = partitionCounts(transferLength, symbolSize, b);
  if (p.blockCount === 0) return false;
  const n1 = opts.n1 ?? 3;
  const repair = ldpcBlockN(p.smallK, maxNFor(b, cr), b) - p.smallK;
  return repair < n1;
}

/** RFC 5170 §5.4: max_n = ceil(B / CR), with CR taken as a fraction of 2^20 to stay exact. */
function maxNFor(b: number, cr: number): number {
  const scale = 1 << 20;
  return divCeil(b * scale, Math.max(1, Math.round(cr * scale)));
}
