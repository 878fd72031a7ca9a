// RFC 5170 §6.3: LDPC-Staircase encoding. Repair ESI k+r = (source symbols of row r) XOR
// (repair ESI k+r−1 when r ≥ 1), produced in ESI order as the RFC requires. The symbolic part
// is one program (`encodeProgram`) over the block arena; an executor runs it. The pure
// TypeScript path skips the arena when it can: encodeRows64 reads the caller's source symbols
// in place and writes only the repair symbols.
import { LocalProtocolError } from '../../src/errors.js';
import type { BlockEncoder, SourceBlock } from '../types.js';
import { tsExecutor, type SymbolExecutor } from './executor.js';
import type { LdpcMatrix } from './matrix.js';

/** One record per repair symbol, in ESI order: [k+r, m, row r's source columns, k+r−1]. */
export function encodeProgram(m: LdpcMatrix): Uint32Array {
  const { k, rows, rowStart, rowCols } = m;
  const program = new Uint32Array(rowStart[rows]! + 3 * rows);
  let p = 0;
  for (let r = 0; r < rows; r++) {
    const a = rowStart[r]!;
    const b = rowStart[r + 1]!;
    program[p++] = k + r;
    program[p++] = b - a + (r > 0 ? 1 : 0);
    for (let x = a; x < b; x++) program[p++] = rowCols[x]!;
    if (r > 0) program[p++] = k + r - 1;
  }
  return program.subarray(0, p);
}

/**
 * Encode a whole block in one arena of n·E bytes: source symbols [0, k·E) (the caller's bytes,
 * zero-padded), repair symbols after them. Returns the arena.
 */
export function encodeArena(m: LdpcMatrix, symbolSize: number, source: Uint8Array, executor: SymbolExecutor): Uint8Array {
  const arena = new Uint8Array(m.n * symbolSize);
  arena.set(source);
  const program = encodeProgram(m);
  executor.run(arena, symbolSize, program, program.length);
  return arena;
}

/**
 * The n−k repair symbols of a block, in ESI order, into `out` ((n−k)·E bytes; allocated when
 * absent, and its old contents do not matter) from `source` (the block's bytes, k·E or shorter by
 * the last symbol's padding). Returns `out`.
 */
export function encodeRepair(m: LdpcMatrix, symbolSize: number, source: Uint8Array, executor: SymbolExecutor, out?: Uint8Array): Uint8Array {
  const e = symbolSize;
  const repair = out ?? new Uint8Array(m.rows * e);
  if (repair.length !== m.rows * e) {
    throw new LocalProtocolError('FEC_SYMBOL_SIZE', `repair buffer of ${repair.length} bytes, expected ${m.rows * e}`);
  }
  if (m.rows === 0) return repair;
  const direct = executor === tsExecutor && (e & 7) === 0 && source.length === m.k * e;
  if (direct && (source.byteOffset & 7) === 0 && (repair.byteOffset & 7) === 0) {
    const w = e >>> 3;
    encodeRows64(m, w, new BigUint64Array(source.buffer, source.byteOffset, m.k * w), new BigUint64Array(repair.buffer, repair.byteOffset, m.rows * w));
  } else {
    repair.set(encodeArena(m, e, source, executor).subarray(m.k * e));
  }
  return repair;
}

/**
 * Repair symbols straight from the source symbols, 64-bit words (tsExecutor explains why). Row r
 * (r ≥ 1) starts with one pass that assigns the previous repair symbol XOR up to ten of its
 * source symbols, so `o` needs no zeroing and a row takes one pass over its repair symbol when it
 * has at most ten sources: RFC 5170 §6.2 spreads the k·N1 ones evenly over the n−k rows, so at
 * n = 1.5k a row has 2·N1 of them, one pass for N1 = 3..5 (six measured 20-25% faster than a first
 * pass of two; ten instead of six+four 10-15% faster at k = 10000, N1 = 5). Further sources follow
 * eight, four, two, one per pass. Row 0 has no previous symbol: zeroed, then all passes.
 * The loops are bound by instructions, not memory (V8 checks every typed-array index), so every
 * index is `(x + i) | 0`: a wrapping 32-bit add, where `x + i` carries an overflow check; and the
 * six- and ten-source passes (N1 = 3 and 5 at n = 1.5k) take two words per turn (k = 1000, N1 = 3:
 * 206-216 -> 187-193 us; k = 10000, N1 = 5: 3.30-3.43 -> 3.02-3.13 ms), with one index walking the
 * repair symbol and each source an offset from it, which keeps one value fewer live across the
 * loop (fewer spills: 194-208 -> 181-207 us). A BigInt word must go straight from loads into a
 * store: held in a local across statements it is boxed (12x slower).
 */
