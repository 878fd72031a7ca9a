// PathTimeline: packets per path per bucket, bounded by merging buckets as the session grows.
import { describe, expect, it } from 'vitest';
import { isFcastError } from '../../../src/errors.js';
import { PathTimeline } from '../../../src/flexicast/timeline.js';

describe('PathTimeline', () => {
  it('counts packets per path in fixed buckets from time 0', () => {
    const t = new PathTimeline(500, 8);
    t.add(0, 'flow');
    t.add(499, 'flow', 2);
    t.add(500, 'unicast', 3);
    t.add(1700, 'copy');
    t.add(-20, 'flow'); // before the origin: first bucket
    expect(t.snapshot()).toEqual({ bucketMs: 500, flow: [4, 0, 0, 0], copy: [0, 0, 0, 1], unicast: [0, 3, 0, 0] });
  });

  it('doubles the bucket width instead of growing past maxBuckets, keeping every count', () => {
    const t = new PathTimeline(100, 4);
    for (let ms = 0; ms < 1000; ms += 10) t.add(ms, ms < 500 ? 'flow' : 'unicast');
    const s = t.snapshot();
    expect(s.bucketMs).toBe(400);
    expect(s.flow.length).toBeLessThanOrEqual(4);
    expect(s.flow.reduce((a, b) => a + b, 0)).toBe(50);
    expect(s.unicast.reduce((a, b) => a + b, 0)).toBe(50);
    expect(s.flow).toEqual([40, 10, 0]);
    expect(s.unicast).toEqual([0, 30, 20]);
  });

  it('rejects a bad shape with a typed error', () => {
    for (const [w, n] of [[0, 4], [100, 3], [100, 1], [Number.NaN, 4]] as const) {
      let err: unknown;
      try {
        new PathTimeline(w, n);
      } catch (e) {
        err = e;
      }
      expect(isFcastError(err) && err.code).toBe('CONFIG');
    }
  });
});
