// The pure-TypeScript LDPC-Staircase path (issue 3): with `native: false` no native kernel runs,
// not even the matrix builder, and the TypeScript matrix builder and PRNG keep their exact results.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FecOti } from '../../../codecs/types.js';

const KERNELS = ['xorInto', 'LdpcCode', 'LdpcDecoder', 'encodeRepair'] as const;

/** Counts calls into the addon's FEC kernels (wrapping them on the shared addon object). */
async function countNativeCalls(): Promise<{ calls: Record<string, number>; restore: () => void }> {
  vi.resetModules();
  const { getNative } = await import('../../../codecs/native.js');
  const addon = getNative() as unknown as Record<string, unknown> | undefined;
  const calls: Record<string, number> = {};
  const saved = new Map<string, unknown>();
  for (const name of KERNELS) {
    const fn = addon?.[name];
    if (addon === undefined || typeof fn !== 'function') continue;
    saved.set(name, fn);
    calls[name] = 0;
    // A plain function, so that the native codec's classes can still be called with `new`.
    addon[name] = function counted(...args: unknown[]): unknown {
      calls[name]!++;
      return new.target === undefined ? (fn as (...a: unknown[]) => unknown)(...args) : Reflect.construct(fn as new (...a: unknown[]) => object, args);
    };
  }
  return {
    calls,
    restore: () => {
      for (const [name, fn] of saved) addon![name] = fn;
    },
  };
}

function oti(k: number, n: number, n1: number, seed: number, e: number): FecOti {
  return { encodingId: 3, transferLength: k * e, symbolSize: e, maxSourceBlockLength: k, maxEncodingSymbols: n, n1m3: n1 - 3, seed };
}

/** Encode, lose a quarter, ML-decode; returns whether the block came back. */
async function roundTrip(native: boolean, seed: number): Promise<boolean> {
  const { ldpcStaircase } = await import('../../../codecs/ldpc-staircase/scheme.js');
  const k = 300;
  const e = 64;
  const plan = ldpcStaircase.partition(oti(k, 450, 3, seed, e));
  const source = new Uint8Array(k * e).map((_, i) => (i * 13 + seed) & 0xff);
  const enc = ldpcStaircase.createEncoder(plan, 0, source, { native });
  const dec = ldpcStaircase.createDecoder(plan, 0, { native });
  for (let esi = 0; esi < 450 && !dec.progress().complete; esi++) if (esi % 4 !== 1) dec.push(esi, enc.symbol(esi));
  return dec.finish() && Buffer.from(dec.sourceBlock()).equals(Buffer.from(source));
}

