// Flexicast receiver session: the receiver's half of the control protocol (issue 6; the
// counterpart of controller.ts). Sans-IO: the shell pushes in frames from the QUIC connection,
// flow packets from the multicast (or FC-msg) socket, and the assembly's progress, with the time;
// it polls out frames to send and things to do (join the groups, deliver symbols), and calls
// handleTimeout at nextTimeout() for the periodic REPORT.
//
//   ANNOUNCE → send JOIN · KEY → install · first KEY → ask the shell to join the channels
//   (or, with noMulticast, send FALLBACK) · groups joined → LISTENING · every report interval
//   (± 10 % jitter, so a fleet does not report in lockstep) → REPORT · STATE FALLBACK / RETURN
//   from the sender → the path changes · DATA → symbols for the assembly.
//   Connection lost (connectionLost) → nothing is sent until the shell's new connection brings
//   ANNOUNCE again: the same session → JOIN · KEY → LISTENING (or FALLBACK) and a REPORT at once
//   with what is still missing, so the sender serves it; another session (the sender restarted)
//   → 'session-ended'.
//
// Flow packets are opened here (FlowOpener): forged, replayed and wrong-epoch packets are
// counted and dropped and never count as flow progress, so a forger cannot keep a receiver off
// its unicast fallback.

import { LocalProtocolError } from '../errors.js';
import type {
  AnnounceMessage, BlockNeed, CompletedObject, FlexMessage, ReportMessage, StateAction, StateMessage,
} from '../wire/flexicast.js';
import { FlowOpener, deriveFlowKey } from './flow-crypto.js';

export type ReceiverPath = 'multicast' | 'unicast' | 'both' | 'none';

/** What the assembly says about one incomplete block. */
export type BlockProgress = Omit<BlockNeed, 'received'>;

/** Blocks listed in one REPORT (18 bytes each); the assembly lists the most urgent first. */
export const MAX_REPORT_BLOCKS = 8192;
const MAX_REPORT_COMPLETED = 1024;

export type ReceiverAction =
  /** Send this frame on the control stream. */
  | { readonly kind: 'send'; readonly message: StateMessage | ReportMessage }
  /** Join the announced channels (multicast groups, or open the FC-msg port); then call multicastJoined. */
  | { readonly kind: 'join-channels'; readonly announce: AnnounceMessage }
  /** Leave the channels (session over or LEAVE). */
  | { readonly kind: 'leave-channels' }
  /** An encoding symbol that came by unicast, for the assembly. */
  | { readonly kind: 'symbol'; readonly toi: number; readonly sbn: number; readonly esi: number; readonly symbol: Uint8Array }
  /** The sender moved us to or from unicast. */
  | { readonly kind: 'fallback'; readonly active: boolean }
  /** A new connection announced another session (the sender restarted): this receive cannot continue. */
  | { readonly kind: 'session-ended' };

export interface ReceiverSessionOptions {
  /** Never take multicast: ask for unicast right after JOIN (`fcast receive --no-multicast`). */
  readonly noMulticast?: boolean;
  /** Uniform random in [0, 1) for report jitter; tests inject a fixed one. */
  readonly random?: () => number;
  /** A path counts as in use if it delivered within this window (default 2 report intervals). */
  readonly pathWindowMs?: number;
}

export class FlexReceiverSession {
  private announce: AnnounceMessage | undefined;
  private readonly opener = new FlowOpener();
  private readonly out: ReceiverAction[] = [];
  private readonly random: () => number;
  private packetsSeen: number[] = [];
  private needs: readonly BlockProgress[] = [];
  /** Unicast symbols received per block ("toi:sbn"), echoed in REPORTs so the sender knows what is in flight. */
  private unicastReceived = new Map<string, number>();
  private completedQueue: CompletedObject[] = [];
  private reportSeq = 0;
  private nextReport: number | undefined;
  private joinedChannels = false;
  private inFallback = false;
  /** We asked for unicast ourselves (askFallback) and have not asked to return yet. */
  private asked = false;
  private lastFlowAt: number | undefined;
  private lastUnicastAt: number | undefined;
  /** The connection is down: frames are dropped, reports wait (their completed objects are kept). */
  private lost = false;
  /** A new connection's ANNOUNCE matched: the next KEY restores our place (listening / fallback). */
  private rejoining = false;

