// DecoderOptions.arena may hold anything (src/assembly/arena-pool.ts hands out reused buffers
// without clearing them): every decoder must give the exact block from a dirty arena, with loss
// (LDPC solves unknown slots from it) and a short last symbol (its padding must not leak).
import { describe, expect, it } from 'vitest';
import { ldpcStaircase, noCode } from '../../../codecs/index.js';
import { nativeCodec } from '../../../codecs/ldpc-staircase/native-code.js';
import type { FecOti, FecScheme } from '../../../codecs/types.js';

const E = 64;
const K = 200;
const LENGTH = K * E - 17;

function source(seed: number): Uint8Array {
  return new Uint8Array(LENGTH).map((_, i) => (i * 31 + seed * 7) & 0xff);
}

/** Encode block 0, drop every fifth symbol (No-Code: none), decode into `arena`. */
function roundTrip(scheme: FecScheme, oti: FecOti, native: boolean, arena: Uint8Array, seed: number, lossy: boolean): boolean {
  const plan = scheme.partition(oti);
  const block = plan.blocks[0]!;
  const src = source(seed);
  const enc = scheme.createEncoder(plan, 0, src, { native });
  const dec = scheme.createDecoder(plan, 0, { native, arena });
  for (let esi = 0; esi < block.n && !dec.progress().complete; esi++) if (!lossy || esi % 5 !== 2) dec.push(esi, enc.symbol(esi));
  return dec.finish() && Buffer.from(dec.sourceBlock()).equals(Buffer.from(src));
}

const ldpcOti: FecOti = { encodingId: 3, transferLength: LENGTH, symbolSize: E, maxSourceBlockLength: K, maxEncodingSymbols: 300, n1m3: 0, symbolsPerPacket: 1, seed: 99 };
const noCodeOti: FecOti = { encodingId: 0, transferLength: LENGTH, symbolSize: E, maxSourceBlockLength: K };

describe('decoders on a dirty reused arena', () => {
  const cases: Array<[string, FecScheme, FecOti, boolean, boolean]> = [
    ['LDPC TypeScript', ldpcStaircase, ldpcOti, false, true],
    ...(nativeCodec() === undefined ? [] : [['LDPC native', ldpcStaircase, ldpcOti, true, true] as [string, FecScheme, FecOti, boolean, boolean]]),
    ['No-Code', noCode, noCodeOti, false, false],
  ];
  for (const [name, scheme, oti, native, lossy] of cases) {
    it(`${name}: exact blocks from an arena full of old bytes, twice in a row`, () => {
      const arena = new Uint8Array(300 * E).fill(0xa5);
      expect(roundTrip(scheme, oti, native, arena, 1, lossy)).toBe(true);
      expect(roundTrip(scheme, oti, native, arena, 2, lossy)).toBe(true);
    });
  }
});
