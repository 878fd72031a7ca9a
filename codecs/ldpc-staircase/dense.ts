// The dense core of maximum-likelihood decoding: Gauss–Jordan elimination over GF(2) on the
// small system left after structured elimination (ml.ts). Self-contained on purpose, with one
// contract, so that a native port (native/) can replace exactly this function.
//
// Input: a rows × cols bit matrix, bit-packed: row r is words [r·W, (r+1)·W) with W = ceil(cols/32),
// column c is bit (c & 31) of word (c >>> 5). The matrix is overwritten.
// Output: the rank and, when rank = cols (the system determines every unknown):
//   rowOfCol[c] = the row that ends up holding unknown c alone, and
//   ops = pairs (dst, src) of row operations "row dst ^= row src", in order, restricted to rows
//   that end up in rowOfCol. Applying the same operations to the right-hand sides (one symbol per
//   row) leaves unknown c's value in the right-hand side of rowOfCol[c].

export interface DenseSolution {
  readonly rank: number;
  readonly rowOfCol: Int32Array;
  /** Flat (dst, src) row pairs; empty unless rank = cols. */
  readonly ops: Uint32Array;
}

export function solveDense(matrix: Uint32Array, rows: number, cols: number): DenseSolution {
  const w = (cols + 31) >>> 5;
  const rowOfCol = new Int32Array(cols).fill(-1);
  const isPivot = new Uint8Array(rows);
  let ops = new Uint32Array(1024);
  let nops = 0;
  let rank = 0;
  for (let c = 0; c < cols; c++) {
    const word = c >>> 5;
    const bit = 1 << (c & 31);
    let pivot = -1;
    for (let r = 0; r < rows; r++) {
      if (isPivot[r] === 0 && (matrix[r * w + word]! & bit) !== 0) {
        pivot = r;
        break;
      }
    }
    if (pivot < 0) continue;
    isPivot[pivot] = 1;
    rowOfCol[c] = pivot;
    rank++;
    const pBase = pivot * w;
    // Columns before c are already eliminated (or never pivot), so XOR from this word on.
    for (let r = 0; r < rows; r++) {
      const base = r * w;
      if (r === pivot || (matrix[base + word]! & bit) === 0) continue;
      for (let x = word; x < w; x++) matrix[base + x] ^= matrix[pBase + x]!;
      if (nops + 2 > ops.length) {
        const next = new Uint32Array(ops.length * 2);
        next.set(ops);
        ops = next;
      }
      ops[nops++] = r;
      ops[nops++] = pivot;
    }
  }
  if (rank < cols) return { rank, rowOfCol, ops: new Uint32Array(0) };
  // Operations into rows that never became pivots do not affect the solution: drop them.
  let kept = 0;
  for (let i = 0; i < nops; i += 2) {
    if (isPivot[ops[i]!] === 1) {
      ops[kept++] = ops[i]!;
      ops[kept++] = ops[i + 1]!;
    }
  }
  return { rank, rowOfCol, ops: ops.slice(0, kept) };
}
