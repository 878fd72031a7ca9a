// The native builder of the RFC 5170 §6.2 parity-check matrix: native/src/fec_matrix.cc, a port
// of matrix.ts `buildMatrix` (same PRNG draws, same entries; ~10x faster). matrix.ts stays the
// reference and the TypeScript path; test/unit/fec-native.test.ts checks both agree.
import { LocalProtocolError } from '../../src/errors.js';
import { getNative } from '../native.js';
import type { LdpcMatrix } from './matrix.js';

interface NativeLeft {
  rowStart: Int32Array;
  rowCols: Int32Array;
  colStart: Int32Array;
  colRows: Int32Array;
  fallbackPlacements: number;
  rowfixAdded: number;
}
type BuildLeftKernel = (k: number, n: number, n1: number, seed: number) => NativeLeft;

/** Same signature and result as `buildMatrix` in matrix.ts. */
export type MatrixBuilder = (k: number, n: number, n1: number, seed: number) => LdpcMatrix;

let cached: MatrixBuilder | null | undefined;

/**
 * The native builder, or undefined when the addon (or this kernel) is not loaded. Blocks with
 * n = k have no equations and are left to matrix.ts.
 */
export function nativeMatrixBuilder(): MatrixBuilder | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const fn = getNative()?.['buildLeft'];
  if (typeof fn !== 'function') {
    cached = null;
    return undefined;
  }
  const kernel = fn as BuildLeftKernel;
  cached = (k, n, n1, seed) => {
    if (![k, n, n1, seed].every(Number.isInteger) || k < 1 || n <= k || n1 < 1 || n1 > n - k) {
      throw new LocalProtocolError('FEC_PARAMS', `matrix for k=${k} n=${n} N1=${n1}`);
    }
    let left: NativeLeft;
    try {
      left = kernel(k, n, n1, seed);
    } catch (e) {
      throw new LocalProtocolError('FEC_PARAMS', (e as Error).message);
    }
    return { k, n, n1, seed, rows: n - k, ...left };
  };
  return cached;
}