describe('pure TypeScript LDPC-Staircase path', () => {
  afterEach(() => {
    vi.resetModules();
  });

  it('runs no native kernel with native: false (matrix, symbol XOR, dense core), and native ones otherwise', async () => {
    const { calls, restore } = await countNativeCalls();
    try {
      if (Object.keys(calls).length === 0) return; // no addon here: nothing native can run anyway
      expect(await roundTrip(false, 4711)).toBe(true);
      expect(calls).toEqual(Object.fromEntries(Object.keys(calls).map((name) => [name, 0])));
      // The wrappers do see native work when it is asked for (a fresh seed: no cached matrix).
      expect(await roundTrip(true, 4712)).toBe(true);
      expect((calls['LdpcCode'] ?? 0) + (calls['LdpcDecoder'] ?? 0)).toBeGreaterThan(0);
    } finally {
      restore();
    }
  });

  it('tsExecutor: the 64-bit, 32-bit and byte loops give the reference XORs for every record shape', async () => {
    const { tsExecutor } = await import('../../../codecs/ldpc-staircase/executor.js');
    let x = 99;
    const rand = (n: number): number => (x = (x * 16807) % 2147483647) % n;
    // E and byteOffset pick the loop: E % 8 = 0 and aligned -> 64-bit, E % 4 = 0 -> 32-bit, else bytes.
    for (const [e, offset] of [[8, 0], [24, 0], [1024, 0], [8, 4], [12, 0], [16, 1], [5, 0]] as const) {
      const count = 40;
      const words: number[] = [];
      for (let i = 0; i < 120; i++) {
        const dst = rand(count);
        const srcs = Array.from({ length: rand(30) }, () => rand(count)).filter((v) => v !== dst);
        words.push(dst, srcs.length, ...srcs);
      }
      const program = Uint32Array.from(words);
      const arena = new Uint8Array(count * e + offset).subarray(offset);
      for (let i = 0; i < arena.length; i++) arena[i] = rand(256);
      expect(arena.byteOffset).toBe(offset);
      const expected = arena.slice();
      for (let p = 0; p < program.length; p += 2 + program[p + 1]!) {
        const d = program[p]!;
        for (let j = 0; j < program[p + 1]!; j++) {
          const src = program[p + 2 + j]!;
          for (let b = 0; b < e; b++) expected[d * e + b] ^= expected[src * e + b]!;
        }
      }
      tsExecutor.run(arena, e, program, program.length);
      expect(Buffer.from(arena).equals(Buffer.from(expected)), `E=${e} offset ${offset}`).toBe(true);
    }
  });

  it('encodeRepair: the direct 64-bit encoder gives the executor program\'s repair symbols, into a dirty reused buffer', async () => {
    const { encodeArena, encodeRepair } = await import('../../../codecs/ldpc-staircase/encoder.js');
    const { tsExecutor } = await import('../../../codecs/ldpc-staircase/executor.js');
    const { buildMatrix } = await import('../../../codecs/ldpc-staircase/matrix.js');
    const cases: Array<[number, number, number, number, number]> = [
      [1, 4, 3, 5, 8], [2, 5, 3, 1, 16], [40, 60, 3, 7, 8], [300, 450, 5, 11, 64], [1000, 1500, 3, 1, 24], [500, 1500, 8, 3, 8], [97, 140, 4, 9, 40],
      // The six- and ten-source passes two words per turn: odd and one-word symbols take the tail.
      [300, 450, 5, 11, 40], [300, 450, 5, 11, 8], [60, 90, 3, 2, 8], [60, 90, 3, 2, 56],
    ];
    for (const [k, n, n1, seed, e] of cases) {
      const m = buildMatrix(k, n, n1, seed);
      for (const offset of [0, 8, 4]) {
        const backing = new Uint8Array(k * e + offset);
        const source = backing.subarray(offset);
        for (let i = 0; i < source.length; i++) source[i] = (i * 31 + seed) & 0xff;
        const expected = encodeArena(m, e, source, tsExecutor).subarray(k * e);
        const out = new Uint8Array((n - k) * e).fill(0xa5);
        expect(encodeRepair(m, e, source, tsExecutor, out)).toBe(out);
        expect(Buffer.from(out).equals(Buffer.from(expected)), `k=${k} n=${n} N1=${n1} E=${e} offset ${offset}`).toBe(true);
      }
      // A short last symbol (padding implied) takes the arena path and gives the same symbols.
      const short = new Uint8Array(k * e - 3).map((_, i) => (i * 31 + seed) & 0xff);
      const padded = new Uint8Array(k * e);
      padded.set(short);
      expect(Buffer.from(encodeRepair(m, e, short, tsExecutor)).equals(Buffer.from(encodeRepair(m, e, padded, tsExecutor)))).toBe(true);
    }
  });

  it('xorIntoTs: 64-bit, 32-bit and byte paths XOR every byte', async () => {
    const { xorIntoTs } = await import('../../../codecs/xor.js');
    for (const len of [0, 5, 8, 13, 1024, 1403]) {
      for (const [dOff, sOff] of [[0, 0], [8, 16], [4, 0], [1, 3]] as const) {
        const dst = new Uint8Array(len + dOff).subarray(dOff);
        const src = new Uint8Array(len + sOff + 2).subarray(sOff);
        for (let i = 0; i < len; i++) [dst[i], src[i]] = [(i * 7 + 1) & 0xff, (i * 13 + 5) & 0xff];
        const expected = dst.map((v, i) => v ^ src[i]!);
        xorIntoTs(dst, src);
        expect(Buffer.from(dst).equals(Buffer.from(expected)), `len ${len} offsets ${dOff}/${sOff}`).toBe(true);
      }
    }
  });

  it('ParkMiller: the folded reduction equals 16807·x mod (2^31−1) at the edges and along a long stream', async () => {
    const { ParkMiller } = await import('../../../codecs/ldpc-staircase/prng.js');
    const m = 2147483647;
    for (const seed of [1, 2, 127773, 127774, 2 ** 30, m - 2, m - 1]) {
      expect(new ParkMiller(seed).nextRaw(), `seed ${seed}`).toBe((seed * 16807) % m);
    }
    const p = new ParkMiller(42);
    let x = 42;
    for (let i = 0; i < 200_000; i++) {
      x = (x * 16807) % m;
      if (p.nextRaw() !== x) expect.fail(`step ${i}`);
    }
  });

  it('buildMatrix: the column view is the transpose of the row view, ascending, with and without row fix-ups', async () => {
    const { buildMatrix } = await import('../../../codecs/ldpc-staircase/matrix.js');
    // k=1000 n=3000 and k=50 n=150 (N1=3) fix rows up (rows with < 2 ones); k=1 n=4 is the one-column edge.
    for (const [k, n, n1, seed] of [[1000, 1500, 3, 1], [1000, 3000, 3, 12], [999, 1333, 5, 86], [5, 10, 3, 2], [1, 4, 3, 9], [50, 150, 3, 21]] as const) {
      const m = buildMatrix(k, n, n1, seed);
      const fromRows: number[][] = Array.from({ length: k }, () => []);
      for (let r = 0; r < m.rows; r++) {
        const cols = Array.from(m.rowCols.subarray(m.rowStart[r]!, m.rowStart[r + 1]!));
        expect(cols, `row ${r}`).toEqual([...cols].sort((a, b) => a - b));
        for (const c of cols) fromRows[c]!.push(r);
      }
      const fromCols = Array.from({ length: k }, (_, c) => Array.from(m.colRows.subarray(m.colStart[c]!, m.colStart[c + 1]!)));
      expect(fromCols, `k=${k} n=${n} N1=${n1} seed=${seed} (${m.rowfixAdded} fix-ups)`).toEqual(fromRows);
    }
  });

  it('pmNext and pmScale (32-bit steps, truncation) draw exactly what the double-precision reference draws, 10^6 draws', async () => {
    const { pmNext, pmScale } = await import('../../../codecs/ldpc-staircase/prng.js');
    const m = 2147483647;
    // The reference: 16807·x < 2^46 is exact in a double, and the RFC 5170 §5.7 scaling as written.
    const refNext = (x: number): number => (x * 16807) % m;
    const refScale = (raw: number, maxv: number): number => Math.floor((maxv * raw) / m);
    // Every maxv the builder asks for (N1·k − t, n − k, k) and the edges of the 31-bit range.
    const maxvs = [1, 2, 3, 499, 500, 1000, 3000, 7919, 150_000, 10 * 2 ** 20, 2 ** 30 + 1, m - 1, m];
    let draws = 0;
    for (const seed of [1, 2, 127773, 127774, 2 ** 30, m - 2, m - 1]) {
      let x = seed;
      let y = seed;
      for (let i = 0; i < 150_000; i++, draws++) {
        x = pmNext(x);
        y = refNext(y);
        const maxv = maxvs[i % maxvs.length]!;
        if (x !== y || pmScale(x, maxv) !== refScale(y, maxv)) expect.fail(`seed ${seed}, draw ${i}: ${x}/${y}, maxv ${maxv}`);
      }
    }
    expect(draws).toBeGreaterThanOrEqual(1_000_000);
  });
});