function encodeRows64(m: LdpcMatrix, w: number, s: BigUint64Array, o: BigUint64Array): void {
  const { rows, rowStart, rowCols } = m;
  for (let r = 0; r < rows; r++) {
    const d = r * w;
    let x = rowStart[r]!;
    const end = rowStart[r + 1]!;
    if (r === 0) o.fill(0n, 0, w);
    else x = firstPass(rowCols, x, Math.min(end - x, 10), w, s, o, d);
    for (; x + 8 <= end; x += 8) {
      const a0 = rowCols[x]! * w, a1 = rowCols[x + 1]! * w, a2 = rowCols[x + 2]! * w, a3 = rowCols[x + 3]! * w;
      const a4 = rowCols[x + 4]! * w, a5 = rowCols[x + 5]! * w, a6 = rowCols[x + 6]! * w, a7 = rowCols[x + 7]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) {
        o[(d + i) | 0] ^= s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]! ^ s[(a2 + i) | 0]! ^ s[(a3 + i) | 0]! ^ s[(a4 + i) | 0]! ^ s[(a5 + i) | 0]! ^ s[(a6 + i) | 0]! ^ s[(a7 + i) | 0]!;
      }
    }
    if (x + 4 <= end) {
      const a0 = rowCols[x]! * w, a1 = rowCols[x + 1]! * w, a2 = rowCols[x + 2]! * w, a3 = rowCols[x + 3]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] ^= s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]! ^ s[(a2 + i) | 0]! ^ s[(a3 + i) | 0]!;
      x += 4;
    }
    if (x + 2 <= end) {
      const a0 = rowCols[x]! * w, a1 = rowCols[x + 1]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] ^= s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]!;
      x += 2;
    }
    if (x < end) {
      const a0 = rowCols[x]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] ^= s[(a0 + i) | 0]!;
    }
  }
}

