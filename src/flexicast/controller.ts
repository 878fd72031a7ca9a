// Flexicast controller: the sender's view of every receiver's path (issue 6; Flexicast QUIC,
// research/quic.md §2.4 FcFlowAliveScheduler and §3.3). Sans-IO: the shell pushes in QUIC control
// frames, reports and "the flow sent packets", with the time; it polls out frames to send, unicast
// grants, key rotations and path events, and calls handleTimeout at nextTimeout().
//
// Per receiver: connected → JOIN (gets the flow key) → LISTENING ↔ FALLBACK → LEAVE.
//  * Liveness (seed §2.4): while a listening receiver's flow is sending, a D_fb timer runs; a
//    REPORT whose per-channel packet counts grew clears it, the next flow send re-arms it. When
//    it fires, the flow failed for that receiver: FALLBACK. Detection therefore takes at most
//    D_fb + one report interval after the last packet that got through. Loss alone, or a flow
//    that is not sending, never triggers it.
//  * Fallback: the receiver's REPORTs say which blocks lack how many symbols; with FEC any fresh
//    symbols do, so a grant is "k more symbols of (toi, sbn)". What is still in flight is exact,
//    not guessed from time: granted (counted here) minus received (counted by the receiver and
//    reported per block), so slow paths and busy event loops cause no duplicate grants. Grants
//    come out of one global token bucket (bytes/s) shared round-robin, so a correlated failure
//    of many receivers costs at most the budget, never a storm. Progress on the flow again:
//    RETURN, grants stop.
//  * Mid-session joiners start on unicast ("unicast first") and move to the flow once a REPORT
//    confirms flow packets arrive.
//  * Flow key: a new epoch on every LEAVE and periodically (and before the AES-GCM packet limit);
//    its KEY goes to the remaining members first, the sealer switches keyLeadMs later. A leaver
//    never receives the next key.
//  * FC-msg 'auto' (seed's sendmmsg mode, switched on demand): REPORTs count flow packets per
//    multicast channel plus one last count for the unicast UDP copies. When no receiver on the
//    flow has had a multicast packet for D_fb of flow sending (counted from when it started
//    listening or the flow started sending, whichever is later), the shell is told to copy the sealed flow to every registered receiver; the
//    first multicast progress any receiver reports turns the copies off again (receivers still
//    without multicast then fall back to unicast one by one, as usual). 'on' copies always.

import { randomBytes } from 'node:crypto';
import { LocalProtocolError } from '../errors.js';
import {
  FLEX_SECRET_BYTES, type AnnounceMessage, type BlockNeed, type KeyMessage, type ReportMessage, type StateAction, type StateMessage,
} from '../wire/flexicast.js';
import { FLOW_PACKET_LIMIT } from './flow-crypto.js';

export type ReceiverId = string;
export type MemberState = 'connected' | 'joined' | 'listening' | 'fallback';
export type PathReason = 'join' | 'flow-failed' | 'flow-resumed' | 'receiver';

export type ControllerAction =
  /** Send this control frame on the receiver's QUIC control stream. */
  | { readonly kind: 'send'; readonly receiver: ReceiverId; readonly message: AnnounceMessage | KeyMessage | StateMessage }
  /** Send `symbols` fresh encoding symbols of (toi, sbn) to the receiver as DATA frames. */
  | { readonly kind: 'unicast'; readonly receiver: ReceiverId; readonly toi: number; readonly sbn: number; readonly symbols: number }
  /** Seal the flow under this epoch from now on (its KEY reached every member keyLeadMs ago). */
  | { readonly kind: 'rotate'; readonly epoch: number; readonly secret: Uint8Array }
  /** The receiver's data now comes by multicast flow or by unicast. */
  | { readonly kind: 'path'; readonly receiver: ReceiverId; readonly path: 'multicast' | 'unicast'; readonly reason: PathReason }
  /** The receiver reported an object complete (first report only). */
  | { readonly kind: 'completed'; readonly receiver: ReceiverId; readonly toi: number; readonly digest: Uint8Array }
  /** FC-msg 'auto': start or stop copying the sealed flow to every registered receiver by unicast UDP. */
  | { readonly kind: 'fc-msg'; readonly on: boolean; readonly reason: FcMsgReason };

