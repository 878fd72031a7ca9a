// Maximum-likelihood decoding of LDPC-Staircase on the erasure channel (RFC 5170 §6.4 leaves the
// decoder free): structured Gaussian elimination with inactivation. Starting from the state where
// peeling stalled, keep peeling symbolically; when no equation has a single active unknown,
// inactivate one unknown (treat it as solved later) so peeling can go on. What remains is a small
// dense system in the inactivated unknowns only, solved by dense.ts. Then the symbol work:
//   A. pivot values with the inactivated unknowns taken as zero (the "constant" part),
//   B. right-hand sides of the dense equations into the inactivated unknowns' slots,
//   A'. undo A (the same records in reverse order) so pivot slots are zero again,
//   D. the dense row operations on those right-hand sides (inactivated values are then final),
//   C. back-substitution: every pivot from its full equation, in pivot order.
// It succeeds exactly when the received symbols determine every unknown (H restricted to the
// unknown columns has full column rank): ML-optimal.
import type { ProgramBuilder } from './executor.js';
import type { LdpcMatrix } from './matrix.js';
import { solveDense } from './dense.js';

/** Per-column marks while eliminating. */
const KNOWN = 0;
const ACTIVE = 1;
const PIVOT = 2;
const INACTIVE = 3;

/** What the decoder hands over: which columns are known and, per row, its unknowns. */
export interface PeelState {
  /** 1 when column (ESI) j is known. */
  readonly known: Uint8Array;
  /** Unknown columns per row. */
  readonly count: Int32Array;
  /** XOR of the unknown column indices per row (the unknown itself when count = 1). */
  readonly acc: Int32Array;
}

/**
 * Try ML decoding. On success appends the records that compute every unknown to `out` and
 * returns 0; otherwise appends nothing and returns a lower bound (≥ 1) on how many more
 * independent symbols are needed (the rank deficiency, or the equation shortfall).
 */
export function decodeMl(m: LdpcMatrix, st: PeelState, out: ProgramBuilder): number {
  const { k, n, rows, colStart, colRows } = m;
  const mark = new Uint8Array(n);
  let unknowns = 0;
  for (let c = 0; c < n; c++) {
    mark[c] = st.known[c] === 0 ? ACTIVE : KNOWN;
    if (mark[c] === ACTIVE) unknowns++;
  }
  const count = st.count.slice();
  const acc = st.acc.slice();
  const used = new Uint8Array(rows);
  const liveRows: number[] = [];
  for (let r = 0; r < rows; r++) if (count[r]! > 0) liveRows.push(r);
  if (liveRows.length < unknowns) return unknowns - liveRows.length;

  const pivotCol = new Int32Array(unknowns);
  const pivotRow = new Int32Array(unknowns);
  const pivotIndex = new Int32Array(n);
  let np = 0;
  const inactCol = new Int32Array(unknowns);
  const inactIndex = new Int32Array(n);
  let ni = 0;
  const queue = new Int32Array(rows);
  let qh = 0;
  let qt = 0;

  // Remove column c from the active unknowns of every unused row.
  const retire = (c: number): void => {
    if (c < k) {
      for (let x = colStart[c]!; x < colStart[c + 1]!; x++) drop(colRows[x]!, c);
    } else {
      drop(c - k, c);
      if (c - k + 1 < rows) drop(c - k + 1, c);
    }
  };
  const drop = (r: number, c: number): void => {
    if (used[r] === 1) return;
    count[r]!--;
    acc[r]! ^= c;
    if (count[r] === 1) queue[qt++] = r;
  };

  let active = unknowns;
  while (active > 0) {
    while (qh < qt) {
      const r = queue[qh++]!;
      if (used[r] === 1 || count[r] !== 1) continue;
      const p = acc[r]!;
      used[r] = 1;
      mark[p] = PIVOT;
      pivotIndex[p] = np;
      pivotCol[np] = p;
      pivotRow[np] = r;
      np++;
      active--;
      retire(p);
    }
    if (active === 0) break;
    // Stalled: inactivate the best-connected active unknown of a lightest equation.
    let best = -1;
    let bestCount = Infinity;
    for (const r of liveRows) {
      const cr = count[r]!;
      if (used[r] === 0 && cr >= 2 && cr < bestCount) {
        best = r;
        bestCount = cr;
        if (cr === 2) break;
      }
    }
    if (best < 0) return active;
    qh = 0;
    qt = 0;
    const victim = heaviestActive(m, mark, best);
    mark[victim] = INACTIVE;
    inactIndex[victim] = ni;
    inactCol[ni++] = victim;
    active--;
    retire(victim);
  }

  // Leftover equations: live rows that did not become pivots. They involve only pivots and
  // inactivated unknowns; substituting the pivots gives the dense system.
  const leftover: number[] = [];
  for (const r of liveRows) if (used[r] === 0) leftover.push(r);
  if (leftover.length < ni) return ni - leftover.length;
  const w = (ni + 31) >>> 5;
  const pivotBits = new Uint32Array(np * w);
  for (let i = 0; i < np; i++) {
    rowBits(m, mark, inactIndex, pivotIndex, pivotBits, w, pivotRow[i]!, pivotCol[i]!, pivotBits, i * w);
  }
  const dense = new Uint32Array(leftover.length * w);
  for (let e = 0; e < leftover.length; e++) {
    rowBits(m, mark, inactIndex, pivotIndex, pivotBits, w, leftover[e]!, -1, dense, e * w);
  }
  const sol = solveDense(dense, leftover.length, ni);
  if (sol.rank < ni) return ni - sol.rank;

  // Symbol work, as records.
  const recordsA = out.length;
  for (let i = 0; i < np; i++) emitRow(out, m, mark, pivotRow[i]!, pivotCol[i]!, false);
  const endA = out.length;
  const colOfRow = new Int32Array(leftover.length).fill(-1);
  for (let i = 0; i < ni; i++) {
    const e = sol.rowOfCol[i]!;
    colOfRow[e] = inactCol[i]!;
    emitRow(out, m, mark, leftover[e]!, inactCol[i]!, false);
  }
  undo(out, recordsA, endA);
  const ops = sol.ops;
  out.reserve((ops.length >>> 1) * 3);
  for (let x = 0; x < ops.length; x += 2) {
    out.push(colOfRow[ops[x]!]!);
    out.push(1);
    out.push(colOfRow[ops[x + 1]!]!);
  }
  for (let i = 0; i < np; i++) emitRow(out, m, mark, pivotRow[i]!, pivotCol[i]!, true);
  return 0;
}

