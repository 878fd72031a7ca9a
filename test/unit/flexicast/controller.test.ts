// Flexicast controller (src/flexicast/controller.ts) in virtual time: fallback within D_fb plus
// one report interval, return on resumed progress, unicast grants for exactly what is lacking,
// the global budget under correlated failure, unicast first for mid-session joiners, rotation.
import { describe, expect, it } from 'vitest';
import {
  FlexController, type ControllerAction, type ControllerConfig, type ReceiverId,
} from '../../../src/flexicast/controller.js';
import type { AnnounceMessage, BlockNeed, StateMessage } from '../../../src/wire/flexicast.js';

const R = 100; // report interval, ms
const DFB = 300;
const announce: AnnounceMessage = {
  kind: 'announce', flowId: 42, tsi: 1, cipher: 1, source: '127.0.0.1', channels: [{ address: '239.1.1.1', port: 4000 }],
  fcMsg: 'off', flowAddress: '0.0.0.0', flowPort: 0, fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1000, maxSourceBlockLength: 100, maxEncodingSymbols: 200,
  rateBps: 0, reportIntervalMs: R, dFbMs: DFB,
};

let secretCounter = 0;
function controller(extra: Partial<ControllerConfig> = {}): FlexController {
  return new FlexController({
    announce, unicastBudgetBytesPerSec: 1_000_000,
    randomSecret: () => new Uint8Array(32).fill(++secretCounter), ...extra,
  });
}

const state = (action: StateMessage['action']): StateMessage => ({ kind: 'state', flowId: 42, action, origin: 'receiver' });

function drain(c: FlexController): ControllerAction[] {
  const out: ControllerAction[] = [];
  for (let a = c.poll(); a !== undefined; a = c.poll()) out.push(a);
  return out;
}

/** A receiver model: sees flow packets while its multicast works, reports every R ms. */
interface SimReceiver {
  id: ReceiverId;
  up: (t: number) => boolean;
  seen: number;
  needs: Map<string, BlockNeed>;
  reportOffset: number;
}

interface Log { t: number; a: ControllerAction }

/** Drive the controller in 1 ms steps: flow sends every `flowEvery` ms while `sending(t)`. */
function run(c: FlexController, rs: SimReceiver[], from: number, to: number, opts: { flowEvery?: number; sending?: (t: number) => boolean; log: Log[] }): void {
  const flowEvery = opts.flowEvery ?? 5;
  const byId = new Map(rs.map((r) => [r.id, r]));
  for (let t = from; t < to; t++) {
    if ((opts.sending?.(t) ?? true) && t % flowEvery === 0) {
      c.noteFlowSent(t, 1);
      for (const r of rs) if (r.up(t)) r.seen++;
    }
    for (const r of rs) {
      if ((t - r.reportOffset) % R === 0) {
        c.handleReport(t, r.id, { kind: 'report', flowId: 42, seq: t, packetsSeen: [r.seen], needs: [...r.needs.values()], completed: [] });
      }
    }
    const due = c.nextTimeout();
    if (due !== undefined && due <= t) c.handleTimeout(t);
    for (const a of drain(c)) {
      opts.log.push({ t, a });
      if (a.kind === 'unicast') {
        // Delivered at once: fresh symbols reduce the need one for one.
        const r = byId.get(a.receiver)!;
        const k = `${a.toi}:${a.sbn}`;
        const n = r.needs.get(k);
        if (n !== undefined) {
          // Fresh symbols reduce the need one for one; the receiver counts what it got.
          const left = n.needed - a.symbols;
          if (left <= 0) r.needs.delete(k); else r.needs.set(k, { ...n, needed: left, received: n.received + a.symbols });
        }
      }
    }
  }
}

function join(c: FlexController, id: ReceiverId, t: number): ControllerAction[] {
  c.addReceiver(t, id);
  c.handleState(t, id, state('join'));
  c.handleState(t, id, state('listening'));
  return drain(c);
}

function simReceiver(id: ReceiverId, up: (t: number) => boolean, offset = 0, needs: Array<Omit<BlockNeed, 'received'>> = []): SimReceiver {
  return { id, up, seen: 0, reportOffset: offset, needs: new Map(needs.map((b) => [`${b.toi}:${b.sbn}`, { ...b, received: 0 }])) };
}