export type FcMsgReason = 'no-multicast' | 'multicast-back';

export interface ControllerConfig {
  /** Sent to each receiver when it connects; supplies flow id, D_fb, report interval, symbol size. */
  readonly announce: AnnounceMessage;
  /** Global cap on unicast fallback data, bytes per second, across all receivers. */
  readonly unicastBudgetBytesPerSec: number;
  /** Token-bucket depth in ms of budget (default 50): the largest burst of grants. */
  readonly burstMs?: number;
  /** Extra symbols granted beyond the need, as a fraction (default 0.1), plus `extraSymbols` (default 2). */
  readonly repairMargin?: number;
  readonly extraSymbols?: number;
  /** Most symbols in one grant (default 32): smaller grants interleave receivers fairly. */
  readonly grantSymbols?: number;
  /**
   * Symbols of a block granted but not reported received are written off as lost (a stream
   * reset, a failed send) and may be granted again once that block has gone this long, and two
   * REPORTs, with neither a grant nor a rise in what the receiver reports received (default
   * max(4 R, 1000 ms); a receiver's RTT from noteRtt lengthens it). A slow receiver still taking
   * symbols in, or a starved one that sends no reports, is never re-granted what is on its way.
   */
  readonly writeOffMs?: number;
  /** Periodic key rotation (default 600 000 ms; 0 = only on leave and packet limit). */
  readonly rotateIntervalMs?: number;
  /** Time between handing out the next key and switching to it (default: one report interval). */
  readonly keyLeadMs?: number;
  /** Rotate after this many flow packets in one epoch (default FLOW_PACKET_LIMIT / 2). */
  readonly rotatePackets?: number;
  /**
   * Bytes a unicast symbol costs beyond the symbol itself (default 20, the DATA frame's header);
   * a shell that puts a whole ALC packet in each DATA frame adds its header here, so the budget
   * counts what goes on the wire.
   */
  readonly symbolOverhead?: number;
  /** Source of flow secrets (default node:crypto randomBytes); tests inject a deterministic one. */
  readonly randomSecret?: () => Uint8Array;
}

/** The write-off scan walks every block a receiver needs: bounded to once per this many ms. */
const WRITE_OFF_SCAN_MS = 50;
/** REPORTs that must show no progress on a block before its in-flight symbols count as lost. */
const WRITE_OFF_REPORTS = 2;

/** DATA frame bytes beyond the symbol: frame header 6 + TOI 6 + SBN 4 + ESI 4. */
const DATA_OVERHEAD = 20;

interface Member {
  readonly id: ReceiverId;
  state: MemberState;
  /** Fallback asked for by the receiver itself (e.g. --no-multicast): only its RETURN ends it. */
  forced: boolean;
  seen: number;
  deadline: number | undefined;
  needs: Map<string, BlockNeed>;
  /** Symbols granted per block, cumulative while the receiver is a member. */
  granted: Map<string, number>;
  lastGrantAt: number;
  /** Per block: the received count last reported, and when (time, report count) the block last saw a grant or a rise in it. */
  progress: Map<string, { received: number; at: number; reports: number }>;
  /** REPORTs taken from this receiver. */
  reports: number;
  /** When writeOff last scanned this member's blocks (it runs at most every WRITE_OFF_SCAN_MS). */
  scannedAt: number;
  completed: Set<number>;
  rttMs: number;
  /** Flow packets seen on the multicast channels (the REPORT's counts without the copies). */
  multicastSeen: number;
  /** When multicast progress was last reported, and when the member started listening. */
  multicastAt: number | undefined;
  since: number | undefined;
}

export interface ControllerStats {
  readonly members: Readonly<Record<MemberState, number>>;
  readonly fallbacks: number;
  readonly returns: number;
  readonly unicastSymbols: number;
  readonly unicastBytes: number;
  readonly rotations: number;
  readonly ignoredReports: number;
  /** FC-msg copies going out now, and how often 'auto' switched them on and off. */
  readonly copying: boolean;
  readonly copiesOn: number;
  readonly copiesOff: number;
}

/** Per block, across receivers on the flow: the largest need and how many receivers lack it. */
export interface BlockAggregate {
  readonly toi: number;
  readonly sbn: number;
  readonly maxNeeded: number;
  readonly receivers: number;
}

