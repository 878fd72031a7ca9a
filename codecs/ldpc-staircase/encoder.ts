// RFC 5170 §6.3: LDPC-Staircase encoding. Repair ESI k+r = (source symbols of row r) XOR
// (repair ESI k+r−1 when r ≥ 1), produced in ESI order as the RFC requires. The symbolic part
// is one program (`encodeProgram`) over the block arena; an executor runs it.
import { LocalProtocolError } from '../../src/errors.js';
import type { BlockEncoder, SourceBlock } from '../types.js';
import type { SymbolExecutor } from './executor.js';
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

export class LdpcEncoder implements BlockEncoder {
  private arena: Uint8Array | undefined;

  constructor(
    readonly block: SourceBlock,
    private readonly symbolSize: number,
    private readonly source: Uint8Array,
    private readonly matrix: () => LdpcMatrix,
    private readonly executor: SymbolExecutor,
  ) {}

  symbol(esi: number): Uint8Array {
    const { k, n } = this.block;
    const e = this.symbolSize;
    if (!Number.isInteger(esi) || esi < 0 || esi >= n) {
      throw new LocalProtocolError('FEC_ESI', `ESI ${esi} outside 0..${n - 1} of block ${this.block.sbn}`);
    }
    if (esi < k) {
      if ((esi + 1) * e <= this.source.length) return this.source.subarray(esi * e, (esi + 1) * e);
      // The short last symbol of the object, zero-padded to E for coding.
      const padded = new Uint8Array(e);
      padded.set(this.source.subarray(esi * e));
      return padded;
    }
    this.arena ??= encodeArena(this.matrix(), e, this.source, this.executor);
    return this.arena.subarray(esi * e, (esi + 1) * e);
  }

  dispose(): void {
    this.arena = undefined;
  }
}