  constructor(private readonly options: ReceiverSessionOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  /** The session as announced, once ANNOUNCE arrived. */
  get session(): AnnounceMessage | undefined {
    return this.announce;
  }

  /** Counters of dropped flow packets by code (forged, replayed, wrong epoch ...). */
  get flowDrops(): FlowOpener['dropped'] {
    return this.opener.dropped;
  }

  /** Flow packets dropped because they had come the other way already (multicast and FC-msg copy). */
  get flowDuplicates(): number {
    return this.opener.duplicates;
  }

  get fallbackActive(): boolean {
    return this.inFallback;
  }

  /** A frame from the sender (control stream or a DATA stream). */
  handleFrame(now: number, m: FlexMessage): void {
    switch (m.kind) {
      case 'announce':
        if (this.announce !== undefined) {
          // On one connection the session does not change under us; a new connection re-joins it.
          if (this.lost) this.rejoin(now, m);
          return;
        }
        this.announce = m;
        // One count per multicast channel, plus one for FC-msg copies when the sender may send them.
        this.packetsSeen = [...m.channels, ...(m.fcMsg === 'off' ? [] : [m])].map(() => 0);
        this.send(this.state('join'));
        this.nextReport = now + this.reportDelay();
        return;
      case 'key':
        if (this.announce === undefined || m.flowId !== this.announce.flowId) return;
        this.opener.install(deriveFlowKey(m.flowId, m.epoch, m.secret.slice()));
        if (this.rejoining) this.rejoined(now);
        else if (!this.joinedChannels && this.opener.heldEpochs.length === 1) this.firstKey();
        return;
      case 'state':
        if (this.announce === undefined || m.flowId !== this.announce.flowId || m.origin !== 'sender') return;
        this.senderState(m.action);
        return;
      case 'data': {
        this.lastUnicastAt = now;
        const k = `${m.toi}:${m.sbn}`;
        this.unicastReceived.set(k, (this.unicastReceived.get(k) ?? 0) + 1);
        this.out.push({ kind: 'symbol', toi: m.toi, sbn: m.sbn, esi: m.esi, symbol: m.symbol });
        return;
      }
      case 'report':
        return; // receivers do not take reports
    }
  }

  /** The channel index of flow packets copied by unicast UDP (FC-msg): after the multicast channels. */
  get copyChannel(): number | undefined {
    return this.announce === undefined || this.announce.fcMsg === 'off' ? undefined : this.announce.channels.length;
  }

  /**
   * A datagram from flow channel `channel` (copyChannel for an FC-msg copy): returns the ALC packet inside, or undefined when it
   * was dropped (counted in flowDrops). Only authentic packets count as flow progress.
   */
  openFlowPacket(now: number, channel: number, packet: Uint8Array): Uint8Array | undefined {
    if (channel < 0 || channel >= this.packetsSeen.length) throw new LocalProtocolError('FLEX_VALUE', `channel ${channel}`);
    const alc = this.opener.open(packet, channel === this.copyChannel);
    if (alc !== undefined) {
      this.packetsSeen[channel]!++;
      this.lastFlowAt = now;
    }
    return alc;
  }

  /** The shell joined the announced channels: tell the sender we listen. */
  channelsJoined(_now: number): void {
    if (this.announce === undefined || this.joinedChannels) return;
    this.joinedChannels = true;
    this.send(this.state('listening'));
  }

  /** What the assembly still needs (incomplete blocks) and objects it has completed since the last call. */
  setProgress(needs: readonly BlockProgress[], newlyCompleted: readonly CompletedObject[] = []): void {
    this.needs = needs;
    this.completedQueue.push(...newlyCompleted);
  }

  /**
   * Ask for unicast ourselves: the flow went quiet while data is still missing (the carousel
   * ended, or the sender's flow stopped reaching us before it noticed). The sender then keeps us
   * on unicast until askReturn.
   */
  askFallback(): void {
    if (this.announce === undefined || this.asked || this.inFallback || this.disconnected) return;
    this.asked = true;
    this.send(this.state('fallback'));
  }

  /** Authentic flow packets arrive again after askFallback: hand the data back to the flow. */
  askReturn(): void {
    if (this.announce === undefined || !this.asked || this.disconnected) return;
    this.asked = false;
    this.send(this.state('return'));
  }

  /** Whether askFallback is in force. */
  get askedFallback(): boolean {
    return this.asked;
  }

  /** When the last authentic flow packet arrived (undefined: none yet). */
  get lastFlowPacketAt(): number | undefined {
    return this.lastFlowAt;
  }

  /**
   * Leave the session: LEAVE to the sender, channels left. Objects completed since the last
   * REPORT go first in a last one (a receiver that completes between reports and leaves would
   * otherwise never tell: a sender ending its push when its receivers are done waits on it).
   */
  leave(now: number): void {
    if (this.announce === undefined) return;
    if (this.completedQueue.length > 0 && this.nextReport !== undefined) {
      this.nextReport = now;
      this.handleTimeout(now);
    }
    this.send(this.state('leave'));
    if (this.joinedChannels) this.out.push({ kind: 'leave-channels' });
    this.joinedChannels = false;
    this.nextReport = undefined;
  }

  /**
   * The control connection closed or failed: until a new one re-joins, nothing is sent (the
   * sender has forgotten us; our state goes again on re-join) and the flow keys held stay in use.
   */
  connectionLost(): void {
    if (this.announce === undefined) return;
    this.lost = true;
    this.rejoining = false;
  }

  /** The connection is down (connectionLost, not yet re-joined). */
  get disconnected(): boolean {
    return this.lost || this.rejoining;
  }

  handleTimeout(now: number): void {
    if (this.nextReport === undefined || now < this.nextReport || this.announce === undefined) return;
    if (this.disconnected) {
      // No one to report to: the completed objects wait for the re-joined connection's REPORT.
      this.nextReport = now + this.reportDelay();
      return;
    }
    // Completed objects go out once: the control stream is reliable.
    const completed = this.completedQueue.splice(0, MAX_REPORT_COMPLETED);
    const counts = new Map<string, number>();
    const needs = this.needs.slice(0, MAX_REPORT_BLOCKS).map((b) => {
      const k = `${b.toi}:${b.sbn}`;
      const received = this.unicastReceived.get(k) ?? 0;
      counts.set(k, received);
      return { ...b, received };
    });
    // Counts of blocks not reported are dropped here as the sender drops its own: both restart at 0.
    this.unicastReceived = counts;
    this.send({ kind: 'report', flowId: this.announce.flowId, seq: this.reportSeq++ >>> 0, packetsSeen: [...this.packetsSeen], needs, completed });
    this.nextReport = now + this.reportDelay();
  }

  nextTimeout(): number | undefined {
    return this.nextReport;
  }

  poll(): ReceiverAction | undefined {
    return this.out.shift();
  }

  /** Which path delivered data lately, for the progress line. */
  path(now: number): ReceiverPath {
    const window = this.options.pathWindowMs ?? 2 * (this.announce?.reportIntervalMs ?? 1000);
    const flow = this.lastFlowAt !== undefined && now - this.lastFlowAt <= window;
    const unicast = this.lastUnicastAt !== undefined && now - this.lastUnicastAt <= window;
    return flow && unicast ? 'both' : flow ? 'multicast' : unicast ? 'unicast' : 'none';
  }

  /** ANNOUNCE on a new connection: the same session (flow and TSI) is joined again, another one ends ours. */
  private rejoin(now: number, m: AnnounceMessage): void {
    const a = this.announce!;
    if (m.flowId !== a.flowId || m.tsi !== a.tsi) {
      this.out.push({ kind: 'session-ended' });
      return;
    }
    this.lost = false;
    this.rejoining = true;
    // The sender's new member starts afresh: not on unicast, no symbols counted in flight, flow
    // packets counted from 0 (a count carried over would read as flow progress at once).
    this.inFallback = false;
    this.asked = false;
    this.unicastReceived.clear();
    this.packetsSeen = this.packetsSeen.map(() => 0);
    this.send(this.state('join'));
    this.nextReport = now + this.reportDelay();
  }

  /** The re-joined connection's first KEY: back to listening (or unicast), and report our needs now. */
  private rejoined(now: number): void {
    this.rejoining = false;
    if (this.options.noMulticast === true) this.send(this.state('fallback'));
    else if (this.joinedChannels) this.send(this.state('listening'));
    else this.out.push({ kind: 'join-channels', announce: this.announce! });
    this.nextReport = now;
  }

  private firstKey(): void {
    if (this.options.noMulticast === true) {
      this.send(this.state('fallback'));
      return;
    }
    this.out.push({ kind: 'join-channels', announce: this.announce! });
  }

  private senderState(action: StateAction): void {
    switch (action) {
      case 'fallback':
        if (!this.inFallback) this.out.push({ kind: 'fallback', active: true });
        this.inFallback = true;
        return;
      case 'return':
        if (this.inFallback) this.out.push({ kind: 'fallback', active: false });
        this.inFallback = false;
        return;
      case 'leave':
        // The sender ended our membership: stop listening and reporting.
        if (this.joinedChannels) this.out.push({ kind: 'leave-channels' });
        this.joinedChannels = false;
        this.nextReport = undefined;
        return;
      case 'join':
      case 'listening':
        return; // receiver-side states; a sender never sends them
    }
  }

  /** Report interval ± 10 %: the seed's ET/2 ± ET/10 spread, so reports do not synchronise. */
  private reportDelay(): number {
    const r = this.announce!.reportIntervalMs;
    return Math.max(1, Math.round(r * (0.9 + 0.2 * this.random())));
  }

  private state(action: StateAction): StateMessage {
    return { kind: 'state', flowId: this.announce!.flowId, action, origin: 'receiver' };
  }

  private send(message: StateMessage | ReportMessage): void {
    if (this.lost) return;
    this.out.push({ kind: 'send', message });
  }
}
