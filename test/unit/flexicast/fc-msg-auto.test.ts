// FC-msg 'auto' in the controller (src/flexicast/controller.ts), in virtual time: copies of the
// sealed flow switch on when no receiver on the flow gets multicast for D_fb, the copies bring the
// receivers back from unicast, the first multicast progress switches them off again, and a single
// receiver with working multicast keeps them off for everyone.
import { describe, expect, it } from 'vitest';
import { FlexController, type ControllerAction } from '../../../src/flexicast/controller.js';
import type { AnnounceMessage, FcMsgMode } from '../../../src/wire/flexicast.js';

const R = 100;
const DFB = 300;
const announce = (fcMsg: FcMsgMode): AnnounceMessage => ({
  kind: 'announce', flowId: 9, tsi: 1, cipher: 1, source: '10.0.0.1', channels: [{ address: '239.1.1.1', port: 4000 }],
  fcMsg, flowAddress: '10.0.0.1', flowPort: fcMsg === 'off' ? 0 : 4001, fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1000,
  maxSourceBlockLength: 100, maxEncodingSymbols: 200, rateBps: 0, reportIntervalMs: R, dFbMs: DFB,
});

interface Rx { id: string; multicast: (t: number) => boolean; seen: [number, number] }
interface Ev { t: number; a: ControllerAction }

/** Receivers join at t=0; the flow sends every 5 ms; each reports [multicast, copies] every R ms. */
function simulate(mode: FcMsgMode, rxs: Rx[], until: number, flowFrom = 0): { ctl: FlexController; log: Ev[] } {
  const ctl = new FlexController({ announce: announce(mode), unicastBudgetBytesPerSec: 1e6 });
  const log: Ev[] = [];
  let copying = mode === 'on';
  const state = (action: 'join' | 'listening') => ({ kind: 'state' as const, flowId: 9, action, origin: 'receiver' as const });
  for (const r of rxs) {
    ctl.addReceiver(0, r.id);
    ctl.handleState(0, r.id, state('join'));
    ctl.handleState(0, r.id, state('listening'));
  }
  for (let t = 0; t < until; t++) {
    if (t >= flowFrom && t % 5 === 0) {
      ctl.noteFlowSent(t, 1);
      for (const r of rxs) {
        if (r.multicast(t)) r.seen[0]++;
        if (copying) r.seen[1]++;
      }
    }
    for (const [i, r] of rxs.entries()) {
      if ((t + 37 * i) % R === 0) ctl.handleReport(t, r.id, { kind: 'report', flowId: 9, seq: t, packetsSeen: [...r.seen], needs: [], completed: [] });
    }
    const due = ctl.nextTimeout();
    if (due !== undefined && due <= t) ctl.handleTimeout(t);
    for (let a = ctl.poll(); a !== undefined; a = ctl.poll()) {
      if (a.kind === 'fc-msg') copying = a.on;
      if (a.kind !== 'send') log.push({ t, a });
    }
  }
  return { ctl, log };
}

const pick = (log: Ev[], kind: ControllerAction['kind']) => log.filter((e) => e.a.kind === kind);

describe('FC-msg auto', () => {
  it('no multicast anywhere: copies on within D_fb, receivers return; multicast back: copies off, a still-blocked receiver falls back', () => {
    const a: Rx = { id: 'a', multicast: (t) => t >= 3000, seen: [0, 0] };
    const b: Rx = { id: 'b', multicast: () => false, seen: [0, 0] };
    const { ctl, log } = simulate('auto', [a, b], 5000);
    const switches = pick(log, 'fc-msg');
    expect(switches.map((e) => e.a)).toEqual([
      { kind: 'fc-msg', on: true, reason: 'no-multicast' },
      { kind: 'fc-msg', on: false, reason: 'multicast-back' },
    ]);
    const [on, off] = switches;
    // On: as soon as both went D_fb without multicast since they started listening (t=0).
    expect(on!.t).toBe(DFB);
    // Off: a's first report after multicast came back.
    expect(off!.t).toBeGreaterThanOrEqual(3000);
    expect(off!.t).toBeLessThanOrEqual(3000 + R);
    const paths = pick(log, 'path').map((e) => ({ t: e.t, ...(e.a as Extract<ControllerAction, { kind: 'path' }>) })).filter((p) => p.reason !== 'join');
    // Both fell back when the flow failed them, and came back on the copies within a report or two.
    for (const id of ['a', 'b']) {
      const mine = paths.filter((p) => p.receiver === id);
      expect(mine[0]).toMatchObject({ path: 'unicast', reason: 'flow-failed' });
      expect(mine[1]).toMatchObject({ path: 'multicast', reason: 'flow-resumed' });
      expect(mine[1]!.t - on!.t).toBeLessThanOrEqual(2 * R);
    }
    // b has neither multicast nor copies after the switch-off: it falls back within D_fb + R.
    const bLast = paths.filter((p) => p.receiver === 'b').at(-1)!;
    expect(bLast).toMatchObject({ path: 'unicast', reason: 'flow-failed' });
    expect(bLast.t - off!.t).toBeLessThanOrEqual(DFB + R);
    // a stayed on the flow.
    expect(paths.filter((p) => p.receiver === 'a').at(-1)).toMatchObject({ path: 'multicast' });
    expect(ctl.stats()).toMatchObject({ copying: false, copiesOn: 1, copiesOff: 1 });
  });

  it('one receiver with multicast keeps copies off, though the other falls back to unicast', () => {
    const { ctl, log } = simulate('auto', [{ id: 'a', multicast: () => true, seen: [0, 0] }, { id: 'b', multicast: () => false, seen: [0, 0] }], 3000);
    expect(pick(log, 'fc-msg')).toEqual([]);
    expect(ctl.stats()).toMatchObject({ copying: false, copiesOn: 0, members: { listening: 1, fallback: 1 } });
  });

  it('receivers listening long before the flow starts: D_fb is counted from the flow start, so working multicast keeps copies off', () => {
    const { ctl, log } = simulate('auto', [{ id: 'a', multicast: () => true, seen: [0, 0] }], 3000, 1000);
    expect(pick(log, 'fc-msg')).toEqual([]);
    expect(ctl.stats()).toMatchObject({ copying: false, copiesOn: 0, members: { listening: 1 } });
    // Without multicast, the copies come D_fb after the flow started.
    const cut = simulate('auto', [{ id: 'b', multicast: () => false, seen: [0, 0] }], 3000, 1000);
    expect(pick(cut.log, 'fc-msg').map((e) => [e.t, (e.a as { on: boolean }).on])).toEqual([[1000 + DFB, true]]);
  });

  it("'on' copies from the start and 'off' never, with no switching", () => {
    for (const mode of ['on', 'off'] as const) {
      const { ctl, log } = simulate(mode, [{ id: 'a', multicast: () => false, seen: [0, 0] }], 2000);
      expect(pick(log, 'fc-msg')).toEqual([]);
      expect(ctl.stats().copying).toBe(mode === 'on');
      // 'on': the copies keep the receiver on the flow; 'off': it is on unicast.
      expect(ctl.stateOf('a')).toBe(mode === 'on' ? 'listening' : 'fallback');
    }
  });
});
