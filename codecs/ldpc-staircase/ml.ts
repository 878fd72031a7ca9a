// Maximum-likelihood decoding of LDPC-Staircase on the erasure channel (RFC 5170 §6.4 leaves the
// decoder free): structured Gaussian elimination with inactivation. Starting from the state where
// peeling stalled, keep peeling symbolically; when no equation has a single active unknown,
// inactivate one unknown (solved later, in the dense core) so that peeling goes on. What remains
// is a small dense system in the inactivated unknowns only, solved by dense.ts. Then the symbol
// work, as program records:
//   A. pivot values with the inactivated unknowns taken as zero (the "constant" part),
//   B. right-hand sides of the dense equations into the inactivated unknowns' slots,
//   D. the dense row operations on those right-hand sides (inactivated values are then final),
//      regrouped into one record per row and direction (emitDenseOps),
//   then, for each pivot, whichever of these two finishes it with fewer symbol XORs:
//   C1. add to the pivot the inactivated values it depends on (its row of the substitution), or
//   C2. undo its A record (pivots in reverse order, so its slot is zero again), then
//       back-substitute it from its full equation, in pivot order.
// It succeeds exactly when the received symbols determine every unknown (H restricted to the
// unknown columns has full column rank): ML-optimal.
import type { ProgramBuilder } from './executor.js';
import type { LdpcMatrix } from './matrix.js';
import { solveDense, type DenseSolution } from './dense.js';

/** Per-column marks while eliminating. */
const KNOWN = 0;
const ACTIVE = 1;
const PIVOT = 2;
const INACTIVE = 3;

/**
 * Dense systems above this many inactivated unknowns cost too much time and memory (it grows as
 * its square); they only arise in very large blocks under heavy loss. ML then waits for more
 * symbols (1/16 of that count) before it tries again: the one place where it is not exact.
 */
export const MAX_INACTIVE = 8192;

/** What the decoder hands over: which columns are known and, per row, its unknowns. */
export interface PeelState {
  /** 1 when column (ESI) j is known. */
  readonly known: Uint8Array;
  /** Unknown columns per row. */
  readonly count: Int32Array;
  /** XOR of the unknown column indices per row (the unknown itself when count = 1). */
  readonly acc: Int32Array;
}

/** Result of the symbolic elimination: pivots in order, inactivated unknowns, leftover rows. */
interface Elimination {
  readonly mark: Uint8Array;
  readonly pivotCol: Int32Array;
  readonly pivotRow: Int32Array;
  readonly pivotIndex: Int32Array;
  readonly np: number;
  readonly inactCol: Int32Array;
  readonly inactIndex: Int32Array;
  readonly ni: number;
  readonly leftover: Int32Array;
}

/**
 * The solutions of the homogeneous system left when ML fails for rank deficiency d ≤ 32: per
 * unknown column that some solution sets, bit t = its value in basis solution t. A new symbol
 * raises the rank (by exactly one) iff its column is among them, so the decoder can tell exactly
 * when the rank becomes full instead of retrying after every d symbols.
 */
export interface NullSpace {
  readonly dim: number;
  readonly cols: Int32Array;
  readonly bits: Int32Array;
}

/** Basis solutions tracked in one 32-bit word per column. */
const MAX_NULL_DIM = 32;

/**
 * Try ML decoding. On success appends the records that compute every unknown to `out` and
 * returns 0; otherwise appends nothing and returns a lower bound (≥ 1) on how many more
 * independent symbols are needed (the rank deficiency, or the equation shortfall). When that is
 * the exact rank deficiency d ≤ 32, `onNull` receives the solution space.
 */
