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
const scratch = { u: new Int32Array(0), inColumn: new Int32Array(0), degree: new Int32Array(0), next: new Int32Array(0) };
const KEEP_SCRATCH = 1 << 20;

/** scratch[name] with room for `size` elements (contents stale). */
function scratchOf(name: keyof typeof scratch, size: number): Int32Array {
  if (scratch[name].length < size) scratch[name] = new Int32Array(size);
  return scratch[name];
}

/**
 * Build H for (k, n, N1, seed). Preconditions (checked by the scheme's OTI validation):
 * k ≥ 1, 1 ≤ N1 ≤ n − k, 1 ≤ seed ≤ 2^31−2, N1·k and n − k below 2^31 (pmScale's range; the OTI
 * allows k, n ≤ 2^20 and N1 ≤ 10). A block with n = k has no equations.
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
  // colEntries[j*n1 + h]: the h-th row placed in source column j (exactly N1 per column); it
  // becomes the matrix's column view, so it is the build's own array, not scratch.
  const colEntries = new Int32Array(total);
  const u = scratchOf('u', total);
  // u[h] = h mod rows, counted rather than divided.
  for (let h = 0, r = 0; h < total; h++) {
    u[h] = r;
    if (++r === rows) r = 0;
  }

  // matrix_has_entry(row, j) only ever asks about the column being filled: inColumn[row] === j + 1
  // when row already holds a 1 in column j.
  const inColumn = scratchOf('inColumn', rows).fill(0, 0, rows);
  // Ones per row, counted as they are placed (the row view's sizes).
  const degree = scratchOf('degree', rows).fill(0, 0, rows);
  // The RFC's scan for an admissible candidate in u[t ..) picks nothing: it only tells the draws
  // (which choose from all of u[t ..)) from the fallback. A row value appears at most ⌈N1·k / rows⌉
  // times in u, so while more candidates remain than h such rows can fill, one is admissible.
  const copies = Math.ceil(total / rows);
  let t = 0;
  let fallbackPlacements = 0;
  for (let y = 0, h = 0, stamp = 1; y < total; y++) {
    let draw = total - t > h * copies;
    if (!draw) {
      let i = t;
      while (i < total && inColumn[u[i]!] === stamp) i++;
      draw = i < total;
    }
    let row: number;
    if (draw) {
      let i: number;
      do {
        state = pmNext(state);
        i = t + pmScale(state, total - t);
        row = u[i]!;
      } while (inColumn[row] === stamp);
      u[i] = u[t]!;
      t++;
    } else {
      fallbackPlacements++;
      do {
        state = pmNext(state);
        row = pmScale(state, rows);
      } while (inColumn[row] === stamp);
    }
    inColumn[row] = stamp;
    degree[row]!++;
    colEntries[y] = row;
    if (++h === n1) {
      h = 0;
      stamp++;
    }
  }

  const rowfix = rowView(colEntries, degree, k, rows, n1, state);
  const { rowStart, rowCols } = rowfix;
  // Without fix-up entries column j's rows are exactly colEntries[j·N1 ..+N1): that is the column
  // view once each column is sorted. Fix-ups (rows left with < 2 ones: codes below rate ~2/(2+N1))
  // add entries, and then the rows are transposed.
  let colStart: Int32Array;
  let colRows: Int32Array;
  if (rowfix.added === 0) {
    colRows = colEntries;
    colStart = new Int32Array(k + 1);
    for (let j = 0; j < k; j++) colStart[j + 1] = (j + 1) * n1;
    if (n1 === 3) sortTriples(colRows, k);
    else for (let j = 0; j < k; j++) sortRun(colRows, j * n1, n1);
  } else {
    [colStart, colRows] = transpose(k, rows, rowStart, rowCols);
  }
  if (Math.max(total, rows) > KEEP_SCRATCH) {
    for (const name of Object.keys(scratch) as Array<keyof typeof scratch>) scratch[name] = new Int32Array(0);
  }
  return { k, n, n1, seed, rows, rowStart, rowCols, colStart, colRows, fallbackPlacements, rowfixAdded: rowfix.added };
}

/**
 * The compressed rows of the left side: the main loop's placements (column j's rows in
 * colEntries[j·N1 ..+N1)) counted into rows, then the RFC's row fix-up, which continues the PRNG
 * stream from `state`: no row may keep fewer than two 1s. Each row's room is sized for its fix-up
 * entries up front, and columns are placed in ascending order, so every row comes out sorted but for
 * a fixed-up row's two entries. With k = 1 a second, different column does not exist and the RFC
 * loop would never end: a row then gets one entry.
 */
