// Packets per path over time for one flexicast receiver (issue 6's flapping measurement, after the
// seed paper's Figure 10: data received over the flow and over unicast while the multicast path
// fails and comes back). Sans-IO: the shell adds each delivered packet with its time.
//
// Bounded memory for any session length: at most `maxBuckets` buckets; when the next packet falls
// past the last one, neighbouring buckets are merged in pairs and the width doubles.

import { LocalProtocolError } from '../errors.js';

export type TimelinePath = 'flow' | 'copy' | 'unicast';

export interface TimelineSnapshot {
  /** Width of each bucket, ms (starts at the configured width, doubles as the session grows). */
  readonly bucketMs: number;
  /** Flow packets from the multicast channels per bucket, from time 0. */
  readonly flow: readonly number[];
  /** Flow packets copied by unicast UDP (FC-msg) per bucket. */
  readonly copy: readonly number[];
  /** Unicast DATA packets (QUIC fallback) per bucket. */
  readonly unicast: readonly number[];
}

export class PathTimeline {
  private width: number;
  private readonly counts: Record<TimelinePath, number[]> = { flow: [], copy: [], unicast: [] };

  constructor(bucketMs = 500, private readonly maxBuckets = 256) {
    if (!(bucketMs > 0) || !Number.isInteger(maxBuckets) || maxBuckets < 2 || maxBuckets % 2 !== 0) {
      throw new LocalProtocolError('CONFIG', `timeline of ${maxBuckets} buckets of ${bucketMs} ms`);
    }
    this.width = bucketMs;
  }

  /** Count `n` packets that arrived by `path` at `now` (ms since the timeline's origin; earlier times count at 0). */
  add(now: number, path: TimelinePath, n = 1): void {
    let i = Math.floor(Math.max(0, now) / this.width);
    while (i >= this.maxBuckets) {
      this.halve();
      i = Math.floor(Math.max(0, now) / this.width);
    }
    for (const c of Object.values(this.counts)) while (c.length <= i) c.push(0);
    this.counts[path][i]! += n;
  }

  snapshot(): TimelineSnapshot {
    return { bucketMs: this.width, flow: [...this.counts.flow], copy: [...this.counts.copy], unicast: [...this.counts.unicast] };
  }

  private halve(): void {
    this.width *= 2;
    for (const c of Object.values(this.counts)) {
      const merged: number[] = [];
      for (let i = 0; i < c.length; i += 2) merged.push(c[i]! + (c[i + 1] ?? 0));
      c.splice(0, c.length, ...merged);
    }
  }
}