export function decodeMl(m: LdpcMatrix, st: PeelState, out: ProgramBuilder, onNull?: (ns: NullSpace) => void): number {
  const el = eliminate(m, st);
  if (typeof el === 'number') return el;
  const { np, ni, leftover } = el;
  if (leftover.length < ni) return ni - leftover.length;
  const w = (ni + 31) >>> 5;
  const pivotBits = new Uint32Array(np * w);
  for (let i = 0; i < np; i++) rowBits(m, el, pivotBits, w, el.pivotRow[i]!, el.pivotCol[i]!, pivotBits, i * w);
  const dense = new Uint32Array(leftover.length * w);
  for (let e = 0; e < leftover.length; e++) rowBits(m, el, pivotBits, w, leftover[e]!, -1, dense, e * w);
  const sol = solveDense(dense, leftover.length, ni);
  if (sol.rank < ni) {
    if (onNull !== undefined && ni - sol.rank <= MAX_NULL_DIM) onNull(nullSpace(m, el, pivotBits, w));
    return ni - sol.rank;
  }

  // A, B, D, then C1 or C2 per pivot (see the top of the file).
  const startA = new Int32Array(np);
  for (let i = 0; i < np; i++) {
    startA[i] = out.length;
    emitRow(out, m, el.mark, el.pivotRow[i]!, el.pivotCol[i]!, false);
  }
  const colOfRow = new Int32Array(leftover.length);
  for (let i = 0; i < ni; i++) {
    const e = sol.rowOfCol[i]!;
    colOfRow[e] = el.inactCol[i]!;
    emitRow(out, m, el.mark, leftover[e]!, el.inactCol[i]!, false);
  }
  emitDenseOps(out, sol, colOfRow);
  const redo = chooseRedo(m, el, pivotBits, w, out.buf, startA);
  // C2's undo runs first, while every pivot slot still holds its A value; C1 needs only the
  // inactivated values; C2's redo reads earlier pivots, which are final by then (C1 or redone).
  appendUndo(out, startA, redo);
  for (let i = 0; i < np; i++) if (redo[i] === 0) emitSubstitution(out, el, pivotBits, i, w);
  for (let i = 0; i < np; i++) if (redo[i] === 1) emitRow(out, m, el.mark, el.pivotRow[i]!, el.pivotCol[i]!, true);
  return 0;
}

/**
 * The solution space from the failed attempt. The dense rows again, fully reduced (solveDense
 * skips words left of each pivot, so its free columns are not kept reduced): basis solution t
 * sets free column f_t and each pivot column the bit f_t of its row; a peeled pivot is its row's
 * combination of inactivated unknowns (known columns being 0).
 */
function nullSpace(m: LdpcMatrix, el: Elimination, pivotBits: Uint32Array, w: number): NullSpace {
  const { ni, np, leftover } = el;
  const rows = leftover.length;
  const a = new Uint32Array(rows * w);
  for (let e = 0; e < rows; e++) rowBits(m, el, pivotBits, w, leftover[e]!, -1, a, e * w);
  const rowOfCol = new Int32Array(ni).fill(-1);
  const used = new Uint8Array(rows);
  for (let c = 0; c < ni; c++) {
    const word = c >>> 5;
    const bit = 1 << (c & 31);
    let p = 0;
    while (p < rows && (used[p] === 1 || (a[p * w + word]! & bit) === 0)) p++;
    if (p === rows) continue;
    used[p] = 1;
    rowOfCol[c] = p;
    for (let r = 0; r < rows; r++) {
      if (r === p || (a[r * w + word]! & bit) === 0) continue;
      for (let x = 0; x < w; x++) a[r * w + x] ^= a[p * w + x]!;
    }
  }
  const inact = new Int32Array(ni);
  let t = 0;
  for (let f = 0; f < ni; f++) {
    if (rowOfCol[f]! >= 0) continue;
    const bit = 1 << t++;
    inact[f]! |= bit;
    for (let c = 0; c < ni; c++) {
      const r = rowOfCol[c]!;
      if (r >= 0 && ((a[r * w + (f >>> 5)]! >>> (f & 31)) & 1) !== 0) inact[c]! |= bit;
    }
  }
  const cols: number[] = [];
  const bits: number[] = [];
  for (let i = 0; i < ni; i++) {
    if (inact[i] === 0) continue;
    cols.push(el.inactCol[i]!);
    bits.push(inact[i]!);
  }
  for (let p = 0; p < np; p++) {
    let v = 0;
    for (let y = 0; y < w; y++) {
      for (let b = pivotBits[p * w + y]!; b !== 0; b &= b - 1) v ^= inact[y * 32 + (31 - Math.clz32(b & -b))]!;
    }
    if (v === 0) continue;
    cols.push(el.pivotCol[p]!);
    bits.push(v);
  }
  return { dim: t, cols: Int32Array.from(cols), bits: Int32Array.from(bits) };
}

/**
 * Per pivot, the cheaper way to finish it: C1 costs its substitution row's weight, C2 its A
 * record twice (undo, redo) plus its inactivated unknowns. Each pivot's choice is independent of
 * the others' (see decodeMl's order), so picking the cheaper one per pivot is optimal. 1 = C2.
 */