function rowView(colEntries: Int32Array, degree: Int32Array, k: number, rows: number, n1: number, state: number): { rowStart: Int32Array; rowCols: Int32Array; added: number } {
  const rowStart = new Int32Array(rows + 1);
  const next = scratchOf('next', rows);
  let short = 0;
  for (let r = 0, at = 0; r < rows; r++) {
    const d = degree[r]!;
    next[r] = at;
    if (d < 2) short++;
    at += d >= 2 ? d : k > 1 ? 2 : 1;
    rowStart[r + 1] = at;
  }
  const rowCols = new Int32Array(rowStart[rows]!);
  for (let j = 0, y = 0; j < k; j++) {
    for (const end = y + n1; y < end; y++) rowCols[next[colEntries[y]!]!++] = j;
  }
  let added = 0;
  for (let r = 0; short > 0 && r < rows; r++) {
    if (degree[r]! >= 2) continue;
    short--;
    const at = rowStart[r]!;
    if (degree[r] === 0) {
      state = pmNext(state);
      rowCols[at] = pmScale(state, k);
      added++;
    }
    if (k === 1) continue;
    const existing = rowCols[at]!;
    let c: number;
    do {
      state = pmNext(state);
      c = pmScale(state, k);
    } while (c === existing);
    if (c < existing) {
      rowCols[at] = c;
      rowCols[at + 1] = existing;
    } else {
      rowCols[at + 1] = c;
    }
    added++;
  }
  return { rowStart, rowCols, added };
}

/** a[from ..+len) in ascending order (a column's N1 rows: a few elements). */
function sortRun(a: Int32Array, from: number, len: number): void {
  for (let x = from + 1, end = from + len; x < end; x++) {
    const v = a[x]!;
    let y = x - 1;
    while (y >= from && a[y]! > v) {
      a[y + 1] = a[y]!;
      y--;
    }
    a[y + 1] = v;
  }
}

/**
 * Each of the k triples a[3j ..+3) in ascending order, by a min/max network: the entries are random
 * rows, so an insertion sort's comparisons mispredict (k = 1000: 3.0 -> 1.75 us).
 */
function sortTriples(a: Int32Array, k: number): void {
  for (let x = 0, end = 3 * k; x < end; x += 3) {
    const p = a[x]!;
    const q = a[x + 1]!;
    const r = a[x + 2]!;
    const lo = Math.min(p, q);
    const hi = Math.max(p, q);
    a[x] = Math.min(lo, r);
    a[x + 1] = Math.max(lo, Math.min(hi, r));
    a[x + 2] = Math.max(hi, r);
  }
}

/** The column view of compressed rows: [colStart, colRows], each column's rows ascending. */
function transpose(k: number, rows: number, rowStart: Int32Array, rowCols: Int32Array): [Int32Array, Int32Array] {
  const nnz = rowStart[rows]!;
  const colStart = new Int32Array(k + 1);
  for (let z = 0; z < nnz; z++) colStart[rowCols[z]! + 1]!++;
  for (let c = 0; c < k; c++) colStart[c + 1]! += colStart[c]!;
  const colRows = new Int32Array(nnz);
  const colFill = colStart.slice(0, k);
  for (let r = 0; r < rows; r++) {
    for (let z = rowStart[r]!; z < rowStart[r + 1]!; z++) {
      const c = rowCols[z]!;
      colRows[colFill[c]!] = r;
      colFill[c]!++;
    }
  }
  return [colStart, colRows];
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