const blockKey = (toi: number, sbn: number): string => `${toi}:${sbn}`;

export class FlexController {
  private readonly announce: AnnounceMessage;
  private readonly budget: number;
  private readonly burst: number;
  private readonly margin: number;
  private readonly extra: number;
  private readonly grantMax: number;
  private readonly writeOffMs: number;
  private readonly rotateIntervalMs: number;
  private readonly keyLeadMs: number;
  private readonly rotatePackets: number;
  private readonly randomSecret: () => Uint8Array;
  private readonly symbolCost: number;

  private readonly members = new Map<ReceiverId, Member>();
  private readonly out: ControllerAction[] = [];
  private rr = 0;
  private tokens: number;
  private refilledAt: number | undefined;
  private lastFlowSentAt: number | undefined;
  /** When the flow last started sending after a pause of more than D_fb (or at all). */
  private flowSince = 0;
  private epoch = 0;
  private secret: Uint8Array;
  private epochPackets = 0;
  private rotatedAt: number | undefined;
  private pending: { epoch: number; secret: Uint8Array; switchAt: number } | undefined;
  private counters = { fallbacks: 0, returns: 0, unicastSymbols: 0, unicastBytes: 0, rotations: 0, ignoredReports: 0, copiesOn: 0, copiesOff: 0 };
  private copying: boolean;

  constructor(config: ControllerConfig) {
    const a = config.announce;
    this.announce = a;
    this.budget = config.unicastBudgetBytesPerSec;
    if (!(this.budget > 0)) throw new LocalProtocolError('CONFIG', 'unicast budget must be positive');
    this.symbolCost = a.symbolSize + (config.symbolOverhead ?? DATA_OVERHEAD);
    this.burst = Math.max(this.symbolCost, (this.budget * (config.burstMs ?? 50)) / 1000);
    this.tokens = this.burst;
    this.margin = config.repairMargin ?? 0.1;
    this.extra = config.extraSymbols ?? 2;
    this.grantMax = config.grantSymbols ?? 32;
    this.writeOffMs = config.writeOffMs ?? Math.max(4 * a.reportIntervalMs, 1000);
    this.rotateIntervalMs = config.rotateIntervalMs ?? 600_000;
    this.keyLeadMs = config.keyLeadMs ?? a.reportIntervalMs;
    this.rotatePackets = config.rotatePackets ?? FLOW_PACKET_LIMIT / 2;
    this.randomSecret = config.randomSecret ?? (() => new Uint8Array(randomBytes(FLEX_SECRET_BYTES)));
    this.secret = this.newSecret();
    this.copying = a.fcMsg === 'on';
  }

  /** The epoch and secret the flow is sealed with now (the shell's FlowSealer starts with it). */
  get flowKey(): { readonly epoch: number; readonly secret: Uint8Array } {
    return { epoch: this.epoch, secret: this.secret };
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** An admitted receiver's QUIC connection is up: it gets ANNOUNCE. */
  addReceiver(now: number, id: ReceiverId): void {
    this.rotatedAt ??= now;
    if (this.members.has(id)) return;
    this.members.set(id, {
      id, state: 'connected', forced: false, seen: 0, deadline: undefined,
      needs: new Map(), granted: new Map(), lastGrantAt: 0, progress: new Map(), reports: 0, scannedAt: -Infinity, completed: new Set(), rttMs: 0,
      multicastSeen: 0, multicastAt: undefined, since: undefined,
    });
    this.send(id, this.announce);
  }

  /** The receiver left or its connection closed: forget it and rotate the key away from it. */
  removeReceiver(now: number, id: ReceiverId): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    this.members.delete(id);
    // Only a member that held a key forces a rotation.
    if (m.state !== 'connected') this.startRotation(now);
  }

