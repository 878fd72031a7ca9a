// The unicast grant order (src/net/flex-sender.ts spreadStride): start + i·stride mod n visits
// every ESI of a block exactly once, and a run of it spreads over the whole block.
import { describe, expect, it } from 'vitest';
import { spreadStride } from '../../../src/net/flex-sender.js';

describe('spreadStride', () => {
  it('gives a permutation of 0..n-1 for any n, from any start', () => {
    for (const n of [1, 2, 3, 4, 10, 64, 97, 1000, 1340, 1500, 4096]) {
      const stride = spreadStride(n);
      for (const start of [0, Math.floor(n / 3), n - 1]) {
        const seen = new Set<number>();
        for (let i = 0; i < n; i++) seen.add((start + i * stride) % n);
        expect(seen.size).toBe(n);
      }
    }
  });

  it('spreads a short run across sources and repairs (k = 893 of n = 1340)', () => {
    const n = 1340;
    const k = 893;
    const stride = spreadStride(n);
    const run = Array.from({ length: 100 }, (_, i) => (17 + i * stride) % n);
    const sources = run.filter((e) => e < k).length;
    // About k/n of any run are source symbols (consecutive ESIs would give 0 or 100 here).
    expect(sources).toBeGreaterThan(55);
    expect(sources).toBeLessThan(78);
  });
});
