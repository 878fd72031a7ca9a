// Sending side of WEBRC (RFC 3738 §3.1): the send loop's pacing when the session runs WEBRC. The
// schedule (src/rate through src/carousel/channels.ts) decides when each packet goes and on which
// channel; this shell only keeps time (performance.now() and timers live here) and waits for the
// next slot. The aggregate rate is the schedule's SR_P.
//
// Catching up [ours]: a slot is never skipped (receivers count a PSN gap as a loss), so after a
// stall (a busy machine, GC, a slow read) the overdue slots must still go. They go through a
// token bucket at CATCH_UP times SR_b instead of back to back: measured in the netns test, bursts
// at full speed after stalls overflowed the 50 ms queue of a receiver's link even when its layers
// used only half of it, and the loss events held its WEBRC rate down.
import { ChannelSlots } from '../carousel/channels.js';
import type { ScheduleRates, WebrcParams } from '../rate/index.js';
import { TokenBucket, paceAsync } from './pacer.js';

const CATCH_UP = 1.5;

export class WebrcPacer {
  private readonly slots: ChannelSlots;
  private readonly bucket: TokenBucket;

  /** `startMs`: the performance.now() at which slot 0 begins. */
  constructor(params: WebrcParams, private readonly startMs: number) {
    this.slots = new ChannelSlots(params, startMs);
    this.bucket = new TokenBucket({ bitsPerSecond: CATCH_UP * params.srBps }, startMs);
  }

  /** Without waiting: the channel of the next slot when it is due and the catch-up bucket allows it (CCI stamped), else undefined. */
  placeNow(datagram: Uint8Array): number | undefined {
    const now = performance.now();
    if (this.slots.due() > now || this.bucket.reserve(now, this.slots.params.packetLength) > 0) return undefined;
    return this.slots.place(now, datagram)!.cn;
  }

  /** Wait for the next packet slot, stamp its CCI into `datagram`, return its channel number. */
  async place(datagram: Uint8Array): Promise<number> {
    for (;;) {
      const now = performance.now();
      if (this.slots.due() <= now) {
        await paceAsync(this.bucket, this.slots.params.packetLength);
        return this.slots.place(Math.max(now, this.slots.due()), datagram)!.cn;
      }
      // Timers fire in whole milliseconds: the slots that came due meanwhile go out together.
      const wait = this.slots.due() - now;
      await new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(wait))));
    }
  }

  /** Nominal per-channel rates now (packets/s). */
  rates(): ScheduleRates {
    return this.slots.schedule.rates(Math.max(this.startMs, performance.now()));
  }
}
