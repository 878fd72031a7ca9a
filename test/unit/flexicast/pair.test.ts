// Sender controller and receiver session wired together in virtual time (STYLE §7), every frame
// encoded and decoded on the way: join, key, encrypted flow, fallback with unicast symbols and
// return, forged packets that must not mask a failure, key rotation, and --no-multicast.
import { describe, expect, it } from 'vitest';
import { FlexController, FlowSealer, deriveFlowKey } from '../../../src/flexicast/index.js';
import { FlexReceiverSession, type BlockProgress, type ReceiverAction } from '../../../src/flexicast/receiver.js';
import { decodeFrame, encodeFrame, type AnnounceMessage } from '../../../src/wire/flexicast.js';

const R = 100;
const DFB = 300;
const announce: AnnounceMessage = {
  kind: 'announce', flowId: 5, tsi: 2, cipher: 1, source: '10.0.0.1', channels: [{ address: '239.9.9.9', port: 5000 }, { address: '239.9.9.10', port: 5000 }],
  fcMsg: 'off', flowAddress: '0.0.0.0', flowPort: 0, fecEncodingId: 3, fecInstanceId: 0, symbolSize: 500, maxSourceBlockLength: 64, maxEncodingSymbols: 128,
  rateBps: 0, reportIntervalMs: R, dFbMs: DFB,
};

interface Rx {
  id: string;
  s: FlexReceiverSession;
  up: (t: number) => boolean;
  need: number;
  actions: Array<{ t: number; a: ReceiverAction }>;
}

/** Run sender and receivers in 1 ms steps; the flow sends one sealed packet per channel every 5 ms. */
function world(rxs: Rx[], opts: { forge?: (t: number) => boolean; keyLeadMs?: number } = {}) {
  const ctl = new FlexController({ announce, unicastBudgetBytesPerSec: 2_000_000, keyLeadMs: opts.keyLeadMs ?? 50 });
  let sealer = new FlowSealer(deriveFlowKey(5, ctl.flowKey.epoch, ctl.flowKey.secret));
  const byId = new Map(rxs.map((r) => [r.id, r]));
  const wire = <T>(m: T): T => decodeFrame(encodeFrame(m as never)) as T;
  let esi = 0;
  const senderDrain = (t: number) => {
    for (let a = ctl.poll(); a !== undefined; a = ctl.poll()) {
      if (a.kind === 'send') byId.get(a.receiver)?.s.handleFrame(t, wire(a.message));
      if (a.kind === 'unicast') for (let i = 0; i < a.symbols; i++) byId.get(a.receiver)?.s.handleFrame(t, wire({ kind: 'data', toi: a.toi, sbn: a.sbn, esi: esi++, symbol: new Uint8Array(500) }));
      if (a.kind === 'rotate') sealer.rotate(deriveFlowKey(5, a.epoch, a.secret));
    }
  };
  const receiverDrain = (t: number, r: Rx) => {
    for (let a = r.s.poll(); a !== undefined; a = r.s.poll()) {
      r.actions.push({ t, a });
      if (a.kind === 'send') {
        const m = wire(a.message);
        if (m.kind === 'state') ctl.handleState(t, r.id, m);
        else ctl.handleReport(t, r.id, m);
      }
      if (a.kind === 'join-channels') r.s.channelsJoined(t);
      if (a.kind === 'symbol') r.need = Math.max(0, r.need - 1);
    }
  };
  const needs = (r: Rx): BlockProgress[] => (r.need > 0 ? [{ toi: 1, sbn: 0, needed: r.need }] : []);
  const step = (t: number) => {
    if (t % 5 === 0) {
      const pkts = announce.channels.map(() => sealer.seal(new Uint8Array(520)));
      ctl.noteFlowSent(t, pkts.length);
      for (const r of rxs) {
        pkts.forEach((p, ch) => { if (r.up(t)) r.s.openFlowPacket(t, ch, p); });
        if (opts.forge?.(t)) {
          const forged = pkts[0]!.slice();
          forged[40]! ^= 1;
          r.s.openFlowPacket(t, 0, forged);
        }
      }
    }
    for (const r of rxs) {
      r.s.setProgress(needs(r));
      const due = r.s.nextTimeout();
      if (due !== undefined && due <= t) r.s.handleTimeout(t);
      receiverDrain(t, r);
    }
    const due = ctl.nextTimeout();
    if (due !== undefined && due <= t) ctl.handleTimeout(t);
    senderDrain(t);
    for (const r of rxs) receiverDrain(t, r);
  };
  return {
    ctl,
    connect(t: number, r: Rx) { ctl.addReceiver(t, r.id); senderDrain(t); receiverDrain(t, r); senderDrain(t); receiverDrain(t, r); senderDrain(t); },
    run(from: number, to: number) { for (let t = from; t < to; t++) step(t); },
  };
}

