// A packet of the previous time slot arriving after the slot change (each channel has its own
// socket, so packets of different channels are handled in no fixed order) is stale, whatever Q
// is (RFC 3738 §3.2.3.3). With QD = 2·TSD (Q = 2) the RFC's example bound d > T − Q/2 = T − 1 is
// never met: the late packet was taken as T − 1 slot changes, every joined wave was left and its
// unsent tail counted lost (`fcast send --webrc-tsd 2 --webrc-qd 4` on loopback: 15,413 "lost").
import { describe, expect, it } from 'vitest';
import { resolveWebrcParams } from '../../../src/rate/params.js';
import { WebrcReceiver } from '../../../src/rate/receiver.js';

describe('stale CTSI with a small Q', () => {
  it.each([
    ['Q = 2 (TSD 2 s, QD 4 s)', 2, 4],
    ['Q = 1 (TSD 2 s, QD 2 s)', 2, 2],
  ])('%s: a packet one slot late is ignored, not a run of slot changes', (_name, tsd, qd) => {
    const params = resolveWebrcParams({ srBps: 40e6, packetLength: 1476, n: 10, tsd, qd });
    const base = params.baseCn;
    const rx = new WebrcReceiver(params, 0);
    while (rx.poll() !== undefined);
    rx.onPacket(50, { cn: base, ctsi: 4, psn: 0 });
    rx.onPacket(2050, { cn: base, ctsi: 5, psn: params.l });
    expect(rx.status().ctsi).toBe(5);
    rx.onPacket(2060, { cn: base, ctsi: 4, psn: params.l - 1 });
    expect(rx.status().ctsi).toBe(5);
    expect(rx.stats.staleCtsi).toBe(1);
    expect(rx.stats.lost).toBe(0);
  });
});
