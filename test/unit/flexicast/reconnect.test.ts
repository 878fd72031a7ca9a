// The receiver session across a lost control connection (src/flexicast/receiver.ts): nothing is
// sent while it is down, REPORTs wait and keep their completed objects, the same session's
// ANNOUNCE on a new connection re-joins (JOIN, then LISTENING or FALLBACK after the KEY, and a
// REPORT at once with what is missing), another session ends the receive. And the dial backoff.
import { describe, expect, it } from 'vitest';
import { FlexReceiverSession, type ReceiverAction } from '../../../src/flexicast/index.js';
import { retryDelayMs } from '../../../src/net/flex-receiver.js';
import type { AnnounceMessage } from '../../../src/wire/flexicast.js';

const announce: AnnounceMessage = {
  kind: 'announce', flowId: 5, tsi: 9, cipher: 1, source: '10.0.0.1', channels: [{ address: '239.1.1.1', port: 4000 }], fecEncodingId: 3, fecInstanceId: 0,
  symbolSize: 1400, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, rateBps: 1e6, reportIntervalMs: 100, dFbMs: 400, fcMsg: 'off', flowAddress: '', flowPort: 0,
};
const key = (epoch: number) => ({ kind: 'key' as const, flowId: 5, epoch, secret: new Uint8Array(32).fill(epoch) });

function drain(s: FlexReceiverSession): ReceiverAction[] {
  const out: ReceiverAction[] = [];
  for (let a = s.poll(); a !== undefined; a = s.poll()) out.push(a);
  return out;
}
const sent = (as: ReceiverAction[]) => as.flatMap((a) => (a.kind === 'send' ? [a.message.kind === 'state' ? a.message.action : a.message.kind] : []));

function listening(noMulticast = false): FlexReceiverSession {
  const s = new FlexReceiverSession({ noMulticast, random: () => 0.5 });
  s.handleFrame(0, announce);
  s.handleFrame(1, key(1));
  s.channelsJoined(2);
  drain(s);
  return s;
}

describe('flexicast receiver session: reconnect', () => {
  it('sends nothing while disconnected; re-joins with JOIN, LISTENING after the KEY and a REPORT at once with needs and completed objects', () => {
    const s = listening();
    s.connectionLost();
    expect(s.disconnected).toBe(true);
    s.setProgress([{ toi: 2, sbn: 0, needed: 7 }], [{ toi: 3, digest: new Uint8Array(0) }]);
    s.askFallback();
    s.handleTimeout(500);
    expect(drain(s)).toEqual([]);
    s.handleFrame(600, announce);
    expect(sent(drain(s))).toEqual(['join']);
    s.handleFrame(610, key(2));
    expect(s.disconnected).toBe(false);
    expect(sent(drain(s))).toEqual(['listening']);
    expect(s.nextTimeout()).toBe(610);
    s.handleTimeout(610);
    const [report] = drain(s);
    expect(report?.kind === 'send' && report.message.kind === 'report' ? report.message : undefined).toMatchObject({
      needs: [{ toi: 2, sbn: 0, needed: 7, received: 0 }], completed: [{ toi: 3 }],
    });
  });

  it('a --no-multicast receiver asks for unicast again after re-joining', () => {
    const s = new FlexReceiverSession({ noMulticast: true, random: () => 0.5 });
    s.handleFrame(0, announce);
    s.handleFrame(1, key(1));
    expect(sent(drain(s))).toEqual(['join', 'fallback']);
    s.connectionLost();
    s.handleFrame(50, announce);
    s.handleFrame(51, key(1));
    expect(sent(drain(s))).toEqual(['join', 'fallback']);
  });

  it('ANNOUNCE on the same connection changes nothing; another session on a new one ends the receive', () => {
    const s = listening();
    s.handleFrame(10, { ...announce, flowId: 6 });
    expect(drain(s)).toEqual([]);
    s.connectionLost();
    s.handleFrame(20, { ...announce, flowId: 6 });
    expect(drain(s)).toEqual([{ kind: 'session-ended' }]);
  });

  it('dial backoff: 100 ms doubling to 5 s, ± 25 %', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 30].map((n) => retryDelayMs(n, () => 0.5))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(retryDelayMs(1, () => 0)).toBe(75);
    expect(retryDelayMs(9, () => 0.999)).toBeLessThanOrEqual(6250);
  });
});
