// The native dense core of ML decoding: native/src/fec_dense.cc, a port of dense.ts `solveDense`
// with the same contract (same pivots, same row operations in the same order; 64-bit words).
// dense.ts stays the reference; test/unit/fec-native.test.ts checks that both agree.
import { LocalProtocolError } from '../../src/errors.js';
import { getNative } from '../native.js';
import type { DenseSolution } from './dense.js';

type SolveDenseKernel = (matrix: Uint32Array, rows: number, cols: number, rowOfCol: Int32Array) => { rank: number; ops: Uint32Array };

/** Same signature and result as `solveDense` in dense.ts. */
export type DenseSolver = (matrix: Uint32Array, rows: number, cols: number) => DenseSolution;

function checkDense(matrix: Uint32Array, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || rows < 0 || rows > 0xffffffff || !Number.isInteger(cols) || cols < 0 || cols > 0xffffffff) {
    throw new LocalProtocolError('FEC_PROGRAM', `dense system ${rows} x ${cols}`);
  }
  if (rows * ((cols + 31) >>> 5) > matrix.length) {
    throw new LocalProtocolError('FEC_PROGRAM', `dense matrix of ${matrix.length} words is shorter than ${rows} x ${cols} bits`);
  }
}

let cached: DenseSolver | null | undefined;

/** The native solver, or undefined when the addon (or its FEC kernels) is not loaded. */
export function nativeDenseSolver(): DenseSolver | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const fn = getNative()?.['solveDense'];
  if (typeof fn !== 'function') {
    cached = null;
    return undefined;
  }
  const kernel = fn as SolveDenseKernel;
  cached = (matrix, rows, cols) => {
    checkDense(matrix, rows, cols);
    const rowOfCol = new Int32Array(cols);
    let r: { rank: number; ops: Uint32Array };
    try {
      r = kernel(matrix, rows, cols, rowOfCol);
    } catch (e) {
      // Unreachable after checkDense; a kernel refusal still surfaces as a typed error.
      throw new LocalProtocolError('FEC_PROGRAM', (e as Error).message);
    }
    return { rank: r.rank, rowOfCol, ops: r.ops };
  };
  return cached;
}