  /** A STATE frame from the receiver. */
  handleState(now: number, id: ReceiverId, msg: StateMessage): void {
    const m = this.members.get(id);
    if (m === undefined || msg.flowId !== this.announce.flowId) return;
    const action: StateAction = msg.action;
    switch (action) {
      case 'join':
        if (m.state !== 'connected') return;
        m.state = 'joined';
        this.send(id, this.keyMessage(this.epoch, this.secret));
        if (this.pending !== undefined) this.send(id, this.keyMessage(this.pending.epoch, this.pending.secret));
        return;
      case 'listening':
        if (m.state !== 'joined') return;
        m.since = now;
        if (this.flowSending(now)) {
          // Unicast first: the flow has been running; serve by unicast until a report confirms it.
          this.enterFallback(m, 'join');
        } else {
          m.state = 'listening';
          this.event({ kind: 'path', receiver: id, path: 'multicast', reason: 'join' });
        }
        return;
      case 'leave':
        this.removeReceiver(now, id);
        return;
      case 'fallback':
        // From 'joined' too: a receiver that cannot or will not take multicast (--no-multicast).
        if (m.state === 'connected') return;
        m.forced = true;
        if (m.state !== 'fallback') this.enterFallback(m, 'receiver');
        return;
      case 'return':
        if (m.state !== 'fallback') return;
        m.forced = false;
        this.leaveFallback(m, 'receiver');
        return;
    }
  }

  /** A REPORT from the receiver: flow progress, block needs, completed objects. */
  handleReport(now: number, id: ReceiverId, r: ReportMessage): void {
    const m = this.members.get(id);
    if (m === undefined || m.state === 'connected' || r.flowId !== this.announce.flowId) {
      this.counters.ignoredReports++;
      return;
    }
    for (const c of r.completed) {
      if (m.completed.has(c.toi)) continue;
      m.completed.add(c.toi);
      this.event({ kind: 'completed', receiver: id, toi: c.toi, digest: c.digest });
    }
    m.reports++;
    m.needs = new Map();
    for (const b of r.needs) {
      if (b.needed <= 0) continue;
      const k = blockKey(b.toi, b.sbn);
      m.needs.set(k, b);
      const p = m.progress.get(k);
      if (p === undefined || b.received > p.received) m.progress.set(k, { received: b.received, at: now, reports: m.reports });
    }
    // Blocks no longer reported are done: forget their counts.
    for (const k of m.granted.keys()) if (!m.needs.has(k)) m.granted.delete(k);
    for (const k of m.progress.keys()) if (!m.needs.has(k)) m.progress.delete(k);
    const seen = r.packetsSeen.reduce((s, n) => s + n, 0);
    const multicast = r.packetsSeen.slice(0, this.announce.channels.length).reduce((s, n) => s + n, 0);
    if (multicast > m.multicastSeen) {
      m.multicastSeen = multicast;
      m.multicastAt = now;
      if (this.copying && this.announce.fcMsg === 'auto') this.setCopying(false, 'multicast-back');
    }
    if (seen > m.seen) {
      m.seen = seen;
      m.deadline = undefined;
      if (m.state === 'fallback' && !m.forced) this.leaveFallback(m, 'flow-resumed');
    } else {
      m.seen = Math.max(m.seen, seen);
    }
    this.pump(now);
  }

  /** The receiver's QUIC round-trip time (from QuicConnection.stats()): lengthens the write-off time. */
  noteRtt(id: ReceiverId, rttMs: number): void {
    const m = this.members.get(id);
    if (m !== undefined && Number.isFinite(rttMs) && rttMs >= 0) m.rttMs = rttMs;
  }

  /** The shell sent `packets` flow packets: arms the liveness timers and counts toward the key's limit. */
  noteFlowSent(now: number, packets: number): void {
    if (packets <= 0) return;
    this.rotatedAt ??= now;
    if (!this.flowSending(now)) this.flowSince = now;
    this.lastFlowSentAt = now;
    this.epochPackets += packets;
    for (const m of this.members.values()) {
      if (m.state === 'listening' && m.deadline === undefined) m.deadline = now + this.announce.dFbMs;
    }
    if (this.epochPackets >= this.rotatePackets && this.pending === undefined) this.startRotation(now);
    this.checkCopying(now);
  }

