// The pure-TypeScript LDPC-Staircase path (issue 3): with `native: false` no native kernel runs,
// not even the matrix builder, and the TypeScript matrix builder and PRNG keep their exact results.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FecOti } from '../../../codecs/types.js';

const KERNELS = ['xorInto', 'xorProgram', 'solveDense', 'buildLeft'] as const;

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
    addon[name] = (...args: unknown[]): unknown => {
      calls[name]!++;
      return (fn as (...a: unknown[]) => unknown)(...args);
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
      expect((calls['buildLeft'] ?? 0) + (calls['xorProgram'] ?? 0)).toBeGreaterThan(0);
    } finally {
      restore();
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
});