/** o[d..d+w) = o[d−w..d) ^ the `c` (1..10) source symbols at rowCols[x..x+c); returns x + c. */
function firstPass(rowCols: Int32Array, x: number, c: number, w: number, s: BigUint64Array, o: BigUint64Array, d: number): number {
  const p = d - w;
  const a0 = rowCols[x]! * w;
  if (c === 1) {
    for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] = o[(p + i) | 0]! ^ s[(a0 + i) | 0]!;
    return x + 1;
  }
  const a1 = rowCols[x + 1]! * w;
  if (c === 2) {
    for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] = o[(p + i) | 0]! ^ s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]!;
    return x + 2;
  }
  const a2 = rowCols[x + 2]! * w;
  if (c === 3) {
    for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] = o[(p + i) | 0]! ^ s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]! ^ s[(a2 + i) | 0]!;
    return x + 3;
  }
  const a3 = rowCols[x + 3]! * w;
  if (c === 4) {
    for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] = o[(p + i) | 0]! ^ s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]! ^ s[(a2 + i) | 0]! ^ s[(a3 + i) | 0]!;
    return x + 4;
  }
  const a4 = rowCols[x + 4]! * w;
  if (c === 5) {
    for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] = o[(p + i) | 0]! ^ s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]! ^ s[(a2 + i) | 0]! ^ s[(a3 + i) | 0]! ^ s[(a4 + i) | 0]!;
    return x + 5;
  }
  const a5 = rowCols[x + 5]! * w;
  if (c === 6) {
    // One index walks o; each source is an offset from it (one live value fewer than i, d, p).
    const b0 = a0 - d, b1 = a1 - d, b2 = a2 - d, b3 = a3 - d, b4 = a4 - d, b5 = a5 - d;
    const end = d + w;
    let y = d;
    for (; y < end - 1; y = (y + 2) | 0) {
      o[y] = o[(y - w) | 0]! ^ s[(y + b0) | 0]! ^ s[(y + b1) | 0]! ^ s[(y + b2) | 0]! ^ s[(y + b3) | 0]! ^ s[(y + b4) | 0]! ^ s[(y + b5) | 0]!;
      const z = (y + 1) | 0;
      o[z] = o[(z - w) | 0]! ^ s[(z + b0) | 0]! ^ s[(z + b1) | 0]! ^ s[(z + b2) | 0]! ^ s[(z + b3) | 0]! ^ s[(z + b4) | 0]! ^ s[(z + b5) | 0]!;
    }
    if (y < end) o[y] = o[(y - w) | 0]! ^ s[(y + b0) | 0]! ^ s[(y + b1) | 0]! ^ s[(y + b2) | 0]! ^ s[(y + b3) | 0]! ^ s[(y + b4) | 0]! ^ s[(y + b5) | 0]!;
    return x + 6;
  }
  const a6 = rowCols[x + 6]! * w;
  if (c === 7) {
    for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] = o[(p + i) | 0]! ^ s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]! ^ s[(a2 + i) | 0]! ^ s[(a3 + i) | 0]! ^ s[(a4 + i) | 0]! ^ s[(a5 + i) | 0]! ^ s[(a6 + i) | 0]!;
    return x + 7;
  }
  const a7 = rowCols[x + 7]! * w;
  if (c === 8) {
    for (let i = 0; i < w; i = (i + 1) | 0) o[(d + i) | 0] = o[(p + i) | 0]! ^ s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]! ^ s[(a2 + i) | 0]! ^ s[(a3 + i) | 0]! ^ s[(a4 + i) | 0]! ^ s[(a5 + i) | 0]! ^ s[(a6 + i) | 0]! ^ s[(a7 + i) | 0]!;
    return x + 8;
  }
  const a8 = rowCols[x + 8]! * w;
  if (c === 9) {
    for (let i = 0; i < w; i = (i + 1) | 0) {
      o[(d + i) | 0] = o[(p + i) | 0]! ^ s[(a0 + i) | 0]! ^ s[(a1 + i) | 0]! ^ s[(a2 + i) | 0]! ^ s[(a3 + i) | 0]! ^ s[(a4 + i) | 0]! ^ s[(a5 + i) | 0]! ^ s[(a6 + i) | 0]! ^ s[(a7 + i) | 0]! ^ s[(a8 + i) | 0]!;
    }
    return x + 9;
  }
  const a9 = rowCols[x + 9]! * w;
  const b0 = a0 - d, b1 = a1 - d, b2 = a2 - d, b3 = a3 - d, b4 = a4 - d, b5 = a5 - d, b6 = a6 - d, b7 = a7 - d, b8 = a8 - d, b9 = a9 - d;
  const end = d + w;
  let y = d;
  for (; y < end - 1; y = (y + 2) | 0) {
    o[y] = o[(y - w) | 0]! ^ s[(y + b0) | 0]! ^ s[(y + b1) | 0]! ^ s[(y + b2) | 0]! ^ s[(y + b3) | 0]! ^ s[(y + b4) | 0]! ^ s[(y + b5) | 0]! ^ s[(y + b6) | 0]! ^ s[(y + b7) | 0]! ^ s[(y + b8) | 0]! ^ s[(y + b9) | 0]!;
    const z = (y + 1) | 0;
    o[z] = o[(z - w) | 0]! ^ s[(z + b0) | 0]! ^ s[(z + b1) | 0]! ^ s[(z + b2) | 0]! ^ s[(z + b3) | 0]! ^ s[(z + b4) | 0]! ^ s[(z + b5) | 0]! ^ s[(z + b6) | 0]! ^ s[(z + b7) | 0]! ^ s[(z + b8) | 0]! ^ s[(z + b9) | 0]!;
  }
  if (y < end) {
    o[y] = o[(y - w) | 0]! ^ s[(y + b0) | 0]! ^ s[(y + b1) | 0]! ^ s[(y + b2) | 0]! ^ s[(y + b3) | 0]! ^ s[(y + b4) | 0]! ^ s[(y + b5) | 0]! ^ s[(y + b6) | 0]! ^ s[(y + b7) | 0]! ^ s[(y + b8) | 0]! ^ s[(y + b9) | 0]!;
  }
  return x + 10;
}

/**
 * Encoding symbol `esi` when it is a source symbol (a view of the block; the short last symbol of
 * the object zero-padded to E for coding), undefined for a repair ESI; FEC_ESI outside 0..n-1.
 */
export function sourceSymbol(block: SourceBlock, e: number, source: Uint8Array, esi: number): Uint8Array | undefined {
  const { k, n } = block;
  if (!Number.isInteger(esi) || esi < 0 || esi >= n) {
    throw new LocalProtocolError('FEC_ESI', `ESI ${esi} outside 0..${n - 1} of block ${block.sbn}`);
  }
  if (esi >= k) return undefined;
  if ((esi + 1) * e <= source.length) return source.subarray(esi * e, (esi + 1) * e);
  const padded = new Uint8Array(e);
  padded.set(source.subarray(esi * e));
  return padded;
}

export class LdpcEncoder implements BlockEncoder {
  private repair: Uint8Array | undefined;

  constructor(
    readonly block: SourceBlock,
    private readonly symbolSize: number,
    private readonly source: Uint8Array,
    private readonly matrix: () => LdpcMatrix,
    private readonly executor: SymbolExecutor,
  ) {}

  symbol(esi: number): Uint8Array {
    const { k } = this.block;
    const e = this.symbolSize;
    const own = sourceSymbol(this.block, e, this.source, esi);
    if (own !== undefined) return own;
    this.repair ??= encodeRepair(this.matrix(), e, this.source, this.executor);
    return this.repair.subarray((esi - k) * e, (esi - k + 1) * e);
  }

  dispose(): void {
    this.repair = undefined;
  }
}