  /** Run every timer due at `now`. Call at nextTimeout() and whenever convenient. */
  handleTimeout(now: number): void {
    for (const m of this.members.values()) {
      if (m.deadline !== undefined && m.deadline <= now) {
        m.deadline = undefined;
        if (m.state === 'listening') this.enterFallback(m, 'flow-failed');
      }
    }
    if (this.pending !== undefined && this.pending.switchAt <= now) {
      const p = this.pending;
      this.pending = undefined;
      this.epoch = p.epoch;
      this.secret = p.secret;
      this.epochPackets = 0;
      this.rotatedAt = now;
      this.counters.rotations++;
      this.out.push({ kind: 'rotate', epoch: p.epoch, secret: p.secret });
    }
    this.rotatedAt ??= now;
    if (this.rotateIntervalMs > 0 && this.pending === undefined && now >= this.rotatedAt + this.rotateIntervalMs) this.startRotation(now);
    this.pump(now);
  }

  /** When handleTimeout must next run, or undefined when nothing is timed. */
  nextTimeout(): number | undefined {
    let t: number | undefined;
    const at = (x: number | undefined): void => {
      if (x !== undefined && (t === undefined || x < t)) t = x;
    };
    for (const m of this.members.values()) at(m.deadline);
    at(this.pending?.switchAt);
    if (this.rotateIntervalMs > 0 && this.pending === undefined && this.rotatedAt !== undefined) at(this.rotatedAt + this.rotateIntervalMs);
    if (this.refilledAt !== undefined && this.hasDeficit(this.refilledAt)) {
      at(this.refilledAt + Math.max(1, Math.ceil(((this.symbolCost - this.tokens) * 1000) / this.budget)));
    }
    return t;
  }

  /** Next action for the shell, or undefined when there is none. */
  poll(): ControllerAction | undefined {
    return this.out.shift();
  }

  // ---- queries ------------------------------------------------------------------------------

  stateOf(id: ReceiverId): MemberState | undefined {
    return this.members.get(id)?.state;
  }

  stats(): ControllerStats {
    const members: Record<MemberState, number> = { connected: 0, joined: 0, listening: 0, fallback: 0 };
    for (const m of this.members.values()) members[m.state]++;
    return { members, ...this.counters, copying: this.copying };
  }

  /** Needs of receivers on the flow, per block: the basis for choosing multicast repair. */
  aggregate(): BlockAggregate[] {
    const agg = new Map<string, { toi: number; sbn: number; maxNeeded: number; receivers: number }>();
    for (const m of this.members.values()) {
      if (m.state !== 'listening') continue;
      for (const [k, b] of m.needs) {
        const a = agg.get(k) ?? { toi: b.toi, sbn: b.sbn, maxNeeded: 0, receivers: 0 };
        a.maxNeeded = Math.max(a.maxNeeded, b.needed);
        a.receivers++;
        agg.set(k, a);
      }
    }
    return [...agg.values()];
  }

  // ---- internals ----------------------------------------------------------------------------

  private newSecret(): Uint8Array {
    const s = this.randomSecret();
    if (s.length !== FLEX_SECRET_BYTES) throw new LocalProtocolError('CONFIG', `flow secret of ${s.length} bytes`);
    return s;
  }

  private send(receiver: ReceiverId, message: AnnounceMessage | KeyMessage | StateMessage): void {
    this.out.push({ kind: 'send', receiver, message });
  }

  private event(a: ControllerAction): void {
    this.out.push(a);
  }

  private keyMessage(epoch: number, secret: Uint8Array): KeyMessage {
    return { kind: 'key', flowId: this.announce.flowId, epoch, secret };
  }

  private stateMessage(action: StateAction): StateMessage {
    return { kind: 'state', flowId: this.announce.flowId, action, origin: 'sender' };
  }

  private flowSending(now: number): boolean {
    return this.lastFlowSentAt !== undefined && now - this.lastFlowSentAt <= this.announce.dFbMs;
  }

  private enterFallback(m: Member, reason: PathReason): void {
    m.state = 'fallback';
    m.deadline = undefined;
    if (reason !== 'join') this.counters.fallbacks++;
    this.send(m.id, this.stateMessage('fallback'));
    this.event({ kind: 'path', receiver: m.id, path: 'unicast', reason });
  }

  private leaveFallback(m: Member, reason: PathReason): void {
    m.state = 'listening';
    this.counters.returns++;
    this.send(m.id, this.stateMessage('return'));
    this.event({ kind: 'path', receiver: m.id, path: 'multicast', reason });
  }

