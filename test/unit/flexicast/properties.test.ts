// Properties of the flexicast machines under arbitrary (valid) input sequences: nothing throws,
// unicast never exceeds the global budget, grants only go to fallen-back receivers for blocks
// they reported, and the receiver session accepts any frame sequence.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FlexController, FlexReceiverSession } from '../../../src/flexicast/index.js';
import type { AnnounceMessage, FlexMessage, StateAction } from '../../../src/wire/flexicast.js';

const announce: AnnounceMessage = {
  kind: 'announce', flowId: 1, tsi: 1, cipher: 1, source: '10.0.0.1', channels: [{ address: '239.1.1.1', port: 1 }],
  fcMsg: 'off', flowAddress: '0.0.0.0', flowPort: 0, fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1000, maxSourceBlockLength: 10, maxEncodingSymbols: 20,
  rateBps: 0, reportIntervalMs: 100, dFbMs: 250,
};
const ids = ['a', 'b', 'c', 'd'];
const action = fc.constantFrom<StateAction>('join', 'listening', 'leave', 'fallback', 'return');
const op = fc.oneof(
  fc.record({ k: fc.constant('add' as const), id: fc.constantFrom(...ids) }),
  fc.record({ k: fc.constant('remove' as const), id: fc.constantFrom(...ids) }),
  fc.record({ k: fc.constant('state' as const), id: fc.constantFrom(...ids), action, flowId: fc.constantFrom(1, 2) }),
  fc.record({
    k: fc.constant('report' as const), id: fc.constantFrom(...ids), seen: fc.nat(1000), flowId: fc.constantFrom(1, 1, 2),
    needs: fc.array(fc.record({ toi: fc.nat(3), sbn: fc.nat(3), needed: fc.nat(50), received: fc.nat(80) }), { maxLength: 5 }),
  }),
  fc.record({ k: fc.constant('sent' as const), n: fc.nat(20) }),
  fc.record({ k: fc.constant('timeout' as const) }),
);

describe('flexicast machines under arbitrary input', () => {
  it('controller: no throw, budget respected, grants only where reported and fallen back', () => {
    fc.assert(fc.property(fc.array(fc.tuple(op, fc.nat(300)), { maxLength: 200 }), (ops) => {
      const budget = 500_000;
      const c = new FlexController({ announce, unicastBudgetBytesPerSec: budget, rotateIntervalMs: 2000, keyLeadMs: 30 });
      const reported = new Map<string, Set<string>>();
      let now = 0;
      let bytes = 0;
      for (const [o, dt] of ops) {
        now += dt;
        switch (o.k) {
          case 'add': c.addReceiver(now, o.id); break;
          case 'remove': c.removeReceiver(now, o.id); reported.delete(o.id); break;
          case 'state': c.handleState(now, o.id, { kind: 'state', flowId: o.flowId, action: o.action, origin: 'receiver' }); break;
          case 'report':
            c.handleReport(now, o.id, { kind: 'report', flowId: o.flowId, seq: 0, packetsSeen: [o.seen], needs: o.needs, completed: [] });
            if (o.flowId === 1) reported.set(o.id, new Set(o.needs.filter((b) => b.needed > 0).map((b) => `${b.toi}:${b.sbn}`)));
            break;
          case 'sent': c.noteFlowSent(now, o.n); break;
          case 'timeout': c.handleTimeout(now); break;
        }
        for (let a = c.poll(); a !== undefined; a = c.poll()) {
          if (a.kind !== 'unicast') continue;
          expect(c.stateOf(a.receiver)).toBe('fallback');
          expect(reported.get(a.receiver)?.has(`${a.toi}:${a.sbn}`)).toBe(true);
          expect(a.symbols).toBeGreaterThan(0);
          bytes += a.symbols * 1020;
        }
        expect(bytes).toBeLessThanOrEqual((budget * now) / 1000 + budget * 0.05 + 1);
        const t = c.nextTimeout();
        if (t !== undefined) expect(Number.isFinite(t)).toBe(true);
      }
    }), { numRuns: 500 });
  });

  it('receiver session: any sequence of frames and flow bytes is handled without throwing', () => {
    const frame: fc.Arbitrary<FlexMessage> = fc.oneof(
      fc.constant(announce),
      fc.record({ kind: fc.constant('key' as const), flowId: fc.constantFrom(1, 2), epoch: fc.nat(5), secret: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
      fc.record({ kind: fc.constant('state' as const), flowId: fc.constantFrom(1, 2), action, origin: fc.constantFrom<'receiver' | 'sender'>('sender', 'receiver') }),
      fc.record({ kind: fc.constant('data' as const), toi: fc.nat(), sbn: fc.nat(), esi: fc.nat(), symbol: fc.uint8Array({ minLength: 1, maxLength: 10 }) }),
    );
    fc.assert(fc.property(fc.array(fc.oneof(frame, fc.uint8Array({ maxLength: 60 })), { maxLength: 60 }), (items) => {
      const s = new FlexReceiverSession({ noMulticast: false, random: () => 0.3 });
      let now = 0;
      for (const it of items) {
        now += 7;
        if (it instanceof Uint8Array) { if (s.session !== undefined) s.openFlowPacket(now, 0, it); }
        else s.handleFrame(now, it);
        s.handleTimeout(now);
        for (let a = s.poll(); a !== undefined; a = s.poll()) if (a.kind === 'join-channels') s.channelsJoined(now);
      }
    }), { numRuns: 500 });
  });
});