const paths = (log: Log[], id: ReceiverId) =>
  log.filter((l) => l.a.kind === 'path' && l.a.receiver === id).map((l) => ({ t: l.t, a: l.a as Extract<ControllerAction, { kind: 'path' }> }));

describe('flexicast controller', () => {
  it('handshake: ANNOUNCE on connect, KEY on JOIN, multicast path on LISTENING before the flow runs', () => {
    const c = controller();
    const out = join(c, 'a', 0);
    expect(out.map((a) => a.kind === 'send' ? a.message.kind : a.kind)).toEqual(['announce', 'key', 'path']);
    const key = out[1] as Extract<ControllerAction, { kind: 'send' }>;
    expect(key.message).toMatchObject({ kind: 'key', epoch: 0, secret: c.flowKey.secret });
    expect(c.stateOf('a')).toBe('listening');
  });

  it('falls back within D_fb + one report interval of the cut, and returns after repair', () => {
    for (const [cut, offset] of [[2000, 0], [2037, 13], [2099, 50], [2150, 99]] as const) {
      const c = controller();
      const log: Log[] = [];
      const repair = 5000;
      const r = simReceiver('a', (t) => t < cut || t >= repair, offset, [{ toi: 1, sbn: 0, needed: 30 }]);
      join(c, 'a', 0);
      run(c, [r], 1, 7000, { log });
      const p = paths(log, 'a');
      expect(p.map((x) => [x.a.path, x.a.reason])).toEqual([['unicast', 'flow-failed'], ['multicast', 'flow-resumed']]);
      const fallbackAfter = p[0]!.t - cut;
      const returnAfter = p[1]!.t - repair;
      expect(fallbackAfter).toBeGreaterThanOrEqual(DFB - R);
      expect(fallbackAfter).toBeLessThanOrEqual(DFB + R);
      expect(returnAfter).toBeLessThanOrEqual(R + 5);
      // While fallen back it got unicast for what it lacked, and the receiver was told both times.
      expect(log.some((l) => l.a.kind === 'unicast' && l.t >= p[0]!.t && l.t < p[1]!.t)).toBe(true);
      const states = log.filter((l) => l.a.kind === 'send' && l.a.message.kind === 'state').map((l) => (l.a as { message: StateMessage }).message.action);
      expect(states).toEqual(['fallback', 'return']);
      expect(c.stats()).toMatchObject({ fallbacks: 1, returns: 1 });
    }
  });

  it('never falls back while the flow is not sending, nor on mere loss', () => {
    const c = controller();
    const log: Log[] = [];
    // Multicast dead from t=1000, but the flow stops at t=900: nothing to miss, no fallback.
    const quiet = simReceiver('quiet', (t) => t < 1000);
    // Heavy loss: sees only one flow packet in ten, yet progress continues.
    let n = 0;
    const lossy = simReceiver('lossy', () => ++n % 10 === 0, 30);
    join(c, 'quiet', 0);
    join(c, 'lossy', 0);
    run(c, [quiet, lossy], 1, 5000, { log, sending: (t) => t < 900 });
    expect(paths(log, 'quiet')).toEqual([]);
    run(c, [lossy], 5000, 8000, { log });
    expect(paths(log, 'lossy')).toEqual([]);
  });

  it('grants exactly what a fallen-back receiver lacks, plus the margin, and stops when it has it', () => {
    const c = controller({ repairMargin: 0.1, extraSymbols: 2 });
    join(c, 'a', 0);
    c.noteFlowSent(10, 1);
    c.handleTimeout(10 + DFB);
    expect(c.stateOf('a')).toBe('fallback');
    drain(c);
    const needs = [{ toi: 7, sbn: 0, needed: 10, received: 0 }, { toi: 7, sbn: 1, needed: 5, received: 0 }];
    c.handleReport(400, 'a', { kind: 'report', flowId: 42, seq: 1, packetsSeen: [0], needs, completed: [] });
    let grants: ControllerAction[] = drain(c).filter((a) => a.kind === 'unicast');
    const sum = (sbn: number) => grants.reduce((s, a) => s + (a.kind === 'unicast' && a.sbn === sbn ? a.symbols : 0), 0);
    expect(sum(0)).toBe(13); // ceil(10 * 1.1) + 2
    expect(sum(1)).toBe(8); // ceil(5 * 1.1) + 2
    // Nothing more while those are in flight, even as time passes and budget refills.
    c.handleTimeout(450);
    expect(drain(c)).toEqual([]);
    // The next report shows one block done and the other, all 8 symbols received, still lacking 1:
    // nothing is in flight any more, so it is granted again.
    c.handleReport(600, 'a', { kind: 'report', flowId: 42, seq: 2, packetsSeen: [0], needs: [{ toi: 7, sbn: 1, needed: 1, received: 8 }], completed: [{ toi: 6, digest: new Uint8Array(32) }] });
    grants = drain(c);
    expect(grants.map((a) => a.kind)).toEqual(['completed', 'unicast']);
    expect(grants[1]).toMatchObject({ toi: 7, sbn: 1, symbols: 4 });
    c.handleReport(700, 'a', { kind: 'report', flowId: 42, seq: 3, packetsSeen: [0], needs: [], completed: [{ toi: 6, digest: new Uint8Array(32) }] });
    expect(drain(c)).toEqual([]);
    expect(c.nextTimeout()).toBeGreaterThan(700); // only the periodic rotation remains
  });

  it('caps unicast at the global budget when 40 receivers lose multicast at once', () => {
    const budget = 1_000_000;
    const c = controller({ unicastBudgetBytesPerSec: budget, burstMs: 50 });
    const log: Log[] = [];
    const cut = 1000;
    const rs = Array.from({ length: 40 }, (_, i) => simReceiver(`r${i}`, (t) => t < cut, i * 2,
      Array.from({ length: 10 }, (_, sbn) => ({ toi: 1, sbn, needed: 100 }))));
    for (const r of rs) join(c, r.id, 0);
    run(c, rs, 1, 6000, { log });
    expect(c.stats().members.fallback).toBe(40);
    const bytesIn = (a: number, b: number) => log.filter((l) => l.a.kind === 'unicast' && l.t >= a && l.t < b)
      .reduce((s, l) => s + (l.a.kind === 'unicast' ? l.a.symbols * 1020 : 0), 0);
    const total = bytesIn(0, 6000);
    const fellBackAt = Math.min(...rs.map((r) => paths(log, r.id)[0]!.t));
    // Never more than the budget over the time since the first fallback, plus one burst.
    expect(total).toBeLessThanOrEqual(budget * (6000 - fellBackAt) / 1000 + budget * 0.05);
    // ... and the budget is used, not wasted: 40 x 1000 symbols are wanted, far more than it allows.
    expect(total).toBeGreaterThan(0.8 * budget * (6000 - fellBackAt - 2 * R) / 1000);
    // In every one-second window the cap holds.
    for (let t = 1000; t + 1000 <= 6000; t += 250) expect(bytesIn(t, t + 1000)).toBeLessThanOrEqual(budget * 1.05 + 1020 * 32);
    // Shared fairly: every receiver got a similar share.
    const per = rs.map((r) => log.filter((l) => l.a.kind === 'unicast' && l.a.receiver === r.id).reduce((s, l) => s + (l.a.kind === 'unicast' ? l.a.symbols : 0), 0));
    expect(Math.min(...per)).toBeGreaterThan(0.5 * Math.max(...per));
  });

  it('counts symbolOverhead (an ALC header per DATA frame) against the budget', () => {
    const budget = 1_000_000;
    const sent = (overhead: number | undefined): number => {
      const c = controller({ unicastBudgetBytesPerSec: budget, burstMs: 50, ...(overhead === undefined ? {} : { symbolOverhead: overhead }) });
      const log: Log[] = [];
      const rs = Array.from({ length: 4 }, (_, i) => simReceiver(`r${i}`, (t) => t < 500, i * 2,
        Array.from({ length: 10 }, (_, sbn) => ({ toi: 1, sbn, needed: 100 }))));
      for (const r of rs) join(c, r.id, 0);
      run(c, rs, 1, 4000, { log });
      return log.reduce((s, l) => s + (l.a.kind === 'unicast' ? l.a.symbols : 0), 0);
    };
    const plain = sent(undefined);
    const withHeader = sent(1000);
    // Symbols cost 1020 bytes by default and 2000 with a 1000-byte overhead: about half as many fit.
    expect(withHeader / plain).toBeGreaterThan(0.4);
    expect(withHeader / plain).toBeLessThan(0.6);
  });

  it('serves a mid-session joiner by unicast first, then moves it to multicast once confirmed', () => {
    const c = controller();
    const log: Log[] = [];
    const early = simReceiver('early', () => true);
    join(c, 'early', 0);
    run(c, [early], 1, 1000, { log });
    // Joins while the flow is running; its multicast works from t=1200 on (group join delay).
    const late = simReceiver('late', (t) => t >= 1200, 17, [{ toi: 3, sbn: 0, needed: 20 }]);
    for (const a of join(c, 'late', 1000)) log.push({ t: 1000, a });
    expect(c.stateOf('late')).toBe('fallback');
    run(c, [early, late], 1001, 2000, { log });
    const p = paths(log, 'late');
    expect(p.map((x) => [x.a.path, x.a.reason])).toEqual([['unicast', 'join'], ['multicast', 'flow-resumed']]);
    expect(p[1]!.t).toBeGreaterThanOrEqual(1200);
    expect(p[1]!.t).toBeLessThanOrEqual(1200 + R + 5);
    expect(log.some((l) => l.a.kind === 'unicast' && l.a.receiver === 'late' && l.t < 1200)).toBe(true);
    expect(paths(log, 'early')).toEqual([]);
  });

  it('rotates the key on a member leave: the next key reaches the others only, then the flow switches', () => {
    const c = controller({ keyLeadMs: 50 });
    for (const id of ['a', 'b', 'c']) join(c, id, 0);
    c.handleState(100, 'b', state('leave'));
    const out = drain(c);
    const keys = out.filter((a) => a.kind === 'send' && a.message.kind === 'key');
    expect(keys.map((a) => (a as { receiver: string }).receiver).sort()).toEqual(['a', 'c']);
    const next = (keys[0] as { message: { epoch: number; secret: Uint8Array } }).message;
    expect(next.epoch).toBe(1);
    expect(c.flowKey.epoch).toBe(0);
    expect(c.nextTimeout()).toBe(150);
    c.handleTimeout(150);
    expect(drain(c)).toEqual([{ kind: 'rotate', epoch: 1, secret: next.secret }]);
    expect(c.flowKey).toEqual({ epoch: 1, secret: next.secret });
    // A leave while a rotation is pending replaces the pending key (the leaver had it).
    c.handleState(200, 'a', state('leave'));
    c.handleState(210, 'c', state('leave'));
    const keys2 = drain(c).filter((a) => a.kind === 'send');
    expect(keys2.map((a) => a.kind === 'send' && a.message.kind === 'key' ? [a.receiver, a.message.epoch] : [])).toEqual([['c', 2]]);
    c.handleTimeout(260);
    expect(drain(c)).toMatchObject([{ kind: 'rotate', epoch: 3 }]);
    expect(c.stats().rotations).toBe(2);
  });

  it('rotates periodically and before the AEAD packet limit; a joiner during a rotation gets both keys', () => {
    const c = controller({ rotateIntervalMs: 10_000, keyLeadMs: 100, rotatePackets: 1000 });
    join(c, 'a', 0);
    c.handleTimeout(9_999);
    expect(drain(c)).toEqual([]);
    expect(c.nextTimeout()).toBe(10_000);
    c.handleTimeout(10_000);
    expect(drain(c)).toMatchObject([{ kind: 'send', receiver: 'a', message: { kind: 'key', epoch: 1 } }]);
    c.addReceiver(10_050, 'b');
    c.handleState(10_050, 'b', state('join'));
    expect(drain(c).map((a) => a.kind === 'send' ? [a.message.kind, a.message.kind === 'key' ? a.message.epoch : -1] : [])).toEqual([['announce', -1], ['key', 0], ['key', 1]]);
    c.handleTimeout(10_100);
    expect(drain(c)).toMatchObject([{ kind: 'rotate', epoch: 1 }]);
    c.noteFlowSent(10_200, 999);
    expect(drain(c)).toEqual([]);
    c.noteFlowSent(10_201, 1);
    expect(drain(c)).toMatchObject([{ kind: 'send', message: { kind: 'key', epoch: 2 } }, { kind: 'send', message: { kind: 'key', epoch: 2 } }]);
  });

  it('ignores reports from strangers, unjoined receivers and other flows', () => {
    const c = controller();
    c.addReceiver(0, 'x');
    drain(c);
    const rep = { kind: 'report' as const, flowId: 42, seq: 1, packetsSeen: [5], needs: [], completed: [] };
    c.handleReport(1, 'nobody', rep);
    c.handleReport(1, 'x', rep);
    join(c, 'y', 2);
    c.handleReport(3, 'y', { ...rep, flowId: 7 });
    expect(c.stats().ignoredReports).toBe(3);
    expect(drain(c)).toEqual([]);
  });
});

