// Symbol work of the LDPC codec, kept apart from the symbolic work (which symbols to XOR into
// which: index arithmetic in encoder.ts, decoder.ts, ml.ts, dense.ts). A block lives in an
// arena where symbol j is bytes [j·E, (j+1)·E). A program is a Uint32Array of records
// `[dst, m, src_1, ..., src_m]` meaning arena[dst] ^= arena[src_1] ^ ... ^ arena[src_m], run in
// order. dst never appears among its own sources. This is the pure TypeScript codec's executor
// (the native codec, native-code.ts, runs its own records in C++).

export interface SymbolExecutor {
  /** Run records program[0 .. length) on `arena` with symbols of `symbolSize` bytes. */
  run(arena: Uint8Array, symbolSize: number, program: Uint32Array, length: number): void;
}

/**
 * Pure TypeScript executor: 64-bit words when E and the arena allow it, 32-bit words, else bytes.
 * V8 (Node 20) compiles XOR of BigUint64Array elements to plain 64-bit XORs in optimised code:
 * 1.5-2x the Int32Array loop on the same programs. Each element type has its own copy of the
 * loop so that every call site stays monomorphic (one shared function gets several times slower).
 */
export const tsExecutor: SymbolExecutor = {
  run(arena, symbolSize, program, length) {
    if ((symbolSize & 7) === 0 && (arena.byteOffset & 7) === 0) {
      const words = new BigUint64Array(arena.buffer, arena.byteOffset, arena.length >>> 3);
      runWords64(words, symbolSize >>> 3, program, length);
    } else if ((symbolSize & 3) === 0 && (arena.byteOffset & 3) === 0) {
      const words = new Int32Array(arena.buffer, arena.byteOffset, arena.length >>> 2);
      runWords32(words, symbolSize >>> 2, program, length);
    } else {
      runBytes(arena, symbolSize, program, length);
    }
  },
};

/**
 * runWords32 over 64-bit words (the same loop; see tsExecutor for why it is a copy). Like the
 * encoder's passes (encoder.ts encodeRows64) it is bound by instructions, not memory: every index
 * is `(x + i) | 0`, and the records iterative decoding emits at n = 1.5k, 2·N1 + 1 sources (7 at
 * N1 = 3, 11 at N1 = 5: a row's other columns and its two staircase neighbours), take one pass over
 * dst, two words per turn, instead of two passes (6 + 1, 8 + 3).
 */
function runWords64(a: BigUint64Array, w: number, program: Uint32Array, length: number): void {
  let p = 0;
  while (p < length) {
    const d = program[p]! * w;
    const m = program[p + 1]!;
    p += 2;
    if (m === 7) {
      xor7(a, w, d, program, p);
      p += 7;
      continue;
    }
    if (m === 11) {
      xor11(a, w, d, program, p);
      p += 11;
      continue;
    }
    const end = p + m;
    for (; p + 8 <= end; p += 8) {
      const s0 = program[p]! * w, s1 = program[p + 1]! * w, s2 = program[p + 2]! * w, s3 = program[p + 3]! * w;
      const s4 = program[p + 4]! * w, s5 = program[p + 5]! * w, s6 = program[p + 6]! * w, s7 = program[p + 7]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) {
        a[(d + i) | 0] ^= a[(s0 + i) | 0]! ^ a[(s1 + i) | 0]! ^ a[(s2 + i) | 0]! ^ a[(s3 + i) | 0]! ^ a[(s4 + i) | 0]! ^ a[(s5 + i) | 0]! ^ a[(s6 + i) | 0]! ^ a[(s7 + i) | 0]!;
      }
    }
    if (p + 6 <= end) {
      const s0 = program[p]! * w, s1 = program[p + 1]! * w, s2 = program[p + 2]! * w;
      const s3 = program[p + 3]! * w, s4 = program[p + 4]! * w, s5 = program[p + 5]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) a[(d + i) | 0] ^= a[(s0 + i) | 0]! ^ a[(s1 + i) | 0]! ^ a[(s2 + i) | 0]! ^ a[(s3 + i) | 0]! ^ a[(s4 + i) | 0]! ^ a[(s5 + i) | 0]!;
      p += 6;
    }
    if (p + 3 <= end) {
      const s0 = program[p]! * w, s1 = program[p + 1]! * w, s2 = program[p + 2]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) a[(d + i) | 0] ^= a[(s0 + i) | 0]! ^ a[(s1 + i) | 0]! ^ a[(s2 + i) | 0]!;
      p += 3;
    }
    if (p + 2 <= end) {
      const s0 = program[p]! * w, s1 = program[p + 1]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) a[(d + i) | 0] ^= a[(s0 + i) | 0]! ^ a[(s1 + i) | 0]!;
      p += 2;
    }
    if (p < end) {
      const s0 = program[p]! * w;
      for (let i = 0; i < w; i = (i + 1) | 0) a[(d + i) | 0] ^= a[(s0 + i) | 0]!;
      p++;
    }
  }
}

