// The carousel warm-up (src/carousel/warm-up.ts): a bounded in-memory session that completes for
// every kind of FEC setting the CLI accepts, coded with LDPC where the real session would be.
import { describe, expect, it } from 'vitest';
import { schemeFor } from '../../../codecs/index.js';
import type { FecEncodingId, FecScheme } from '../../../codecs/types.js';
import { warmUpSender, type FecSettings } from '../../../src/carousel/index.js';

const LDPC: FecSettings = { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 };

describe('warmUpSender', () => {
  it('runs a two-cycle push of a coded file to its end, once per run, with the LDPC scheme', () => {
    const used = new Set<FecEncodingId>();
    const schemes = (id: FecEncodingId): FecScheme => {
      used.add(id);
      return schemeFor(id);
    };
    const packets = warmUpSender({ fec: LDPC, schemes, reuseDatagramBuffer: true });
    // k = 24 at R = 2/3 (n − k ≥ 12), 6.5 blocks: ~157 symbols and ~236 data packets a cycle, two
    // cycles, two runs, plus a few CID packets.
    expect(packets).toBeGreaterThanOrEqual(4 * 234);
    expect(packets).toBeLessThan(4 * 236 + 40);
    expect(used).toEqual(new Set([0, 3]));
  });

  it.each([
    ['code rate 0.9, N1 10', { ...LDPC, codeRate: 0.9, n1m3: 7 }],
    ['code rate 1/2, E 8192', { ...LDPC, codeRate: 0.5, symbolSize: 8192 }],
    ['blocks shorter than the warm-up k', { ...LDPC, maxSourceBlockLength: 4 }],
    ['No-Code', { encodingId: 0, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 1 / 2, n1m3: 0 } satisfies FecSettings],
  ])('completes with %s', (_name, fec) => {
    for (const reuse of [true, false]) {
      const packets = warmUpSender({ fec, schemes: schemeFor, reuseDatagramBuffer: reuse });
      expect(packets).toBeGreaterThan(0);
      expect(packets).toBeLessThan(10_000);
    }
  });
});
