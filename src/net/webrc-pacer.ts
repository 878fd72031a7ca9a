// Sending side of WEBRC (RFC 3738 §3.1): the send loop's pacing when the session runs WEBRC. The
// schedule (src/rate through src/carousel/channels.ts) decides when each packet goes and on which
// channel; this shell only keeps time (performance.now() and timers live here) and waits for the
// next slot. Replaces the token bucket: the aggregate rate is the schedule's SR_P.
import { ChannelSlots } from '../carousel/channels.js';
import type { ScheduleRates, WebrcParams } from '../rate/index.js';

export class WebrcPacer {
  private readonly slots: ChannelSlots;

  /** `startMs`: the performance.now() at which slot 0 begins. */
  constructor(params: WebrcParams, private readonly startMs: number) {
    this.slots = new ChannelSlots(params, startMs);
  }

  /** Wait for the next packet slot, stamp its CCI into `datagram`, return its channel number. */
  async place(datagram: Uint8Array): Promise<number> {
    for (;;) {
      const now = performance.now();
      const slot = this.slots.place(now, datagram);
      if (slot !== undefined) return slot.cn;
      // Timers fire in whole milliseconds: the slots that came due meanwhile go out back to back.
      const wait = this.slots.due() - now;
      await new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(wait))));
    }
  }

  /** Nominal per-channel rates now (packets/s). */
  rates(): ScheduleRates {
    return this.slots.schedule.rates(Math.max(this.startMs, performance.now()));
  }
}