function chooseRedo(m: LdpcMatrix, el: Elimination, pivotBits: Uint32Array, w: number, program: Uint32Array, startA: Int32Array): Uint8Array {
  const { k, rowStart, rowCols } = m;
  const redo = new Uint8Array(el.np);
  for (let i = 0; i < el.np; i++) {
    let c1 = 0;
    for (let y = i * w; y < (i + 1) * w; y++) c1 += popcount(pivotBits[y]!);
    if (c1 === 0) continue;
    const r = el.pivotRow[i]!;
    let inactive = el.mark[k + r] === INACTIVE ? 1 : 0;
    if (r > 0 && el.mark[k + r - 1] === INACTIVE) inactive++;
    for (let x = rowStart[r]!; x < rowStart[r + 1]!; x++) if (el.mark[rowCols[x]!] === INACTIVE) inactive++;
    if (2 * program[startA[i]! + 1]! + inactive < c1) redo[i] = 1;
  }
  return redo;
}

/**
 * D as multi-source records. dense.ts's Gauss–Jordan operations "row dst ^= row src" come in
 * column order, and row src is the pivot of the current column. Split them by pivot order:
 *   forward (dst becomes a pivot after src): when src turns pivot its right-hand side y_src is
 *     final for elimination, so dst's value is b_dst ^ (the y_src of its forward sources);
 *   backward (dst was a pivot before src): dst's value ends as y_dst ^ (the y_src of its
 *     backward sources), every one of them a later pivot.
 * So one record per row with its forward sources, in pivot order (its sources are done), then one
 * per row with its backward sources, again in pivot order (their slots still hold y, not yet
 * their own backward sum). Same XORs as the pairs, but each pass over a symbol takes up to eight.
 */
function emitDenseOps(out: ProgramBuilder, sol: DenseSolution, colOfRow: Int32Array): void {
  const { ops, rowOfCol } = sol;
  const ni = rowOfCol.length;
  const rows = colOfRow.length;
  const order = new Int32Array(rows); // position in pivot order (rows that never pivot have no ops)
  for (let c = 0; c < ni; c++) order[rowOfCol[c]!] = c;
  // Sources per (row, direction) in one flat array: slot 2·row is forward, 2·row+1 backward.
  const start = new Int32Array(2 * rows + 1);
  for (let x = 0; x < ops.length; x += 2) {
    const d = ops[x]!;
    start[2 * d + (order[d]! > order[ops[x + 1]!]! ? 0 : 1) + 1]!++;
  }
  for (let i = 0; i < 2 * rows; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, 2 * rows);
  const srcs = new Int32Array(ops.length >>> 1);
  for (let x = 0; x < ops.length; x += 2) {
    const d = ops[x]!;
    const g = 2 * d + (order[d]! > order[ops[x + 1]!]! ? 0 : 1);
    srcs[fill[g]!++] = ops[x + 1]!;
  }
  out.reserve(srcs.length + 4 * ni);
  const buf = out.buf;
  let p = out.length;
  for (let dir = 0; dir < 2; dir++) {
    for (let c = 0; c < ni; c++) {
      const row = rowOfCol[c]!;
      const a = start[2 * row + dir]!;
      const b = start[2 * row + dir + 1]!;
      if (a === b) continue;
      buf[p++] = colOfRow[row]!;
      buf[p++] = b - a;
      for (let x = a; x < b; x++) buf[p++] = colOfRow[srcs[x]!]!;
    }
  }
  out.length = p;
}

