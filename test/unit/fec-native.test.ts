// The native LDPC-Staircase codec (native-code.ts, native-decoder.ts, native-encoder.ts) against
// the TypeScript reference codec: same repair bytes, same progress after every symbol, same blocks.
import { describe, expect, it, vi } from 'vitest';
import { getNative } from '../../codecs/native.js';
import { ldpcStaircase } from '../../codecs/ldpc-staircase/scheme.js';
import { buildMatrix } from '../../codecs/ldpc-staircase/matrix.js';
import { nativeCodec } from '../../codecs/ldpc-staircase/native-code.js';
import type { FecOti } from '../../codecs/types.js';
import { codeOf } from './codecs/helpers.js';

/** xorshift32: reproducible, and a failure message can name its seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, r: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

describe('native codec availability', () => {
  it('is absent when the addon is disabled, so the scheme builds the TypeScript codec', async () => {
    vi.resetModules();
    process.env['FCAST_NO_NATIVE'] = '1';
    try {
      const fresh = await import('../../codecs/ldpc-staircase/native-code.js');
      expect(fresh.nativeCodec()).toBeUndefined();
      // The scheme then builds the TypeScript codec even when native is asked for.
      const { ldpcStaircase: scheme } = await import('../../codecs/ldpc-staircase/scheme.js');
      const plan = scheme.partition({ encodingId: 3, transferLength: 800, symbolSize: 8, maxSourceBlockLength: 100, maxEncodingSymbols: 150, n1m3: 0, seed: 1 });
      expect(scheme.createDecoder(plan, 0, { native: true }).constructor.name).toBe('LdpcDecoder');
      expect(scheme.createEncoder(plan, 0, new Uint8Array(800), { native: true }).constructor.name).toBe('LdpcEncoder');
    } finally {
      delete process.env['FCAST_NO_NATIVE'];
      vi.resetModules();
    }
  });
});

describe('LDPC-Staircase codec: native and TypeScript paths agree', () => {
  it('on random (k, n, N1, seed, E) and reception orders: repair bytes, progress, bitmaps, decoded blocks', () => {
    expect(nativeCodec()).toBeDefined();
    for (let c = 1; c <= 24; c++) {
      const r = rng(c * 7919);
      const k = 1 + Math.floor(r() * 400);
      const n1 = 3 + Math.floor(r() * 3);
      const n = k + Math.max(n1, Math.ceil(k * (0.2 + r())));
      const seed = 1 + Math.floor(r() * 0x7ffffffe);
      const e = [1, 4, 16, 33, 64, 200][c % 6]!;
      const oti: FecOti = {
        encodingId: 3, transferLength: k * e - (c % 4 === 0 ? Math.floor(e / 2) : 0), symbolSize: e,
        maxSourceBlockLength: k, maxEncodingSymbols: n, n1m3: n1 - 3, symbolsPerPacket: 1, seed,
      };
      const at = `case ${c}: k=${k} n=${n} N1=${n1} seed=${seed} E=${e}`;
      const plan = ldpcStaircase.partition(oti);
      const source = randomBytes(oti.transferLength, r);
      const encN = ldpcStaircase.createEncoder(plan, 0, source, { native: true });
      const encT = ldpcStaircase.createEncoder(plan, 0, source, { native: false });
      for (let esi = 0; esi < n; esi++) {
        expect(Buffer.from(encN.symbol(esi)).equals(Buffer.from(encT.symbol(esi))), `${at} ESI ${esi}`).toBe(true);
      }
      // A random reception order with ~25% loss, fed to four decoders.
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const got = order.filter(() => r() < 0.75);
      for (const iterativeOnly of [true, false]) {
        const dN = ldpcStaircase.createDecoder(plan, 0, { native: true, iterativeOnly });
        const dT = ldpcStaircase.createDecoder(plan, 0, { native: false, iterativeOnly });
        for (const esi of got) {
          dN.push(esi, encT.symbol(esi));
          dT.push(esi, encT.symbol(esi));
          expect(dN.progress(), `${at} iterativeOnly=${iterativeOnly} after ESI ${esi}`).toEqual(dT.progress());
        }
        expect(dN.finish()).toBe(dT.finish());
        expect(Buffer.from(dN.knownBitmap()).equals(Buffer.from(dT.knownBitmap())), at).toBe(true);
        if (dN.progress().complete) {
          expect(Buffer.from(dN.sourceBlock()).equals(Buffer.from(source)), at).toBe(true);
          expect(Buffer.from(dT.sourceBlock()).equals(Buffer.from(source)), at).toBe(true);
        }
      }
    }
  });
});

describe('native code (its matrix builder, fec_matrix.cc) against matrix.ts', () => {
  it('gives the same repair symbols on codes with fallback placements, row fix-up and large k (RFC 5170 §6.2)', () => {
    // Staircase repair r is the XOR of row r's source columns and repair r-1: any differing
    // matrix entry changes the repair symbols from there on (random source, E = 8).
    const fixed: Array<[number, number, number, number]> = [
      [1, 5, 3, 9], [5, 10, 3, 2], [10, 30, 3, 5], [50, 150, 3, 21], [1000, 1500, 3, 1], [500, 1000, 3, 2147483646], [2000, 3000, 3, 555],
    ];
    const r = rng(4242);
    const random = Array.from({ length: 30 }, (): [number, number, number, number] => {
      const k = 1 + Math.floor(r() * 3000);
      const n1 = 3 + Math.floor(r() * 8);
      return [k, k + n1 + Math.floor(r() * 2 * k), n1, 1 + Math.floor(r() * 0x7ffffffe)];
    });
    for (const [k, n, n1, seed] of [...fixed, ...random]) {
      const e = 8;
      const oti: FecOti = { encodingId: 3, transferLength: k * e, symbolSize: e, maxSourceBlockLength: k, maxEncodingSymbols: n, n1m3: n1 - 3, symbolsPerPacket: 1, seed };
      const plan = ldpcStaircase.partition(oti);
      const source = randomBytes(k * e, r);
      const encN = ldpcStaircase.createEncoder(plan, 0, source, { native: true });
      const encT = ldpcStaircase.createEncoder(plan, 0, source, { native: false });
      const at = `k=${k} n=${n} N1=${n1} seed=${seed} (${buildMatrix(k, n, n1, seed).fallbackPlacements} fallbacks)`;
      expect(Buffer.from(encN.symbol(n - 1)).equals(Buffer.from(encT.symbol(n - 1))), at).toBe(true);
    }
  });
});

describe('native LDPC-Staircase decoder and encoder (native-decoder.ts, native-encoder.ts)', () => {
  /** A random LDPC block: OTI, plan, source, and the TypeScript encoder's symbols (the reference). */
  function randomBlock(seed: number, maxK: number): { at: string; plan: ReturnType<typeof ldpcStaircase.partition>; source: Uint8Array; symbol: (esi: number) => Uint8Array; n: number; k: number; r: () => number } {
    const r = rng(seed);
    const k = 1 + Math.floor(r() * maxK);
    const n1 = 3 + Math.floor(r() * 6);
    const n = k + Math.max(n1, Math.ceil(k * (0.1 + r())));
    const e = [1, 3, 8, 32, 100, 256][seed % 6]!;
    const oti: FecOti = {
      encodingId: 3, transferLength: k * e - (seed % 3 === 0 ? Math.floor(e / 2) : 0), symbolSize: e,
      maxSourceBlockLength: k, maxEncodingSymbols: n, n1m3: n1 - 3, symbolsPerPacket: 1, seed: 1 + Math.floor(r() * 0x7ffffffe),
    };
    const plan = ldpcStaircase.partition(oti);
    const source = randomBytes(oti.transferLength, r);
    const enc = ldpcStaircase.createEncoder(plan, 0, source, { native: false });
    return { at: `seed ${seed}: k=${k} n=${n} N1=${n1} E=${e} L=${oti.transferLength}`, plan, source, symbol: (esi) => enc.symbol(esi), n, k, r };
  }

  it('decodes exactly like decoder.ts on random codes and orders with duplicates, iterative-only and full', () => {
    for (let c = 1; c <= 40; c++) {
      const { at, plan, source, symbol, n, r } = randomBlock(c * 104729, c % 8 === 0 ? 3000 : 300);
      // A random order over a random subset, with about one symbol in ten sent twice.
      const order = Array.from({ length: n }, (_, i) => i).filter(() => r() < 0.2 + 0.8 * r());
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const sent = order.flatMap((esi) => (r() < 0.1 ? [esi, esi] : [esi]));
      for (const iterativeOnly of [true, false]) {
        const dN = ldpcStaircase.createDecoder(plan, 0, { native: true, iterativeOnly });
        const dT = ldpcStaircase.createDecoder(plan, 0, { native: false, iterativeOnly });
        expect(dN.constructor.name, at).toBe('NativeLdpcDecoder');
        for (const esi of sent) {
          const s = symbol(esi);
          const what = `${at} iterativeOnly=${iterativeOnly} ESI ${esi}`;
          expect(dN.push(esi, s), what).toBe(dT.push(esi, s));
          const [pN, pT] = [dN.progress(), dT.progress()];
          if (pN.received !== pT.received || pN.knownSource !== pT.knownSource || pN.complete !== pT.complete) expect(pN, what).toEqual(pT);
        }
        expect(dN.finish(), at).toBe(dT.finish());
        expect(Buffer.from(dN.knownBitmap()).equals(Buffer.from(dT.knownBitmap())), at).toBe(true);
        if (dN.progress().complete) expect(Buffer.from(dN.sourceBlock()).equals(Buffer.from(source)), at).toBe(true);
        else expect(codeOf(() => dN.sourceBlock()), at).toBe('FEC_NOT_DECODABLE');
      }
    }
  });

  it('decodes into the caller\'s arena (DecoderOptions.arena, repair symbols in its tail): sourceBlock() is a view of it, stale bytes are overwritten', () => {
    const { at, plan, source, symbol, n } = randomBlock(77, 500);
    const e = plan.oti.symbolSize;
    const arena = new Uint8Array(n * e + 64).fill(0xa5);
    const d = ldpcStaircase.createDecoder(plan, 0, { native: true, arena });
    for (let esi = n - 1; esi >= 0 && !d.progress().complete; esi--) d.push(esi, symbol(esi));
    const out = d.sourceBlock();
    expect(out.buffer, at).toBe(arena.buffer);
    expect(Buffer.from(out).equals(Buffer.from(source)), at).toBe(true);
    // The received repair symbol n−1 sits in its slot of the arena's tail.
    expect(Buffer.from(arena.subarray((n - 1) * e, n * e)).equals(Buffer.from(symbol(n - 1))), at).toBe(true);
    // A detached arena is refused before the addon could write into it.
    const lent = new Uint8Array(n * e);
    const d3 = ldpcStaircase.createDecoder(plan, 0, { native: true, arena: lent });
    structuredClone(lent.buffer, { transfer: [lent.buffer] });
    expect(codeOf(() => d3.push(0, symbol(0))), at).toBe('FEC_PARAMS');
    // A buffer of block.length bytes only: the repair symbols go to native memory instead.
    const small = new Uint8Array(source.length);
    const d2 = ldpcStaircase.createDecoder(plan, 0, { native: true, arena: small });
    for (let esi = n - 1; esi >= 0 && !d2.progress().complete; esi--) d2.push(esi, symbol(esi));
    expect(Buffer.from(small).equals(Buffer.from(source)), at).toBe(true);
    expect(codeOf(() => ldpcStaircase.createDecoder(plan, 0, { native: true, arena: new Uint8Array(source.length - 1) }))).toBe('FEC_PARAMS');
  });

  it('handles a block without repair symbols (n = k) and a one-symbol block', () => {
    for (const [k, l, e] of [[7, 7 * 16, 16], [1, 5, 8]] as const) {
      const oti: FecOti = { encodingId: 3, transferLength: l, symbolSize: e, maxSourceBlockLength: k, maxEncodingSymbols: k, n1m3: 0, symbolsPerPacket: 1, seed: 3 };
      const plan = ldpcStaircase.partition(oti);
      const source = Uint8Array.from({ length: l }, (_, i) => i * 7);
      const enc = ldpcStaircase.createEncoder(plan, 0, source, { native: true });
      const d = ldpcStaircase.createDecoder(plan, 0, { native: true });
      for (let esi = 0; esi < k; esi++) {
        expect(d.progress().complete).toBe(false);
        d.push(esi, esi === k - 1 ? source.subarray(esi * e) : enc.symbol(esi));
      }
      expect(Buffer.from(d.sourceBlock()).equals(Buffer.from(source))).toBe(true);
    }
  });

  it('refuses bad symbols with typed errors and never crashes on bad native calls', () => {
    const { plan, n, k, symbol } = randomBlock(5, 200);
    const e = plan.oti.symbolSize;
    const d = ldpcStaircase.createDecoder(plan, 0, { native: true });
    for (const esi of [-1, n, n + 1, 1.5, Number.NaN, 2 ** 32]) expect(codeOf(() => d.push(esi, new Uint8Array(e))), `ESI ${esi}`).toBe('FEC_ESI');
    expect(codeOf(() => d.push(0, new Uint8Array(e + 1)))).toBe('FEC_SYMBOL_SIZE');
    expect(codeOf(() => d.push(k, new Uint8Array(0)))).toBe('FEC_SYMBOL_SIZE');
    expect(d.progress()).toEqual({ received: 0, knownSource: 0, complete: false });
    expect(d.push(0, symbol(0))).toBe(true);
    expect(d.push(0, symbol(0))).toBe(false);

    const addon = getNative() as unknown as Record<string, new (...args: unknown[]) => Record<string, (...args: unknown[]) => unknown>>;
    const Code = addon['LdpcCode']!;
    const Decoder = addon['LdpcDecoder']!;
    for (const args of [[0, 10, 3, 1], [10, 9, 3, 1], [10, 12, 3, 1], [10, 20, 3, 0], [10, 20, 3, 2 ** 31 - 1], [10, 2 ** 21, 3, 1], ['10', 20, 3, 1], []]) {
      expect(() => new Code(...args), JSON.stringify(args)).toThrow(/^FEC_PARAMS/);
    }
    const code = new Code(10, 20, 3, 1);
    const state = new Int32Array(3);
    expect(() => new Decoder({}, 8, 80, false, new Uint8Array(80), state)).toThrow(/^FEC_PARAMS/);
    expect(() => new Decoder(code, 8, 81, false, new Uint8Array(81), state)).toThrow(/^FEC_PARAMS/);
    expect(() => new Decoder(code, 8, 80, false, new Uint8Array(79), state)).toThrow(/^FEC_PARAMS/);
    expect(() => new Decoder(code, 8, 72, false, new Uint8Array(72), state)).toThrow(/^FEC_PARAMS/);
    expect(() => new Decoder(code, 2 ** 16, 80, false, new Uint8Array(80), state)).toThrow(/^FEC_PARAMS/);
    expect(() => new Decoder(code, 8, 80, false, new Uint8Array(80), new Int32Array(2))).toThrow(/^FEC_PARAMS/);
    expect(() => new Decoder(code, 8, 80, false, new Uint8Array(80), state, new Uint8Array(79))).toThrow(/^FEC_PARAMS/);
    expect(() => new Decoder(code, 8, 80, false, new Uint8Array(80), state, [])).toThrow(/^FEC_PARAMS/);
    const raw = new Decoder(code, 8, 80, false, new Uint8Array(80), state);
    expect(() => raw['push']!(20, new Uint8Array(8))).toThrow(/^FEC_ESI/);
    expect(() => raw['push']!(-1, new Uint8Array(8))).toThrow(/^FEC_ESI/);
    expect(() => raw['push']!(3, new Uint8Array(7))).toThrow(/^FEC_SYMBOL_SIZE/);
    expect(() => raw['push']!(3, new Uint16Array(4))).toThrow(/^FEC_ESI/);
    expect(() => raw['knownBitmap']!(new Uint8Array(1))).toThrow(/^FEC_PARAMS/);
    const encodeRepair = getNative()!['encodeRepair'] as (...args: unknown[]) => unknown;
    expect(() => encodeRepair(code, 8, new Uint8Array(80), new Uint8Array(79))).toThrow(/^FEC_SYMBOL_SIZE/);
    expect(() => encodeRepair(code, 8, new Uint8Array(72), new Uint8Array(80))).toThrow(/^FEC_SYMBOL_SIZE/);
    expect(() => encodeRepair({}, 8, new Uint8Array(80), new Uint8Array(80))).toThrow(/^FEC_PARAMS/);
  });
});