const rx = (id: string, up: (t: number) => boolean, need = 0, noMulticast = false): Rx =>
  ({ id, s: new FlexReceiverSession({ noMulticast, random: () => 0.5 }), up, need, actions: [] });
const kinds = (r: Rx, kind: ReceiverAction['kind']) => r.actions.filter((x) => x.a.kind === kind);

describe('controller and receiver session together', () => {
  it('joins, listens, falls back with unicast symbols, returns; the path follows', () => {
    const cut = 1000;
    const repair = 3000;
    const a = rx('a', (t) => t < cut || t >= repair, 40);
    const w = world([a]);
    w.connect(0, a);
    expect(w.ctl.stateOf('a')).toBe('listening');
    expect(a.s.session?.flowId).toBe(5);
    w.run(1, 900);
    expect(a.s.path(899)).toBe('multicast');
    expect(kinds(a, 'fallback')).toEqual([]);
    w.run(900, 5000);
    const fb = kinds(a, 'fallback');
    expect(fb.map((x) => (x.a as { active: boolean }).active)).toEqual([true, false]);
    expect(fb[0]!.t - cut).toBeLessThanOrEqual(DFB + R * 1.1);
    expect(fb[1]!.t - repair).toBeLessThanOrEqual(R * 1.1 + 5);
    expect(a.need).toBe(0);
    expect(kinds(a, 'symbol').length).toBeGreaterThanOrEqual(40);
    expect(kinds(a, 'symbol').length).toBeLessThanOrEqual(Math.ceil(40 * 1.1) + 2);
    expect(a.s.flowDrops.FLEX_AUTH).toBe(0);
  });

  it('forged flow packets are dropped and counted, and do not hide a multicast failure', () => {
    const cut = 1000;
    const a = rx('a', (t) => t < cut, 10);
    const w = world([a], { forge: (t) => t >= cut });
    w.connect(0, a);
    w.run(1, 2000);
    expect(a.s.flowDrops.FLEX_AUTH).toBeGreaterThan(100);
    expect(kinds(a, 'fallback').map((x) => x.t - cut)).toHaveLength(1);
    expect(a.need).toBe(0);
    const lastSymbol = kinds(a, 'symbol').at(-1)!.t;
    expect(a.s.path(lastSymbol)).toBe('unicast');
  });

  it('keeps opening the flow across a key rotation caused by another member leaving', () => {
    const a = rx('a', () => true);
    const b = rx('b', () => true);
    const w = world([a, b]);
    w.connect(0, a);
    w.connect(0, b);
    w.run(1, 500);
    b.s.leave(500); // its LEAVE reaches the controller on the next step
    w.run(501, 1500);
    expect(w.ctl.flowKey.epoch).toBe(1);
    expect(a.s.flowDrops.FLEX_EPOCH).toBe(0);
    expect(kinds(a, 'fallback')).toEqual([]);
    // b, gone, was not given the new key: the flow it still hears is unreadable after the switch.
    expect(b.s.flowDrops.FLEX_EPOCH).toBeGreaterThan(300);
    const sealer = new FlowSealer(deriveFlowKey(5, w.ctl.flowKey.epoch, w.ctl.flowKey.secret));
    expect(b.s.openFlowPacket(1500, 0, sealer.seal(new Uint8Array(10)))).toBeUndefined();
  });

  it('--no-multicast: never joins the channels, gets everything by unicast', () => {
    const u = rx('u', () => false, 30, true);
    const w = world([u]);
    w.connect(0, u);
    expect(kinds(u, 'join-channels')).toEqual([]);
    expect(w.ctl.stateOf('u')).toBe('fallback');
    w.run(1, 1000);
    expect(u.need).toBe(0);
    expect(u.s.path(999)).toBe('none'); // delivered long ago, nothing since
  });
});
