// BlockDecoder.pushBatch (codecs/types.ts): one call for a receive batch, the native codec's batch
// path (fec_codec_addon.cc PushBatch) and push()-per-symbol in the TypeScript codecs must take the
// same symbols as push() would, one at a time. Also the native code's release() and the decoder
// scratch pool (fec_decoder.cc TakeWork/GiveWork): many decoders alive at once, abandoned ones.
import { describe, expect, it } from 'vitest';
import { getNative } from '../../../codecs/native.js';
import { ldpcStaircase } from '../../../codecs/ldpc-staircase/scheme.js';
import { buildNativeCode, nativeCodec, releaseNativeCode } from '../../../codecs/ldpc-staircase/native-code.js';
import { NativeLdpcDecoder } from '../../../codecs/ldpc-staircase/native-decoder.js';
import { encodeRepairNative } from '../../../codecs/ldpc-staircase/native-encoder.js';
import { noCode } from '../../../codecs/nocode/scheme.js';
import type { BlockDecoder, BlockPlan, FecOti } from '../../../codecs/types.js';
import { codeOf } from './helpers.js';

/** xorshift32 (seed scrambled: small seeds would start with tiny draws), reproducible by seed. */
function rng(seed: number): () => number {
  let x = Math.imul(seed, 0x9e3779b1) >>> 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

interface Block {
  readonly at: string;
  readonly plan: BlockPlan;
  readonly source: Uint8Array;
  readonly symbol: (esi: number) => Uint8Array;
  readonly n: number;
  readonly k: number;
  readonly r: () => number;
}

/** A random LDPC block (a short last symbol one time in three) and its symbols (TypeScript encoder). */
function randomBlock(seed: number, maxK: number): Block {
  const r = rng(seed);
  const k = 2 + Math.floor(r() * maxK);
  const n1 = 3 + Math.floor(r() * 4);
  const n = k + Math.max(n1, Math.ceil(k * (0.2 + r())));
  const e = [4, 16, 64, 100][seed % 4]!;
  const oti: FecOti = {
    encodingId: 3, transferLength: k * e - (seed % 3 === 0 ? Math.floor(e / 2) : 0), symbolSize: e,
    maxSourceBlockLength: k, maxEncodingSymbols: n, n1m3: n1 - 3, symbolsPerPacket: 1, seed: 1 + Math.floor(r() * 1000),
  };
  const plan = ldpcStaircase.partition(oti);
  const source = Uint8Array.from({ length: oti.transferLength }, () => Math.floor(r() * 256));
  const enc = ldpcStaircase.createEncoder(plan, 0, source, { native: false });
  const shortLen = oti.transferLength - (k - 1) * e;
  // Symbols as a receiver hands them over: the short last source symbol at its own length.
  const symbol = (esi: number): Uint8Array => (esi === k - 1 ? enc.symbol(esi).subarray(0, shortLen) : enc.symbol(esi));
  return { at: `seed ${seed}: k=${k} n=${n} N1=${n1} E=${e} L=${oti.transferLength}`, plan, source, symbol, n, k, r };
}

/** `sent` laid out in one buffer with random gaps, as datagrams in a receive batch. */
function batchOf(b: Block, sent: number[]): { esis: Uint32Array; data: Uint8Array; offsets: Uint32Array } {
  const esis = Uint32Array.from(sent);
  const offsets = new Uint32Array(sent.length);
  let size = 0;
  for (let i = 0; i < sent.length; i++) {
    size += Math.floor(b.r() * 20);
    offsets[i] = size;
    size += b.symbol(sent[i]!).length;
  }
  const data = new Uint8Array(size + 7);
  sent.forEach((esi, i) => data.set(b.symbol(esi), offsets[i]!));
  return { esis, data, offsets };
}

function progressOf(d: BlockDecoder): string {
  const p = d.progress();
  return `${p.received}/${p.knownSource}/${p.complete}`;
}

describe('pushBatch takes what push() would, one symbol at a time', () => {
  it('native and TypeScript LDPC decoders, random codes, orders with duplicates and batch sizes', () => {
    for (let c = 1; c <= 24; c++) {
      const b = randomBlock(c * 7919, c % 6 === 0 ? 1500 : 200);
      const order = Array.from({ length: b.n }, (_, i) => i).filter(() => b.r() < 0.9);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(b.r() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const sent = order.flatMap((esi) => (b.r() < 0.1 ? [esi, esi] : [esi]));
      const { esis, data, offsets } = batchOf(b, sent);
      for (const iterativeOnly of [true, false]) {
        const at = `${b.at} iterativeOnly=${iterativeOnly}`;
        const reference = ldpcStaircase.createDecoder(b.plan, 0, { native: false, iterativeOnly });
        const batched = [true, false].map((native) => ldpcStaircase.createDecoder(b.plan, 0, { native, iterativeOnly }));
        expect(batched[0]!.constructor.name, at).toBe('NativeLdpcDecoder');
        let given = 0;
        while (given < sent.length) {
          const count = Math.min(sent.length - given, 1 + Math.floor(b.r() * 40));
          const view = [esis.subarray(given, given + count), offsets.subarray(given, given + count)] as const;
          const taken = batched.map((d) => d.pushBatch(view[0], data, view[1], count));
          // The reference takes the same symbols while incomplete, one push() each.
          let want = 0;
          while (want < count && !reference.progress().complete) reference.push(sent[given + want]!, b.symbol(sent[given + want++]!));
          expect(taken, `${at} batch at ${given}`).toEqual([want, want]);
          for (const d of batched) expect(progressOf(d), `${at} batch at ${given}`).toBe(progressOf(reference));
          given += count;
        }
        for (const d of batched) {
          expect(d.finish(), at).toBe(reference.finish());
          expect(Buffer.from(d.knownBitmap()).equals(Buffer.from(reference.knownBitmap())), at).toBe(true);
          if (d.progress().complete) expect(Buffer.from(d.sourceBlock()).equals(Buffer.from(b.source)), at).toBe(true);
        }
      }
    }
  });

  it('No-Code takes a batch too', () => {
    const oti: FecOti = { encodingId: 0, transferLength: 10 * 8 - 3, symbolSize: 8, maxSourceBlockLength: 10, maxEncodingSymbols: 10 };
    const plan = noCode.partition(oti);
    const source = Uint8Array.from({ length: oti.transferLength }, (_, i) => i * 13);
    const d = noCode.createDecoder(plan, 0);
    const esis = Uint32Array.from([9, 3, 3, 0, 1, 2, 4, 5, 6, 7, 8, 1]);
    const offsets = Uint32Array.from(esis, (_, i) => i * 8);
    const data = new Uint8Array(esis.length * 8);
    esis.forEach((esi, i) => data.set(source.subarray(esi * 8, Math.min(source.length, esi * 8 + 8)), i * 8));
    expect(d.pushBatch(esis, data, offsets, esis.length)).toBe(11);
    expect(d.progress()).toEqual({ received: 10, knownSource: 10, complete: true });
    expect(Buffer.from(d.sourceBlock()).equals(Buffer.from(source))).toBe(true);
  });

  it('refuses bad batches with typed errors after taking the symbols before the bad one', () => {
    const b = randomBlock(4, 100);
    expect(b.k, b.at).toBeGreaterThan(3);
    const e = b.plan.oti.symbolSize;
    for (const native of [true, false]) {
      const d = ldpcStaircase.createDecoder(b.plan, 0, { native });
      const { esis, data, offsets } = batchOf(b, [0, 1, 2]);
      expect(codeOf(() => d.pushBatch(esis, data, offsets, 4)), `native=${native}`).toBe('FEC_PARAMS');
      expect(codeOf(() => d.pushBatch(esis, data, offsets.subarray(0, 2), 3)), `native=${native}`).toBe('FEC_PARAMS');
      expect(codeOf(() => d.pushBatch(esis, data, offsets, -1)), `native=${native}`).toBe('FEC_PARAMS');
      expect(codeOf(() => d.pushBatch(Uint32Array.from([0, b.n, 1]), data, offsets, 3)), `native=${native}`).toBe('FEC_ESI');
      expect(d.progress().received, `native=${native}`).toBe(1);
      // A symbol reaching past the end of the buffer.
      expect(codeOf(() => d.pushBatch(Uint32Array.from([1, 2]), data, Uint32Array.from([0, data.length - e + 1]), 2)), `native=${native}`).toBe('FEC_SYMBOL_SIZE');
      expect(codeOf(() => d.pushBatch(Uint32Array.from([3]), data, Uint32Array.from([2 ** 32 - 1]), 1)), `native=${native}`).toBe('FEC_SYMBOL_SIZE');
      expect(d.progress().received, `native=${native}`).toBe(2);
      expect(d.pushBatch(esis, data, offsets, 0), `native=${native}`).toBe(0);
    }
    // The addon's own checks (second line behind native-decoder.ts).
    const addon = getNative() as unknown as Record<string, new (...args: unknown[]) => Record<string, (...args: unknown[]) => unknown>>;
    const raw = new addon['LdpcDecoder']!(new addon['LdpcCode']!(10, 20, 3, 1), 8, 80, false, new Uint8Array(80), new Int32Array(3));
    const pushBatch = raw['pushBatch']!.bind(raw);
    const [esis, data, offsets] = [new Uint32Array(2), new Uint8Array(16), Uint32Array.from([0, 8])];
    // ESI 0 twice: both taken (the second a duplicate), the block still incomplete.
    expect(pushBatch(esis, data, offsets, 2)).toBe(2);
    for (const args of [[esis, data, offsets, 3], [new Int32Array(2), data, offsets, 2], [esis, new Uint16Array(8), offsets, 2], [esis, data, [0, 8], 2], [esis, data, offsets, 1.5], [esis, data, offsets]]) {
      expect(() => pushBatch(...args)).toThrow(/^FEC_PARAMS/);
    }
    expect(() => pushBatch(Uint32Array.from([20]), data, offsets, 1)).toThrow(/^FEC_ESI/);
    expect(() => pushBatch(Uint32Array.from([3]), data, Uint32Array.from([9]), 1)).toThrow(/^FEC_SYMBOL_SIZE/);
  });
});

describe('native code release and the decoder scratch pool', () => {
  it('a released code builds nothing more; decoders made before it still decode', () => {
    const codec = nativeCodec()!;
    const b = randomBlock(11, 300);
    const { k, n } = b;
    const { symbolSize: e, n1m3, seed } = b.plan.oti;
    const block = b.plan.blocks[0]!;
    const code = buildNativeCode(codec, k, n, n1m3! + 3, seed!);
    const d = new NativeLdpcDecoder(codec, code, block, e, false);
    releaseNativeCode(code);
    releaseNativeCode(code);
    expect(codeOf(() => new NativeLdpcDecoder(codec, code, block, e, false))).toBe('FEC_PARAMS');
    expect(codeOf(() => encodeRepairNative(codec, code, block, e, new Uint8Array(block.length), new Uint8Array((n - k) * e)))).toBe('FEC_PARAMS');
    for (let esi = n - 1; esi >= 0 && !d.progress().complete; esi--) d.push(esi, b.symbol(esi));
    expect(Buffer.from(d.sourceBlock()).equals(Buffer.from(b.source))).toBe(true);
  });

  it('many decoders alive at once (more than the pool keeps), half abandoned part-way: the others exact', () => {
    const blocks = [randomBlock(21, 400), randomBlock(22, 60), randomBlock(23, 900), randomBlock(24, 150)];
    for (let round = 0; round < 3; round++) {
      // Twice the pool's size alive at once; every other one abandoned before completing.
      const live = Array.from({ length: 8 }, (_, i) => ({ b: blocks[i % 4]!, d: ldpcStaircase.createDecoder(blocks[i % 4]!.plan, 0, { native: true }), next: i }));
      for (let step = 0; live.some((x, i) => i % 2 === 0 && !x.d.progress().complete); step++) {
        for (const [i, x] of live.entries()) {
          if (x.d.progress().complete || (i % 2 === 1 && step > x.b.k / 2)) continue;
          // Source symbols first for half of them: ML attempts then start short of rank.
          const esi = (x.next++ * 7919) % x.b.n;
          x.d.push(esi, x.b.symbol(esi));
        }
      }
      for (const [i, x] of live.entries()) {
        if (i % 2 === 1) continue;
        expect(Buffer.from(x.d.sourceBlock()).equals(Buffer.from(x.b.source)), `${x.b.at} round ${round}`).toBe(true);
      }
    }
  });
});
