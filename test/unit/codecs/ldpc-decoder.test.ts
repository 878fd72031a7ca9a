// LDPC-Staircase decoder properties beyond the shared vectors: the full decoder completes at
// exactly the first symbol after which the received set determines every source symbol (checked
// against an independent GF(2) rank computation), the iterative-only decoder matches an
// independent peeling closure, and the dense core and the executor keep their contracts.
import { describe, expect, it } from 'vitest';
import { solveDense } from '../../../codecs/ldpc-staircase/dense.js';
import { tsExecutor } from '../../../codecs/ldpc-staircase/executor.js';
import { buildMatrix, type LdpcMatrix } from '../../../codecs/ldpc-staircase/matrix.js';
import { ldpcStaircase } from '../../../codecs/index.js';
import { Rng } from '../../../src/carousel/order.js';

/** Uniform in [0, 1), seeded (the carousel's mulberry32). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next() / 4294967296;
}

/** Full rows of H (source and staircase columns) as bigint bitsets over n columns. */
function fullRows(m: LdpcMatrix): bigint[] {
  const rows: bigint[] = [];
  for (let r = 0; r < m.rows; r++) {
    let bits = 1n << BigInt(m.k + r);
    if (r > 0) bits |= 1n << BigInt(m.k + r - 1);
    for (let x = m.rowStart[r]!; x < m.rowStart[r + 1]!; x++) bits |= 1n << BigInt(m.rowCols[x]!);
    rows.push(bits);
  }
  return rows;
}

/** Independent ML criterion: H restricted to the unknown columns has full column rank. */
function determined(rows: bigint[], n: number, known: Set<number>): boolean {
  let mask = 0n;
  let unknowns = 0;
  for (let c = 0; c < n; c++) {
    if (!known.has(c)) {
      mask |= 1n << BigInt(c);
      unknowns++;
    }
  }
  const work = rows.map((r) => r & mask);
  let rank = 0;
  for (let c = 0; c < n && rank < unknowns; c++) {
    const bit = 1n << BigInt(c);
    if ((mask & bit) === 0n) continue;
    const p = work.findIndex((r, i) => i >= rank && (r & bit) !== 0n);
    if (p < 0) continue;
    [work[rank], work[p]] = [work[p]!, work[rank]!];
    for (let i = 0; i < work.length; i++) if (i !== rank && (work[i]! & bit) !== 0n) work[i]! ^= work[rank]!;
    rank++;
  }
  return rank === unknowns;
}

/** Independent peeling closure over the known set. */
function peel(rows: bigint[], n: number, received: Set<number>): Set<number> {
  const known = new Set(received);
  for (let changed = true; changed; ) {
    changed = false;
    for (const row of rows) {
      const unknown: number[] = [];
      for (let c = 0; c < n && unknown.length < 2; c++) if ((row >> BigInt(c)) & 1n && !known.has(c)) unknown.push(c);
      if (unknown.length === 1) {
        known.add(unknown[0]!);
        changed = true;
      }
    }
  }
  return known;
}