describe('flexicast controller: receiver-initiated paths', () => {
  it('a --no-multicast receiver falls back from JOIN and stays on unicast until it asks to return', () => {
    const c = controller();
    c.addReceiver(0, 'u');
    c.handleState(0, 'u', state('join'));
    c.handleState(0, 'u', state('fallback'));
    expect(c.stateOf('u')).toBe('fallback');
    drain(c);
    // Flow progress does not end a fallback the receiver asked for.
    c.handleReport(100, 'u', { kind: 'report', flowId: 42, seq: 1, packetsSeen: [50], needs: [{ toi: 1, sbn: 0, needed: 3, received: 0 }], completed: [] });
    expect(drain(c).map((a) => a.kind)).toEqual(['unicast']);
    expect(c.stateOf('u')).toBe('fallback');
    c.handleState(200, 'u', state('return'));
    expect(c.stateOf('u')).toBe('listening');
    expect(drain(c)).toMatchObject([{ kind: 'send', message: { action: 'return' } }, { kind: 'path', path: 'multicast', reason: 'receiver' }]);
  });
});

/** Receiver 'a' fallen back at t = 0, with one block (toi 1, sbn 0) to report on and the unicast symbols granted since the last look. */
function fallenBack(writeOffMs: number): { c: FlexController; report: (t: number, needed: number, received: number) => void; granted: () => number } {
  const c = controller({ writeOffMs });
  join(c, 'a', 0);
  c.handleState(0, 'a', state('fallback'));
  drain(c);
  const report = (t: number, needed: number, received: number): void => {
    c.handleReport(t, 'a', { kind: 'report', flowId: 42, seq: t, packetsSeen: [0], needs: [{ toi: 1, sbn: 0, needed, received }], completed: [] });
  };
  const granted = (): number => drain(c).reduce((s, a) => s + (a.kind === 'unicast' ? a.symbols : 0), 0);
  return { c, report, granted };
}

