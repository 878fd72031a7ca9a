// RFC 5052 §9.1 block partitioning (used by RFC 5445 §3.3 and RFC 5170 §5.1) and the RFC 5170
// §5.5 "n-algorithm". Integer arithmetic only: every quantity stays below 2^53 (L < 2^48), and
// each division is checked so that no double rounding can move a block boundary.
import type { FecOti, SourceBlock } from './types.js';

/**
 * Largest block (encoding symbols × E) a codec instance accepts: a decoder holds one block in
 * memory, so an OTI asking for more is refused instead of allocated. RFC 5170 §5.2 lets a codec
 * set lower limits than the format allows.
 */
export const MAX_BLOCK_BYTES = 512 * 1024 * 1024;

/** floor(a / b) for integers 0 ≤ a < 2^53, b ≥ 1, corrected for double rounding. */
export function divFloor(a: number, b: number): number {
  let q = Math.floor(a / b);
  while (q * b > a) q--;
  while ((q + 1) * b <= a) q++;
  return q;
}

/** ceil(a / b) for integers 0 ≤ a < 2^53, b ≥ 1. */
export function divCeil(a: number, b: number): number {
  const q = divFloor(a, b);
  return q * b === a ? q : q + 1;
}

/** The §9.1 quantities for (L, E, B). */
export interface Partitioning {
  /** T: source symbols of the object. */
  readonly symbols: number;
  /** N: source blocks. */
  readonly blockCount: number;
  readonly largeK: number;
  readonly smallK: number;
  /** I: the first I blocks have largeK symbols, the others smallK. */
  readonly largeCount: number;
}

/** RFC 5052 §9.1. Preconditions: L integer in [0, 2^48), E ≥ 1, B ≥ 1 (validated by the scheme). */
export function partitionCounts(transferLength: number, symbolSize: number, maxBlockLength: number): Partitioning {
  const symbols = divCeil(transferLength, symbolSize);
  if (symbols === 0) return { symbols: 0, blockCount: 0, largeK: 0, smallK: 0, largeCount: 0 };
  const blockCount = divCeil(symbols, maxBlockLength);
  const largeK = divCeil(symbols, blockCount);
  const smallK = divFloor(symbols, blockCount);
  const largeCount = symbols - smallK * blockCount;
  return { symbols, blockCount, largeK, smallK, largeCount };
}

/** RFC 5170 §5.5: n = floor(k · max_n / B), the same at sender and receiver. */
export function ldpcBlockN(k: number, maxEncodingSymbols: number, maxBlockLength: number): number {
  return divFloor(k * maxEncodingSymbols, maxBlockLength);
}

/**
 * Every source block of the object, in SBN order. `nOf(k)` gives the encoding symbols of a
 * block of k source symbols (k for No-Code, §5.5 for LDPC). Only the last block may end with a
 * short symbol: its length is L − offset.
 */
export function partitionBlocks(oti: FecOti, nOf: (k: number) => number): SourceBlock[] {
  const e = oti.symbolSize;
  const p = partitionCounts(oti.transferLength, e, oti.maxSourceBlockLength);
  const blocks: SourceBlock[] = [];
  let offset = 0;
  for (let sbn = 0; sbn < p.blockCount; sbn++) {
    const k = sbn < p.largeCount ? p.largeK : p.smallK;
    const length = sbn === p.blockCount - 1 ? oti.transferLength - offset : k * e;
    blocks.push({ sbn, k, n: nOf(k), offset, length });
    offset += k * e;
  }
  return blocks;
}