/** Peel with inactivation until every unknown is a pivot or inactivated; or a shortfall. */
function eliminate(m: LdpcMatrix, st: PeelState): Elimination | number {
  const { k, n, rows, colStart, colRows } = m;
  const mark = new Uint8Array(n);
  let unknowns = 0;
  for (let c = 0; c < n; c++) {
    const a = st.known[c] === 0;
    mark[c] = a ? ACTIVE : KNOWN;
    if (a) unknowns++;
  }
  const count = st.count.slice();
  const acc = st.acc.slice();
  let live = 0;
  for (let r = 0; r < rows; r++) if (count[r]! > 0) live++;
  if (live < unknowns) return unknowns - live;

  const used = new Uint8Array(rows);
  const pivotCol = new Int32Array(unknowns);
  const pivotRow = new Int32Array(unknowns);
  const pivotIndex = new Int32Array(n);
  const inactCol = new Int32Array(unknowns);
  const inactIndex = new Int32Array(n);
  let np = 0;
  let ni = 0;
  // Rows that reached one active unknown (to pivot); unknowns by their two-unknown rows.
  const ones = new Int32Array(rows);
  let nOnes = 0;
  const pairs = new PairDegreeQueue(m);
  for (let r = 0; r < rows; r++) if (count[r] === 2) pairs.addRow(m, mark, r);
  let active = unknowns;
  let victim = -1;
  while (active > 0) {
    if (victim < 0) {
      // Stalled: inactivate the unknown in most two-unknown equations, so they all peel; with
      // none left, an unknown of an equation with the fewest unknowns.
      victim = pairs.max();
      if (victim < 0) {
        const row = lightestRow(count, used);
        if (row < 0) return active;
        victim = heaviestActive(m, mark, row);
      }
      if (ni === MAX_INACTIVE) return MAX_INACTIVE >>> 4;
      mark[victim] = INACTIVE;
      inactIndex[victim] = ni;
      inactCol[ni++] = victim;
    } else {
      mark[victim] = PIVOT;
      pivotIndex[victim] = np;
      pivotCol[np++] = victim;
    }
    pairs.remove(victim);
    active--;
    // Remove the victim from the active unknowns of every unused row containing it.
    const c = victim;
    const src = c < k;
    const end = src ? colStart[c + 1]! : Math.min(c - k + 2, rows);
    for (let x = src ? colStart[c]! : c - k; x < end; x++) {
      const r = src ? colRows[x]! : x;
      if (used[r] === 1) continue;
      const left = --count[r]!;
      acc[r]! ^= c;
      if (left === 1) {
        ones[nOnes++] = r;
        pairs.change(acc[r]!, -1); // the row's other unknown leaves its two-unknown rows
      } else if (left === 2) {
        pairs.addRow(m, mark, r);
      }
    }
    victim = -1;
    while (nOnes > 0) {
      const r = ones[--nOnes]!;
      if (used[r] === 1 || count[r] !== 1) continue;
      used[r] = 1;
      pivotRow[np] = r;
      victim = acc[r]!;
      break;
    }
  }
  let nLeft = 0;
  const leftover = new Int32Array(rows);
  for (let r = 0; r < rows; r++) if (used[r] === 0 && st.count[r]! > 0) leftover[nLeft++] = r;
  return { mark, pivotCol, pivotRow, pivotIndex, np, inactCol, inactIndex, ni, leftover: leftover.subarray(0, nLeft) };
}

/**
 * Active unknowns keyed by d2, the number of unused equations with exactly two active unknowns
 * that contain them. Inactivating the unknown with the largest d2 lets all those equations peel
 * at once: measured at k = 10000, N1 = 5, 2% overhead, 14% fewer inactivated unknowns than an
 * unknown of the latest two-unknown equation (so ~26% less dense work, which grows as their
 * square). Buckets of doubly linked lists: O(1) per change.
 */
class PairDegreeQueue {
  private readonly d2: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly head: Int32Array;
  private top = 0;

  constructor(m: LdpcMatrix) {
    let maxDegree = 2;
    for (let c = 0; c < m.k; c++) maxDegree = Math.max(maxDegree, m.colStart[c + 1]! - m.colStart[c]!);
    this.d2 = new Int32Array(m.n);
    this.next = new Int32Array(m.n);
    this.prev = new Int32Array(m.n);
    this.head = new Int32Array(maxDegree + 1).fill(-1);
  }

  /** Row r now has exactly two active unknowns: count it for both. */
  addRow(m: LdpcMatrix, mark: Uint8Array, r: number): void {
    const { k, rowStart, rowCols } = m;
    for (let x = rowStart[r]!; x < rowStart[r + 1]!; x++) if (mark[rowCols[x]!] === ACTIVE) this.change(rowCols[x]!, 1);
    if (mark[k + r] === ACTIVE) this.change(k + r, 1);
    if (r > 0 && mark[k + r - 1] === ACTIVE) this.change(k + r - 1, 1);
  }

  change(c: number, delta: 1 | -1): void {
    const v = this.d2[c]!;
    if (v > 0) this.unlink(c, v);
    this.d2[c] = v + delta;
    if (v + delta > 0) this.link(c, v + delta);
  }

  /** c is no longer active. */
  remove(c: number): void {
    const v = this.d2[c]!;
    if (v > 0) this.unlink(c, v);
    this.d2[c] = 0;
  }

  /** An unknown with the largest d2 (≥ 1), or −1. */
  max(): number {
    while (this.top > 0 && this.head[this.top]! < 0) this.top--;
    return this.top > 0 ? this.head[this.top]! : -1;
  }

  private link(c: number, v: number): void {
    const h = this.head[v]!;
    this.next[c] = h;
    this.prev[c] = -1;
    if (h >= 0) this.prev[h] = c;
    this.head[v] = c;
    if (v > this.top) this.top = v;
  }