/** a[d ..+w) ^= the seven symbols named at program[p ..+7), two words per turn. */
function xor7(a: BigUint64Array, w: number, d: number, program: Uint32Array, p: number): void {
  const s0 = program[p]! * w, s1 = program[p + 1]! * w, s2 = program[p + 2]! * w, s3 = program[p + 3]! * w;
  const s4 = program[p + 4]! * w, s5 = program[p + 5]! * w, s6 = program[p + 6]! * w;
  let i = 0;
  for (; i < w - 1; i = (i + 2) | 0) {
    a[(d + i) | 0] ^= a[(s0 + i) | 0]! ^ a[(s1 + i) | 0]! ^ a[(s2 + i) | 0]! ^ a[(s3 + i) | 0]! ^ a[(s4 + i) | 0]! ^ a[(s5 + i) | 0]! ^ a[(s6 + i) | 0]!;
    const j = (i + 1) | 0;
    a[(d + j) | 0] ^= a[(s0 + j) | 0]! ^ a[(s1 + j) | 0]! ^ a[(s2 + j) | 0]! ^ a[(s3 + j) | 0]! ^ a[(s4 + j) | 0]! ^ a[(s5 + j) | 0]! ^ a[(s6 + j) | 0]!;
  }
  if (i < w) a[(d + i) | 0] ^= a[(s0 + i) | 0]! ^ a[(s1 + i) | 0]! ^ a[(s2 + i) | 0]! ^ a[(s3 + i) | 0]! ^ a[(s4 + i) | 0]! ^ a[(s5 + i) | 0]! ^ a[(s6 + i) | 0]!;
}

/** a[d ..+w) ^= the eleven symbols named at program[p ..+11), two words per turn. */
function xor11(a: BigUint64Array, w: number, d: number, program: Uint32Array, p: number): void {
  const s0 = program[p]! * w, s1 = program[p + 1]! * w, s2 = program[p + 2]! * w, s3 = program[p + 3]! * w;
  const s4 = program[p + 4]! * w, s5 = program[p + 5]! * w, s6 = program[p + 6]! * w, s7 = program[p + 7]! * w;
  const s8 = program[p + 8]! * w, s9 = program[p + 9]! * w, s10 = program[p + 10]! * w;
  let i = 0;
  for (; i < w - 1; i = (i + 2) | 0) {
    a[(d + i) | 0] ^= a[(s0 + i) | 0]! ^ a[(s1 + i) | 0]! ^ a[(s2 + i) | 0]! ^ a[(s3 + i) | 0]! ^ a[(s4 + i) | 0]! ^ a[(s5 + i) | 0]! ^ a[(s6 + i) | 0]! ^ a[(s7 + i) | 0]! ^ a[(s8 + i) | 0]! ^ a[(s9 + i) | 0]! ^ a[(s10 + i) | 0]!;
    const j = (i + 1) | 0;
    a[(d + j) | 0] ^= a[(s0 + j) | 0]! ^ a[(s1 + j) | 0]! ^ a[(s2 + j) | 0]! ^ a[(s3 + j) | 0]! ^ a[(s4 + j) | 0]! ^ a[(s5 + j) | 0]! ^ a[(s6 + j) | 0]! ^ a[(s7 + j) | 0]! ^ a[(s8 + j) | 0]! ^ a[(s9 + j) | 0]! ^ a[(s10 + j) | 0]!;
  }
  if (i < w) {
    a[(d + i) | 0] ^= a[(s0 + i) | 0]! ^ a[(s1 + i) | 0]! ^ a[(s2 + i) | 0]! ^ a[(s3 + i) | 0]! ^ a[(s4 + i) | 0]! ^ a[(s5 + i) | 0]! ^ a[(s6 + i) | 0]! ^ a[(s7 + i) | 0]! ^ a[(s8 + i) | 0]! ^ a[(s9 + i) | 0]! ^ a[(s10 + i) | 0]!;
  }
}

