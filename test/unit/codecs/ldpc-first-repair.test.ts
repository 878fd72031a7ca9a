// LDPC-Staircase decoders (TS and native): the first repair symbol of a block starts the peeling
// of the source symbols held so far, and that peeling can solve the repair symbol's own column
// (a staircase column whose rows have every source column known: row 0 with all its sources
// solves column k, then row 1 column k + 1, ...). Such a symbol must be learned once: it was
// learned a second time, its rows lost it twice, a row's last unknown (the XOR of what is left)
// became garbage (the native decoder read and wrote past its n-entry arrays, the TS one threw a
// TypeError or decoded wrong bytes), and a record recomputing it was XORed into its slot over the
// received bytes. A push's first cycle sends every source symbol, then the repair symbols
// shuffled: at 10% loss about half of the first rows have all their sources, so a lossy receiver
// met this a few times per 64 MB.
import { describe, expect, it } from 'vitest';
import { ldpcStaircase } from '../../../codecs/index.js';
import { nativeCodec } from '../../../codecs/ldpc-staircase/native-code.js';
import type { FecOti } from '../../../codecs/types.js';
import { Rng } from '../../../src/carousel/order.js';

const E = 16;
const K = 40;
const N = 60;

/** Uniform in [0, 1), seeded (the carousel's mulberry32). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next() / 4294967296;
}

/** Push order of a push's first cycle: the sources lost at `loss`, then the repair symbols shuffled, `first` first. */
function decodes(native: boolean, seed: number, n1m3: number, first: number | undefined, loss: number): boolean {
  const oti: FecOti = { encodingId: 3, transferLength: K * E - 5, symbolSize: E, maxSourceBlockLength: K, maxEncodingSymbols: N, n1m3, symbolsPerPacket: 1, seed: 7 + seed };
  const plan = ldpcStaircase.partition(oti);
  const random = rng(seed);
  const src = new Uint8Array(oti.transferLength).map(() => (random() * 256) | 0);
  const enc = ldpcStaircase.createEncoder(plan, 0, src, { native });
  const dec = ldpcStaircase.createDecoder(plan, 0, { native, arena: new Uint8Array(N * E).fill(0xa5) });
  const repair = Array.from({ length: N - K }, (_, i) => K + i).sort(() => random() - 0.5);
  if (first !== undefined) repair.unshift(...repair.splice(repair.indexOf(first), 1));
  const order = [...Array.from({ length: K }, (_, i) => i).filter(() => random() >= loss), ...repair];
  for (const esi of order) {
    dec.push(esi, enc.symbol(esi));
    if (dec.progress().complete) break;
  }
  return dec.progress().complete && Buffer.from(dec.sourceBlock()).equals(Buffer.from(src));
}

const paths: Array<[string, boolean]> = [['TypeScript', false], ...(nativeCodec() === undefined ? [] : [['native', true] as [string, boolean]])];

describe('LDPC-Staircase: a first repair symbol that peeling the held sources solves', () => {
  for (const [name, native] of paths) {
    it(`${name}: ESI k, k + 1, k + 2 first after every source but one, N1 3 and 5: the block decodes to the source`, () => {
      for (let seed = 1; seed <= 30; seed++) {
        for (const n1m3 of [0, 2]) {
          for (const first of [K, K + 1, K + 2]) expect(decodes(native, seed, n1m3, first, 1 / K), `seed ${seed} N1 ${n1m3 + 3} first ${first}`).toBe(true);
        }
      }
    });

    it(`${name}: 10% loss on the sources, repair shuffled (200 blocks): every one decodes to the source`, () => {
      for (let seed = 1; seed <= 200; seed++) expect(decodes(native, 1000 + seed, seed % 2 === 0 ? 2 : 0, undefined, 0.1), `seed ${seed}`).toBe(true);
    });
  }
});
