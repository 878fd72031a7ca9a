// BlockDecoder.heldSymbol: until a block completes, each received symbol stays in its slot of the
// decoder's memory byte for byte (the receiver spools a hot block's symbols from there instead of
// copying every one on arrival, src/assembly/receiver.ts). Checked on a dirty reused arena, with
// loss (peeling and ML leave their symbol work for completion), in push and pushBatch order,
// for the TypeScript and native LDPC decoders and No-Code.
import { describe, expect, it } from 'vitest';
import { ldpcStaircase, noCode } from '../../../codecs/index.js';
import { nativeCodec } from '../../../codecs/ldpc-staircase/native-code.js';
import type { FecOti, FecScheme } from '../../../codecs/types.js';

const E = 64;
const K = 200;
const N = 300;
const LENGTH = K * E - 17;

const ldpcOti: FecOti = { encodingId: 3, transferLength: LENGTH, symbolSize: E, maxSourceBlockLength: K, maxEncodingSymbols: N, n1m3: 0, symbolsPerPacket: 1, seed: 99 };
const noCodeOti: FecOti = { encodingId: 0, transferLength: LENGTH, symbolSize: E, maxSourceBlockLength: K };

/** A reproducible permutation of 0..n-1 (xorshift). */
function shuffled(n: number, seed: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let x = seed | 1;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function check(scheme: FecScheme, oti: FecOti, native: boolean, seed: number, batch: boolean, lossy: boolean): { held: number; pushed: number } {
  const plan = scheme.partition(oti);
  const block = plan.blocks[0]!;
  const src = new Uint8Array(LENGTH).map((_, i) => (i * 131 + seed * 7) & 0xff);
  const enc = scheme.createEncoder(plan, 0, src, { native });
  const arena = new Uint8Array(block.n * E).fill(0x5a);
  const dec = scheme.createDecoder(plan, 0, { native, arena });
  const sent = new Map<number, Uint8Array>();
  let held = 0;
  // Every symbol in a random order, 20% of them lost (No-Code: none).
  const order = shuffled(block.n, seed).filter((_, i) => !lossy || i % 10 >= 2);
  for (let at = 0; at < order.length && !dec.progress().complete; at += 8) {
    const part = order.slice(at, at + 8);
    const symbols = part.map((esi) => enc.symbol(esi));
    if (batch) {
      const data = new Uint8Array(part.length * E);
      const offsets = new Uint32Array(part.length);
      symbols.forEach((s, i) => {
        data.set(s, i * E);
        offsets[i] = i * E;
      });
      dec.pushBatch(Uint32Array.from(part), data, offsets, part.length);
    } else {
      part.forEach((esi, i) => dec.push(esi, symbols[i]!));
    }
    part.forEach((esi, i) => sent.set(esi, symbols[i]!));
    if (dec.progress().complete) break;
    held = 0;
    for (const [esi, bytes] of sent) {
      const got = dec.heldSymbol(esi);
      if (got === undefined) continue;
      held++;
      // The short last source symbol: its own length (the encoder's copy is zero-padded to E).
      expect(Buffer.from(got).equals(Buffer.from(bytes.subarray(0, got.length))), `ESI ${esi}`).toBe(true);
      expect(bytes.subarray(got.length).every((b) => b === 0)).toBe(true);
    }
  }
  expect(dec.progress().complete).toBe(true);
  expect(Buffer.from(dec.sourceBlock()).equals(Buffer.from(src))).toBe(true);
  for (const esi of sent.keys()) expect(dec.heldSymbol(esi)).toBeUndefined();
  return { held, pushed: sent.size };
}

describe('BlockDecoder.heldSymbol', () => {
  const cases: Array<[string, FecScheme, FecOti, boolean]> = [
    ['LDPC TypeScript', ldpcStaircase, ldpcOti, false],
    ...(nativeCodec() === undefined ? [] : [['LDPC native', ldpcStaircase, ldpcOti, true] as [string, FecScheme, FecOti, boolean]]),
    ['No-Code', noCode, noCodeOti, false],
  ];
  for (const [name, scheme, oti, native] of cases) {
    it(`${name}: every symbol shown is the one received, until the block completes`, () => {
      for (let seed = 1; seed <= 6; seed++) {
        const r = check(scheme, oti, native, seed, seed % 2 === 0, oti.encodingId !== 0);
        // Nearly all of them are shown (LDPC: not those peeling knew before they came).
        expect(r.held).toBeGreaterThan(0.8 * (r.pushed - 8));
      }
    });
  }
});