/** The active unknown of row r with the most equations (inactivating it helps most). */
function heaviestActive(m: LdpcMatrix, mark: Uint8Array, r: number): number {
  const { k, rows, rowStart, rowCols, colStart } = m;
  let best = -1;
  let bestDeg = -1;
  for (let x = rowStart[r]!; x < rowStart[r + 1]!; x++) {
    const c = rowCols[x]!;
    const deg = colStart[c + 1]! - colStart[c]!;
    if (mark[c] === ACTIVE && deg > bestDeg) {
      best = c;
      bestDeg = deg;
    }
  }
  const stairs = r > 0 ? [k + r, k + r - 1] : [k + r];
  for (const c of stairs) {
    const deg = c - k + 1 < rows ? 2 : 1;
    if (mark[c] === ACTIVE && deg > bestDeg) {
      best = c;
      bestDeg = deg;
    }
  }
  return best;
}

/**
 * Bits (over the inactivated unknowns) of row r with pivots substituted, skipping column `self`
 * (the pivot the row defines, or −1 for a leftover equation); written to target[at .. at+w).
 */
function rowBits(
  m: LdpcMatrix, mark: Uint8Array, inactIndex: Int32Array, pivotIndex: Int32Array,
  pivotBits: Uint32Array, w: number, r: number, self: number, target: Uint32Array, at: number,
): void {
  const { k, rowStart, rowCols } = m;
  const visit = (c: number): void => {
    if (c === self) return;
    const mk = mark[c];
    if (mk === INACTIVE) {
      const i = inactIndex[c]!;
      target[at + (i >>> 5)]! ^= 1 << (i & 31);
    } else if (mk === PIVOT) {
      const from = pivotIndex[c]! * w;
      for (let x = 0; x < w; x++) target[at + x]! ^= pivotBits[from + x]!;
    }
  };
  for (let x = rowStart[r]!; x < rowStart[r + 1]!; x++) visit(rowCols[x]!);
  visit(k + r);
  if (r > 0) visit(k + r - 1);
}

/**
 * Record [dst, m, ...] from row r: every column of the row except `dst`, except inactivated
 * unknowns unless `withInactive`. (Known and pivot columns always.)
 */
function emitRow(out: ProgramBuilder, m: LdpcMatrix, mark: Uint8Array, r: number, dst: number, withInactive: boolean): void {
  const { k, rowStart, rowCols } = m;
  const a = rowStart[r]!;
  const b = rowStart[r + 1]!;
  out.reserve(b - a + 4);
  const head = out.length;
  out.push(dst);
  out.push(0);
  let cnt = 0;
  const add = (c: number): void => {
    if (c === dst) return;
    if (mark[c] === INACTIVE && !withInactive) return;
    out.push(c);
    cnt++;
  };
  for (let x = a; x < b; x++) add(rowCols[x]!);
  add(k + r);
  if (r > 0) add(k + r - 1);
  out.buf[head + 1] = cnt;
}

/** Append the records of out[from, to) again in reverse record order (each record is its own inverse). */
function undo(out: ProgramBuilder, from: number, to: number): void {
  const starts: number[] = [];
  for (let p = from; p < to; p += 2 + out.buf[p + 1]!) starts.push(p);
  out.reserve(to - from);
  for (let i = starts.length - 1; i >= 0; i--) {
    const s = starts[i]!;
    const len = 2 + out.buf[s + 1]!;
    for (let x = 0; x < len; x++) out.push(out.buf[s + x]!);
  }
}