  private unlink(c: number, v: number): void {
    const a = this.prev[c]!;
    const b = this.next[c]!;
    if (a >= 0) this.next[a] = b;
    else this.head[v] = b;
    if (b >= 0) this.prev[b] = a;
  }
}

/** The unused row with the fewest (≥ 2) active unknowns, or −1. */
function lightestRow(count: Int32Array, used: Uint8Array): number {
  let best = -1;
  let bestCount = 0x7fffffff;
  for (let r = 0; r < count.length; r++) {
    const c = count[r]!;
    if (used[r] === 0 && c >= 2 && c < bestCount) {
      best = r;
      bestCount = c;
    }
  }
  return best;
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
  // Staircase columns: k+r (rows r, r+1) and k+r−1 (rows r−1, r).
  const stairDeg = r + 1 < rows ? 2 : 1;
  if (mark[k + r] === ACTIVE && stairDeg > bestDeg) {
    best = k + r;
    bestDeg = stairDeg;
  }
  if (r > 0 && mark[k + r - 1] === ACTIVE && 2 > bestDeg) best = k + r - 1;
  return best;
}

/**
 * Bits (over the inactivated unknowns) of row r with pivots substituted, skipping column `self`
 * (the pivot the row defines, or −1 for a leftover equation); XORed into target[at .. at+w).
 */
function rowBits(m: LdpcMatrix, el: Elimination, pivotBits: Uint32Array, w: number, r: number, self: number, target: Uint32Array, at: number): void {
  const { k, rowStart, rowCols } = m;
  const { mark, inactIndex, pivotIndex } = el;
  const a = rowStart[r]!;
  const b = rowStart[r + 1]!;
  const last = r > 0 ? b + 2 : b + 1;
  for (let x = a; x < last; x++) {
    // Source columns, then the staircase columns k+r and k+r−1.
    const c = x < b ? rowCols[x]! : x === b ? k + r : k + r - 1;
    if (c === self) continue;
    const mk = mark[c];
    if (mk === INACTIVE) {
      const i = inactIndex[c]!;
      target[at + (i >>> 5)]! ^= 1 << (i & 31);
    } else if (mk === PIVOT) {
      const from = pivotIndex[c]! * w;
      for (let y = 0; y < w; y++) target[at + y]! ^= pivotBits[from + y]!;
    }
  }
}

/**
 * Record [dst, m, ...] from row r: every column of the row except `dst` and, unless
 * `withInactive`, except inactivated unknowns.
 */
function emitRow(out: ProgramBuilder, m: LdpcMatrix, mark: Uint8Array, r: number, dst: number, withInactive: boolean): void {
  const { k, rowStart, rowCols } = m;
  const a = rowStart[r]!;
  const b = rowStart[r + 1]!;
  out.reserve(b - a + 4);
  const buf = out.buf;
  const head = out.length;
  let p = head + 2;
  const last = r > 0 ? b + 2 : b + 1;
  for (let x = a; x < last; x++) {
    const c = x < b ? rowCols[x]! : x === b ? k + r : k + r - 1;
    if (c === dst || (!withInactive && mark[c] === INACTIVE)) continue;
    buf[p++] = c;
  }
  buf[head] = dst;
  buf[head + 1] = p - head - 2;
  out.length = p;
}

function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Record [pivot i, inactivated unknowns set in its substitution row]: constant → final value. */
function emitSubstitution(out: ProgramBuilder, el: Elimination, pivotBits: Uint32Array, i: number, w: number): void {
  out.reserve(2 + w * 32);
  const buf = out.buf;
  const head = out.length;
  let p = head + 2;
  for (let y = 0; y < w; y++) {
    let v = pivotBits[i * w + y]!;
    while (v !== 0) {
      const bit = 31 - Math.clz32(v & -v);
      buf[p++] = el.inactCol[y * 32 + bit]!;
      v &= v - 1;
    }
  }
  if (p === head + 2) return;
  buf[head] = el.pivotCol[i]!;
  buf[head + 1] = p - head - 2;
  out.length = p;
}

/** Append the A records of the pivots to redo again, last pivot first (each undoes itself). */
function appendUndo(out: ProgramBuilder, startA: Int32Array, redo: Uint8Array): void {
  for (let i = startA.length - 1; i >= 0; i--) {
    if (redo[i] === 0) continue;
    const s = startA[i]!;
    const len = 2 + out.buf[s + 1]!;
    out.reserve(len);
    out.buf.copyWithin(out.length, s, s + len);
    out.length += len;
  }
}