describe('flexicast controller: in-flight accounting', () => {
  it('counts what is in flight from granted minus received, however late reports are', () => {
    const { report, granted } = fallenBack(2000);
    report(100, 20, 0);
    expect(granted()).toBe(24); // ceil(20 * 1.1) + 2
    // Reports that do not show those symbols yet (slow path, busy sender) ask for nothing new.
    report(400, 20, 0);
    report(900, 10, 10);
    expect(granted()).toBe(0);
    // All 24 arrived and 3 are still lacking: exactly the new need is granted.
    report(1000, 3, 24);
    expect(granted()).toBe(6);
    // Granted symbols never reported received are written off after writeOffMs and granted again.
    report(2500, 3, 24);
    expect(granted()).toBe(0);
    report(3100, 3, 24);
    expect(granted()).toBe(6);
  });

  it('a slow receiver still taking symbols in is not re-granted what is on its way', () => {
    const { report, granted } = fallenBack(1000);
    report(100, 20, 0);
    expect(granted()).toBe(24);
    // A starved receiver takes 1 symbol per report for 2 s: long past the write-off time since
    // the grant, but its reports keep rising, so nothing is granted twice.
    let total = 0;
    for (let t = 200, got = 1; t <= 2100; t += 100, got++) {
      report(t, Math.max(1, 20 - got), got);
      total += granted();
    }
    expect(total).toBe(0);
    // Then its reports stop rising: after the write-off time and two reports the rest is granted again.
    report(2600, 1, 20);
    expect(granted()).toBe(0);
    report(3200, 1, 20);
    expect(granted()).toBe(4); // ceil(1 * 1.1) + 2, nothing in flight after the write-off
  });

  it('a starved receiver that sends no reports is not re-granted either', () => {
    const { c, report, granted } = fallenBack(1000);
    report(100, 20, 0);
    expect(granted()).toBe(24);
    // Silent for 5 s (timers still run), then one late report that shows the symbols arrived.
    for (let t = 200; t < 5000; t += 100) c.handleTimeout(t);
    expect(granted()).toBe(0);
    report(5100, 0, 24);
    expect(granted()).toBe(0);
  });
});