  /**
   * FC-msg 'auto': copies on when every receiver on the flow (not those that asked for unicast
   * themselves) has gone D_fb without a multicast packet while the flow sends. Checked on every
   * flow send, so it needs no timer of its own.
   */
  private checkCopying(now: number): void {
    if (this.announce.fcMsg !== 'auto' || this.copying || !this.flowSending(now)) return;
    let eligible = 0;
    for (const m of this.members.values()) {
      if (m.forced || m.since === undefined || (m.state !== 'listening' && m.state !== 'fallback')) continue;
      if (now - Math.max(m.multicastAt ?? m.since, this.flowSince) < this.announce.dFbMs) return;
      eligible++;
    }
    if (eligible > 0) this.setCopying(true, 'no-multicast');
  }

  private setCopying(on: boolean, reason: FcMsgReason): void {
    this.copying = on;
    if (on) this.counters.copiesOn++;
    else this.counters.copiesOff++;
    this.event({ kind: 'fc-msg', on, reason });
  }

  /** Hand the next epoch's key to every current member; switch keyLeadMs later. */
  private startRotation(now: number): void {
    // A pending key was also given to whoever just left: replace it, never reuse it.
    const epoch = (this.pending?.epoch ?? this.epoch) + 1;
    const secret = this.newSecret();
    this.pending = { epoch, secret, switchAt: now + this.keyLeadMs };
    for (const m of this.members.values()) {
      if (m.state !== 'connected') this.send(m.id, this.keyMessage(epoch, secret));
    }
  }

  /** Symbols granted for `block` that the receiver has not reported received yet. */
  private inFlight(m: Member, block: string, b: BlockNeed): number {
    return Math.max(0, (m.granted.get(block) ?? 0) - b.received);
  }

  private deficit(m: Member, block: string, b: BlockNeed): number {
    const want = Math.ceil(b.needed * (1 + this.margin)) + this.extra;
    return want - this.inFlight(m, block, b);
  }

  private hasDeficit(now: number): boolean {
    for (const m of this.members.values()) {
      if (m.state !== 'fallback') continue;
      this.writeOff(m, now);
      for (const [k, b] of m.needs) if (this.deficit(m, k, b) > 0) return true;
    }
    return false;
  }

  /** Symbols of a block with no grant and no receipt for the write-off time were lost on the way: stop waiting for them. */
  private writeOff(m: Member, now: number): void {
    if (now - m.scannedAt < WRITE_OFF_SCAN_MS) return;
    m.scannedAt = now;
    const after = Math.max(this.writeOffMs, 4 * m.rttMs);
    for (const [k, b] of m.needs) {
      if (this.inFlight(m, k, b) === 0) continue;
      const p = m.progress.get(k);
      if (now - (p?.at ?? m.lastGrantAt) < after || m.reports - (p?.reports ?? 0) < WRITE_OFF_REPORTS) continue;
      m.granted.set(k, b.received);
      m.progress.set(k, { received: b.received, at: now, reports: m.reports });
    }
  }

  /** Turn budget into grants, one receiver after another. */
  private pump(now: number): void {
    if (this.refilledAt !== undefined) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.budget) / 1000);
    }
    this.refilledAt = now;
    const fallen = [...this.members.values()].filter((m) => m.state === 'fallback' && m.needs.size > 0);
    if (fallen.length === 0) return;
    let idle = 0;
    while (this.tokens >= this.symbolCost && idle < fallen.length) {
      const m = fallen[this.rr++ % fallen.length]!;
      this.writeOff(m, now);
      let granted = false;
      for (const [k, b] of m.needs) {
        const k2 = Math.min(this.deficit(m, k, b), this.grantMax, Math.floor(this.tokens / this.symbolCost));
        if (k2 <= 0) continue;
        m.granted.set(k, (m.granted.get(k) ?? 0) + k2);
        m.lastGrantAt = now;
        m.progress.set(k, { received: b.received, at: now, reports: m.reports });
        this.tokens -= k2 * this.symbolCost;
        this.counters.unicastSymbols += k2;
        this.counters.unicastBytes += k2 * this.symbolCost;
        this.out.push({ kind: 'unicast', receiver: m.id, toi: b.toi, sbn: b.sbn, symbols: k2 });
        granted = true;
        break;
      }
      idle = granted ? 0 : idle + 1;
    }
  }
}
