// RFC 5170 §6.2: the LDPC-Staircase parity-check matrix H of one source block, (n−k) rows by
// n columns. The left side (source columns) is built by `left_matrix_init` exactly as the RFC's
// C code, including the fallback placement when no admissible candidate is left and the row
// fix-up that gives every row at least two 1s; every draw comes from one PRNG stream seeded once
// per block. The right side is the staircase: row r holds repair ESIs k+r and (r ≥ 1) k+r−1,
// so it is implicit and not stored.
import { pmNext, pmScale } from './prng.js';

/** The left side of H in both orientations (compressed rows and compressed columns). */
export interface LdpcMatrix {
  readonly k: number;
  readonly n: number;
  readonly n1: number;
  readonly seed: number;
  /** n − k: rows (parity equations), one per repair symbol. */
  readonly rows: number;
  /** Row r's source columns are rowCols[rowStart[r] .. rowStart[r+1]), ascending. */
  readonly rowStart: Int32Array;
  readonly rowCols: Int32Array;
  /** Source column c's rows are colRows[colStart[c] .. colStart[c+1]), ascending. */
  readonly colStart: Int32Array;
  readonly colRows: Int32Array;
  /** Times the main loop ran out of candidates and drew a row uniformly (for the vectors). */
  readonly fallbackPlacements: number;
  /** 1s added by the row fix-up step (for the vectors). */
  readonly rowfixAdded: number;
}

/**
 * The builder's temporaries, kept between builds (a code is built per block, and per trial in
 * `fcast fec bench`): fresh ones are zeroed and, past V8's on-heap limit, allocated outside the heap
 * on every build. Grown as needed; dropped after a build that needed more than KEEP_SCRATCH elements.
 */
const scratch = { colEntries: new Int32Array(0), u: new Int32Array(0), degree: new Int32Array(0), cap: new Int32Array(0), rowBuf: new Int32Array(0), fill: new Int32Array(0) };
const KEEP_SCRATCH = 1 << 20;

/** scratch[name] with room for `size` elements (contents stale). */
function scratchOf(name: keyof typeof scratch, size: number): Int32Array {
  if (scratch[name].length < size) scratch[name] = new Int32Array(size);
  return scratch[name];
}

/**
 * Build H for (k, n, N1, seed). Preconditions (checked by the scheme's OTI validation):
 * k ≥ 1, 1 ≤ N1 ≤ n − k, 1 ≤ seed ≤ 2^31−2. A block with n = k has no equations.
 */