function runWords32(a: Int32Array, w: number, program: Uint32Array, length: number): void {
  let p = 0;
  while (p < length) {
    const d = program[p]! * w;
    const m = program[p + 1]!;
    p += 2;
    const end = p + m;
    // Up to eight sources per pass over the destination: fewer loads and stores of it. The
    // 8/6/3/2/1 split fits LDPC row weights (N1·k/(n−k) + 1 or 2) best in measurements.
    for (; p + 8 <= end; p += 8) {
      const s0 = program[p]! * w, s1 = program[p + 1]! * w, s2 = program[p + 2]! * w, s3 = program[p + 3]! * w;
      const s4 = program[p + 4]! * w, s5 = program[p + 5]! * w, s6 = program[p + 6]! * w, s7 = program[p + 7]! * w;
      for (let i = 0; i < w; i++) {
        a[d + i] ^= a[s0 + i]! ^ a[s1 + i]! ^ a[s2 + i]! ^ a[s3 + i]! ^ a[s4 + i]! ^ a[s5 + i]! ^ a[s6 + i]! ^ a[s7 + i]!;
      }
    }
    if (p + 6 <= end) {
      const s0 = program[p]! * w, s1 = program[p + 1]! * w, s2 = program[p + 2]! * w;
      const s3 = program[p + 3]! * w, s4 = program[p + 4]! * w, s5 = program[p + 5]! * w;
      for (let i = 0; i < w; i++) a[d + i] ^= a[s0 + i]! ^ a[s1 + i]! ^ a[s2 + i]! ^ a[s3 + i]! ^ a[s4 + i]! ^ a[s5 + i]!;
      p += 6;
    }
    if (p + 3 <= end) {
      const s0 = program[p]! * w, s1 = program[p + 1]! * w, s2 = program[p + 2]! * w;
      for (let i = 0; i < w; i++) a[d + i] ^= a[s0 + i]! ^ a[s1 + i]! ^ a[s2 + i]!;
      p += 3;
    }
    if (p + 2 <= end) {
      const s0 = program[p]! * w, s1 = program[p + 1]! * w;
      for (let i = 0; i < w; i++) a[d + i] ^= a[s0 + i]! ^ a[s1 + i]!;
      p += 2;
    }
    if (p < end) {
      const s0 = program[p]! * w;
      for (let i = 0; i < w; i++) a[d + i] ^= a[s0 + i]!;
      p++;
    }
  }
}

function runBytes(a: Uint8Array, e: number, program: Uint32Array, length: number): void {
  let p = 0;
  while (p < length) {
    const d = program[p]! * e;
    const m = program[p + 1]!;
    p += 2;
    const end = p + m;
    for (; p < end; p++) {
      const s = program[p]! * e;
      for (let i = 0; i < e; i++) a[d + i] ^= a[s + i]!;
    }
  }
}

/** A growable program buffer (records appended by the symbolic passes). */
export class ProgramBuilder {
  buf: Uint32Array;
  length = 0;

  constructor(initialWords = 1024) {
    this.buf = new Uint32Array(Math.max(16, initialWords));
  }

  /** Make room for `words` more words. */
  reserve(words: number): void {
    const need = this.length + words;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  push(word: number): void {
    this.buf[this.length++] = word;
  }

  clear(): void {
    this.length = 0;
  }
}
