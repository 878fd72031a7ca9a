// Token-bucket pacing (src/net/pacer.ts) in virtual time: the average rate is met, bursts never
// exceed the bucket, and time lost beyond the bucket is not made up with a larger burst.
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/net/pacer.js';

/** Send `count` packets of `size` bytes, each as soon as the bucket allows; return send times. */
function run(bucket: TokenBucket, count: number, size: number, start = 0): number[] {
  const times: number[] = [];
  let now = start;
  for (let guard = 0; times.length < count; guard++) {
    if (guard > count * 4) throw new Error('pacer did not advance');
    const wait = bucket.reserve(now, size);
    if (wait === 0) times.push(now);
    else now += wait;
  }
  return times;
}

describe('token bucket pacer', () => {
  it('meets the target rate on average', () => {
    const b = new TokenBucket({ bitsPerSecond: 100e6 }, 0);
    const t = run(b, 20_000, 1476);
    const rate = (20_000 * 1476 * 8) / (t[t.length - 1]! / 1000);
    expect(rate / 100e6).toBeGreaterThan(0.99);
    expect(rate / 100e6).toBeLessThan(1.02);
  });

  it('never sends more than the bucket (10 ms of rate) in a burst', () => {
    const b = new TokenBucket({ bitsPerSecond: 100e6 }, 0);
    const t = run(b, 5_000, 1476);
    // Bytes sent in any 1 ms window stay below 10 ms of burst plus 1 ms of rate.
    let j = 0;
    for (let i = 0; i < t.length; i++) {
      while (t[i]! - t[j]! > 1) j++;
      expect((i - j + 1) * 1476).toBeLessThanOrEqual(125_000 + 12_500 + 1476);
    }
  });

  it('does not make up for a long stall with a bigger burst', () => {
    const b = new TokenBucket({ bitsPerSecond: 10e6, burstBytes: 15_000 }, 0);
    run(b, 100, 1500);
    const after = run(b, 50, 1500, 1_000_000);
    const burst = after.filter((x) => x === 1_000_000).length;
    expect(burst).toBe(10);
  });
});