describe('LDPC-Staircase decoder', () => {
  it('ML completes exactly when the received symbols first determine the block', () => {
    const rand = rng(7);
    let mlOnly = 0;
    for (let trial = 0; trial < 60; trial++) {
      const k = 8 + Math.floor(rand() * 40);
      const n = k + Math.max(3, Math.floor(k * (0.3 + rand())));
      const n1 = 3 + Math.floor(rand() * 3);
      if (n - k < n1) continue;
      const seed = 1 + Math.floor(rand() * 0x7ffffffd);
      const e = 8;
      const oti = { encodingId: 3 as const, transferLength: k * e - 3, symbolSize: e, maxSourceBlockLength: k, maxEncodingSymbols: n, n1m3: n1 - 3, seed };
      const plan = ldpcStaircase.partition(oti);
      const source = new Uint8Array(oti.transferLength).map(() => (rand() * 256) | 0);
      const enc = ldpcStaircase.createEncoder(plan, 0, source, { native: false });
      const rows = fullRows(buildMatrix(k, n, n1, seed));
      const order = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
      const ml = ldpcStaircase.createDecoder(plan, 0, { native: false });
      const it1 = ldpcStaircase.createDecoder(plan, 0, { native: false, iterativeOnly: true });
      const got = new Set<number>();
      for (const esi of order) {
        const sym = esi === k - 1 ? enc.symbol(esi).subarray(0, e - 3) : enc.symbol(esi);
        ml.push(esi, sym);
        it1.push(esi, sym);
        got.add(esi);
        const closure = peel(rows, n, got);
        let knownSrc = 0;
        for (let i = 0; i < k; i++) if (closure.has(i)) knownSrc++;
        expect(it1.progress().knownSource).toBe(knownSrc);
        const full = determined(rows, n, got);
        expect(ml.progress().complete, `trial ${trial} after ${got.size} symbols`).toBe(full);
        if (full && knownSrc < k) mlOnly++;
        if (full) break;
      }
      expect(Buffer.from(ml.sourceBlock()).equals(Buffer.from(source))).toBe(true);
    }
    expect(mlOnly).toBeGreaterThan(10);
  });

  it('solveDense: the row operations solve the system for any right-hand side', () => {
    const rand = rng(3);
    for (let trial = 0; trial < 40; trial++) {
      const cols = 1 + Math.floor(rand() * 90);
      const rows = cols + Math.floor(rand() * 10);
      const w = (cols + 31) >>> 5;
      const a = new Uint32Array(rows * w);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (rand() < 0.5) a[r * w + (c >>> 5)]! |= 1 << (c & 31);
      const original = a.slice();
      const x = Array.from({ length: cols }, () => (rand() * 2 ** 32) >>> 0);
      const rhs = Array.from({ length: rows }, (_, r) => {
        let v = 0;
        for (let c = 0; c < cols; c++) if ((original[r * w + (c >>> 5)]! >>> (c & 31)) & 1) v ^= x[c]!;
        return v >>> 0;
      });
      const sol = solveDense(a, rows, cols);
      if (sol.rank < cols) continue;
      for (let i = 0; i < sol.ops.length; i += 2) rhs[sol.ops[i]!] = (rhs[sol.ops[i]!]! ^ rhs[sol.ops[i + 1]!]!) >>> 0;
      for (let c = 0; c < cols; c++) expect(rhs[sol.rowOfCol[c]!]).toBe(x[c]);
    }
  });

  it('solveDense reports the rank of a deficient system', () => {
    // Rows: x0+x1, x1+x2, x0+x2 (dependent), 3 unknowns: rank 2.
    const a = new Uint32Array([0b011, 0b110, 0b101]);
    expect(solveDense(a, 3, 3).rank).toBe(2);
  });

  it('tsExecutor: word and byte paths agree, m = 0 records are no-ops', () => {
    const rand = rng(11);
    const e = 12;
    const count = 20;
    const program: number[] = [];
    for (let i = 0; i < 200; i++) {
      const dst = Math.floor(rand() * count);
      const srcs = Array.from({ length: Math.floor(rand() * 20) }, () => Math.floor(rand() * count)).filter((s) => s !== dst);
      program.push(dst, srcs.length, ...srcs);
    }
    const prog = Uint32Array.from(program);
    const aligned = new Uint8Array(count * e).map(() => (rand() * 256) | 0);
    const unaligned = new Uint8Array(count * e + 1).subarray(1);
    unaligned.set(aligned);
    const expected = aligned.slice();
    for (let p = 0; p < prog.length; ) {
      const d = prog[p]!, m = prog[p + 1]!;
      for (let s = 0; s < m; s++) for (let b = 0; b < e; b++) expected[d * e + b] ^= expected[prog[p + 2 + s]! * e + b]!;
      p += 2 + m;
    }
    tsExecutor.run(aligned, e, prog, prog.length);
    tsExecutor.run(unaligned, e, prog, prog.length);
    expect(Buffer.from(aligned).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(unaligned).equals(Buffer.from(expected))).toBe(true);
  });
});
