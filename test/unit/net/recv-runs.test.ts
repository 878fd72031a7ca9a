// RecvRuns (src/net/recv-runs.ts): a recvmmsg batch's entries as runs from one sender, GRO
// buffers cut into their datagrams, stamps placed on the caller's clock.
import { describe, expect, it } from 'vitest';
import { META, RecvRuns, SLOT } from '../../../src/net/recv-runs.js';

const A = (10 << 24) | 1;
const B = (10 << 24) | 2;

function meta(entries: Array<[len: number, ip: number, seg: number]>): Uint32Array {
  const m = new Uint32Array(entries.length * META);
  entries.forEach(([len, ip, seg], i) => m.set([len, ip >>> 0, seg], META * i));
  return m;
}

describe('RecvRuns', () => {
  it('splits by sender, cuts GRO buffers (the last segment shorter), skips empty entries and counts GRO buffers', () => {
    const runs = new RecvRuns(false);
    const seen: Array<{ from: string; datagrams: Array<[number, number]> }> = [];
    const m = meta([[100, A, 0], [250, A, 100], [0, B, 0], [30, B, 0], [40, A, 0]]);
    runs.split(m, 5, (count, from) => {
      seen.push({ from, datagrams: Array.from({ length: count }, (_, i) => [runs.offsets[i]!, runs.lengths[i]!]) });
      return true;
    });
    expect(seen).toEqual([
      { from: '10.0.0.1', datagrams: [[0, 100], [SLOT, 100], [SLOT + 100, 100], [SLOT + 200, 50]] },
      { from: '10.0.0.2', datagrams: [[3 * SLOT, 30]] },
      { from: '10.0.0.1', datagrams: [[4 * SLOT, 40]] },
    ]);
    expect(runs.groBuffers).toBe(1);
  });

  it('places each entry\'s kernel stamp on the caller\'s clock (no stamp: the read time), grows past 16 datagrams an entry, and stops when the handler says so', () => {
    const runs = new RecvRuns(true);
    const m = meta([[64 * 20, A, 64], [10, A, 0], [10, B, 0]]);
    const ages = new Float64Array([1.5, -1, 0]);
    const got: number[][] = [];
    runs.split(m, 3, (count) => {
      got.push(Array.from(runs.arrivals.subarray(0, count)));
      return false;
    }, ages, 100);
    expect(got).toEqual([[...Array<number>(20).fill(98.5), 100]]);
  });
});