export function buildMatrix(k: number, n: number, n1: number, seed: number): LdpcMatrix {
  const rows = n - k;
  if (rows === 0) {
    return {
      k, n, n1, seed, rows,
      rowStart: new Int32Array(1), rowCols: new Int32Array(0),
      colStart: new Int32Array(k + 1), colRows: new Int32Array(0),
      fallbackPlacements: 0, rowfixAdded: 0,
    };
  }
  // The PRNG state (RFC 5170 §5.7), one stream per build, kept in a local (prng.ts says why).
  let state = seed;
  const total = n1 * k;
  // colEntries[j*n1 + h]: the h-th row placed in source column j (exactly N1 per column).
  // Every element below `total` is written before it is read.
  const colEntries = scratchOf('colEntries', total);
  const u = scratchOf('u', total);
  // u[h] = h mod rows, counted rather than divided.
  for (let h = 0, r = 0; h < total; h++) {
    u[h] = r;
    if (++r === rows) r = 0;
  }

  let t = 0;
  let fallbackPlacements = 0;
  for (let j = 0; j < k; j++) {
    const base = j * n1;
    for (let h = 0; h < n1; h++) {
      // matrix_has_entry(row, j) only ever asks about the column being filled.
      let i = t;
      while (i < total && inColumn(colEntries, base, h, u[i]!)) i++;
      let row: number;
      if (i < total) {
        do {
          state = pmNext(state);
          i = t + pmScale(state, total - t);
        } while (inColumn(colEntries, base, h, u[i]!));
        row = u[i]!;
        u[i] = u[t]!;
        t++;
      } else {
        fallbackPlacements++;
        do {
          state = pmNext(state);
          row = pmScale(state, rows);
        } while (inColumn(colEntries, base, h, row));
      }
      colEntries[base + h] = row;
    }
  }

  // Row lists with room for the (at most two) fix-up entries per row. Columns go in ascending
  // order, so every list is sorted already; only a fixed-up row may need its two entries swapped.
  const degree = scratchOf('degree', rows).fill(0, 0, rows);
  for (let x = 0; x < total; x++) degree[colEntries[x]!]!++;
  const cap = scratchOf('cap', rows + 1);
  cap[0] = 0;
  for (let r = 0; r < rows; r++) cap[r + 1] = cap[r]! + degree[r]! + 2;
  // Only the filled part of each row's room is ever read.
  const rowBuf = scratchOf('rowBuf', cap[rows]!);
  const fill = scratchOf('fill', rows).fill(0, 0, rows);
  for (let j = 0; j < k; j++) {
    for (let h = 0; h < n1; h++) {
      const r = colEntries[j * n1 + h]!;
      rowBuf[cap[r]! + fill[r]!] = j;
      fill[r]!++;
    }
  }

  // Row fix-up: no row may keep fewer than two 1s (needed below code rate 2/(2+N1)). With k = 1
  // a second, different column does not exist, so the RFC loop would never end: skipped there.
  let rowfixAdded = 0;
  for (let r = 0; r < rows; r++) {
    if (fill[r] === 0) {
      state = pmNext(state);
      rowBuf[cap[r]!] = pmScale(state, k);
      fill[r] = 1;
      rowfixAdded++;
    }
    if (fill[r] === 1 && k > 1) {
      const existing = rowBuf[cap[r]!]!;
      let c: number;
      do {
        state = pmNext(state);
        c = pmScale(state, k);
      } while (c === existing);
      const at = cap[r]!;
      if (c < existing) {
        rowBuf[at] = c;
        rowBuf[at + 1] = existing;
      } else {
        rowBuf[at + 1] = c;
      }
      fill[r] = 2;
      rowfixAdded++;
    }
  }

  // Compress: rows (ascending by column), then the transposed (column) view.
  const rowStart = new Int32Array(rows + 1);
  for (let r = 0; r < rows; r++) rowStart[r + 1] = rowStart[r]! + fill[r]!;
  const nnz = rowStart[rows]!;
  const rowCols = new Int32Array(nnz);
  for (let r = 0, x = 0; r < rows; r++) {
    for (let y = cap[r]!, end = y + fill[r]!; y < end; y++) rowCols[x++] = rowBuf[y]!;
  }
  const colStart = new Int32Array(k + 1);
  for (let x = 0; x < nnz; x++) colStart[rowCols[x]! + 1]!++;
  for (let c = 0; c < k; c++) colStart[c + 1]! += colStart[c]!;
  const colRows = new Int32Array(nnz);
  const colFill = colStart.slice(0, k);
  for (let r = 0; r < rows; r++) {
    for (let x = rowStart[r]!; x < rowStart[r + 1]!; x++) {
      const c = rowCols[x]!;
      colRows[colFill[c]!] = r;
      colFill[c]!++;
    }
  }
  if (Math.max(total, cap[rows]!) > KEEP_SCRATCH) {
    for (const name of Object.keys(scratch) as Array<keyof typeof scratch>) scratch[name] = new Int32Array(0);
  }
  return { k, n, n1, seed, rows, rowStart, rowCols, colStart, colRows, fallbackPlacements, rowfixAdded };
}

function inColumn(colEntries: Int32Array, base: number, placed: number, row: number): boolean {
  for (let h = 0; h < placed; h++) if (colEntries[base + h] === row) return true;
  return false;
}

// Blocks of one object share (k, n) for all but one size, and every block re-seeds the PRNG
// with the same OTI seed, so the same matrix serves many blocks: keep the last few.
const CACHE_SIZE = 4;
const cache: LdpcMatrix[] = [];

/** buildMatrix with a small most-recently-used cache (matrices are immutable). */
export function matrixFor(k: number, n: number, n1: number, seed: number): LdpcMatrix {
  for (let i = 0; i < cache.length; i++) {
    const m = cache[i]!;
    if (m.k === k && m.n === n && m.n1 === n1 && m.seed === seed) {
      if (i > 0) {
        cache.splice(i, 1);
        cache.unshift(m);
      }
      return m;
    }
  }
  const m = buildMatrix(k, n, n1, seed);
  cache.unshift(m);
  if (cache.length > CACHE_SIZE) cache.pop();
  return m;
}
