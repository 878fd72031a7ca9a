// The receiver's flexicast shell (issue 6): a QUIC connection to the sender (its key pinned from
// the session), the sans-IO FlexReceiverSession (src/flexicast/receiver.ts) driven with the
// receive loop's clock, and the receive loop (src/net/receive-session.ts) plugged in through its
// `flow` tap: sealed flow packets from the multicast channels are opened (forged, replayed and
// unknown-epoch packets are counted and dropped) before the assembly sees them, and unicast DATA
// (each an ALC packet, see src/net/flex-sender.ts) enters the same assembly.
//
// The session comes from ANNOUNCE (TSI, channels, FEC, report interval, D_fb), not from a file:
// JOIN → KEY → join the channels → LISTENING → a REPORT every interval with what the assembly
// still needs (src/assembly Receiver.blockNeeds; before the CID is known, TOI 1, where our
// carousel puts the CID of instance 0, needing 1 symbol). The sender moves us to unicast when our
// flow progress stops and back when it resumes. When the flow goes quiet for 2·D_fb while data is
// missing and we are not on unicast (e.g. the carousel ended), we ask for unicast ourselves, and
// return when authentic flow packets come again.
//
// FC-msg (ANNOUNCE mode 'on' or 'auto'): we bind a UDP port and send a HELLO (see flex-sender.ts)
// to the announced flow endpoint every report interval, so the sender can copy the sealed flow to
// us by unicast UDP. With 'on' we join no multicast; with 'auto' we join the groups too (the
// sender copies only while no receiver gets multicast, and stops when one reports multicast
// progress again). Copies count on their own channel in REPORTs (after the multicast channels).
//
// The control connection is dialled until it is up (a fleet's receivers start before their
// sender): backoff from RETRY_FIRST_MS doubling to RETRY_MAX_MS with ±25 % jitter, each attempt's
// handshake bounded by connectTimeoutMs, the whole wait by --timeout. When it closes mid-receive
// (path lost for longer than the QUIC idle timeout, sender's listener gone) the receive loop
// keeps running on the flow keys it holds and the same backoff dials again; the new connection
// re-joins (src/flexicast/receiver.ts) and its first REPORT tells the sender what is missing.
// A new connection announcing another session (the sender restarted) ends the receive.

import { createSocket, type Socket } from 'node:dgram';
import { FcastError, isFcastError } from '../errors.js';
import { FlexReceiverSession, MAX_REPORT_BLOCKS, PathTimeline, type ReceiverAction, type TimelineSnapshot } from '../flexicast/index.js';
import type { AnnounceMessage, FlexMessage } from '../wire/flexicast.js';
import { FCMSG_HELLO_BYTES, FCMSG_HELLO_MAGIC, helloTag } from './flex-sender.js';
import { createQuicEndpoint, type QuicConnection, type QuicEndpoint, type QuicStream } from './quic.js';
import { CONTROL_IDLE_TIMEOUT_MS, readFrames, writeFrame } from './quic-control.js';
import { publicKeyText, type QuicIdentity } from './quic-identity.js';
import { receiveSession, type FlowPort, type ReceiveOptions, type ReceiveProgress, type ReceiveResult } from './receive-session.js';

/** The CID of carousel instance 0 (src/carousel/sender.ts TOI allocation). */
const CID_TOI = 1;
/** Unicast packets held while the receive loop starts (bounded; more are dropped, FEC absorbs it). */
const MAX_EARLY_PACKETS = 4096;
/** At most this long for the sender to take the last REPORT and LEAVE before we close. */
const LEAVE_GRACE_MS = 1000;
/** Reconnect backoff: first wait, cap (± 25 % jitter each). */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;
/** Without --timeout, a lost connection is dialled this long before the receive stops as before. */
const RECONNECT_GIVE_UP_MS = 60_000;
/** Waiting notices (onNotice) at most this often. */
const NOTICE_EVERY_MS = 5000;

export interface FlexReceiveOptions extends Omit<ReceiveOptions, 'channels' | 'tsi' | 'flow' | 'onProgress'> {
  readonly host: string;
  readonly port: number;
  /** The sender's raw Ed25519 key (session senderKey or the URL's ?key=): the connection fails for any other. */
  readonly senderKey: Uint8Array;
  readonly identity: QuicIdentity;
  /** Never join multicast: everything by unicast DATA (`fcast receive --no-multicast`). */
  readonly noMulticast?: boolean;
  /** Time allowed for one connection attempt's QUIC handshake (default 2 s; attempts repeat). */
  readonly connectTimeoutMs?: number;
  readonly onProgress?: (p: FlexReceiveProgress) => void;
}

export type FlexPathUsed = 'multicast' | 'unicast' | 'both' | 'none';

export interface FlexInfo {
  /** Path delivering data now (last two report intervals). */
  readonly path: FlexPathUsed;
  /** Paths that delivered anything during the receive. */
  readonly pathsUsed: FlexPathUsed;
  /** 'fc-msg': copies only; 'auto': multicast, and copies while the sender finds no multicast anywhere. */
  readonly mode: 'multicast' | 'fc-msg' | 'auto' | 'unicast-only';
  /**
   * The flow's multicast groups were joined. False with --no-multicast, with a sender in FC-msg
   * mode 'on', and when the join failed for want of a route or interface (then everything came
   * by QUIC DATA and FC-msg copies).
   */
  readonly groupsJoined: boolean;
  /** Authentic flow packets, from the groups and as FC-msg copies. */
  readonly flowPackets: number;
  /** Of flowPackets, those that came as FC-msg copies. */
  readonly copyPackets: number;
  readonly unicastBytes: number;
  readonly unicastPackets: number;
  /** Forged, replayed, unknown-epoch ... flow packets dropped, by code. */
  readonly flowDropped: Readonly<Record<string, number>>;
  /** Flow packets that came both by multicast and as FC-msg copies: the second one, dropped (not FLEX_REPLAY). */
  readonly flowDuplicates: number;
  /** Fallbacks to unicast and returns to the flow, with their wall-clock times (Unix ms). */
  readonly pathLog: ReadonlyArray<{ readonly at: number; readonly path: 'unicast' | 'multicast' }>;
  /** Packets per path over time; bucket 0 starts at `startedAt` (Unix ms, when this receiver started, before it dialled the sender). */
  readonly timeline: TimelineSnapshot & { readonly startedAt: number };
  readonly control: ControlInfo;
}

/** The QUIC control connection: dials, connections made, time spent connected. */
export interface ControlInfo {
  /** 'closed' once the receive has ended. */
  readonly state: 'connecting' | 'connected' | 'closed';
  /** Connection attempts, the successful ones included. */
  readonly attempts: number;
  /** Connections made (1 + reconnects). */
  readonly connects: number;
  /** Time spent connected (ms). */
  readonly connectedMs: number;
  /** Time from the start until the first connection (ms). */
  readonly firstConnectMs: number | undefined;
  /** Why the last attempt or connection failed. */
  readonly lastError: string | undefined;
}

export interface FlexReceiveProgress extends ReceiveProgress {
  readonly flex: FlexInfo;
}

export interface FlexReceiveResult extends ReceiveResult {
  readonly flex: FlexInfo;
}

/** Receive a flexicast session: connect, learn it from ANNOUNCE, receive by flow and/or unicast. */
export async function flexReceive(opts: FlexReceiveOptions): Promise<FlexReceiveResult> {
  const endpoint = await createQuicEndpoint(opts.identity, { connectTimeoutMs: opts.connectTimeoutMs ?? 2000, maxIdleTimeoutMs: CONTROL_IDLE_TIMEOUT_MS });
  try {
    return await new FlexRun(opts, endpoint).start();
  } finally {
    endpoint.close();
  }
}

/** Errors of joining a group that no waiting changes: no multicast route or interface on this host. */
const JOIN_FAILURES = new Set(['ENODEV', 'EADDRNOTAVAIL', 'ENETUNREACH', 'EHOSTUNREACH']);

function isJoinFailure(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return !isFcastError(e) && typeof code === 'string' && JOIN_FAILURES.has(code);
}

/** The wait before attempt `n + 1` (n >= 1 failed so far): 100 ms doubling to 5 s, ± 25 %. */
export function retryDelayMs(n: number, random: () => number = Math.random): number {
  const base = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(n - 1, 16));
  return Math.round(base * (0.75 + 0.5 * random()));
}

class FlexRun {
  private readonly session: FlexReceiverSession;
  private control: QuicStream | undefined;
  private port: FlowPort | undefined;
  private early: Uint8Array[] = [];
  private announce: AnnounceMessage | undefined;
  private ready: ((a: AnnounceMessage) => void) | undefined;
  private failed: ((e: unknown) => void) | undefined;
  private secret: { epoch: number; secret: Uint8Array } | undefined;
  private udp: Socket | undefined;
  private readonly abort = new AbortController();
  private readonly completed = new Set<number>();
  private readonly t0 = performance.now();
  private readonly startedAt = Date.now();
  private readonly timeline = new PathTimeline();
  private flowPackets = 0;
  private copyPackets = 0;
  private unicastBytes = 0;
  private unicastPackets = 0;
  private readonly pathLog: Array<{ at: number; path: 'unicast' | 'multicast' }> = [];
  private ended = false;
  private bug: unknown;
  private lastHelloAt = -Infinity;
  private attachedAt = 0;
  private conn: QuicConnection | undefined;
  private attempts = 0;
  private connects = 0;
  private connectedMs = 0;
  private connectedSince: number | undefined;
  private firstConnectMs: number | undefined;
  private lastError: string | undefined;
  private lastNoticeAt = -Infinity;
  /** The groups could not be joined here: everything comes by unicast. */
  private multicastUnavailable = false;
  /** Before the receive loop runs: when the wait for the sender gives up (--timeout). */
  private readonly deadline: number;

  constructor(
    private readonly opts: FlexReceiveOptions,
    private readonly endpoint: QuicEndpoint,
  ) {
    this.session = new FlexReceiverSession({ noMulticast: opts.noMulticast });
    this.deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + opts.timeoutMs;
  }

  private now(): number {
    return this.port?.now() ?? performance.now() - this.t0;
  }

  async start(): Promise<FlexReceiveResult> {
    const announced = new Promise<AnnounceMessage>((resolve, reject) => {
      this.ready = resolve;
      this.failed = reject;
    });
    const outer = this.opts.signal;
    const onOuter = (): void => {
      this.abort.abort();
      this.failed?.(new FcastError('TIMEOUT', 'io', `stopped while waiting for the flexicast sender ${this.where()}`));
    };
    outer?.addEventListener('abort', onOuter, { once: true });
    void this.connectLoop();
    const limit = Number.isFinite(this.deadline)
      ? setTimeout(() => this.failed?.(new FcastError('TIMEOUT', 'io', this.waitText())), Math.max(0, this.deadline - performance.now()))
      : undefined;
    let announce: AnnounceMessage;
    try {
      announce = await announced;
    } catch (e) {
      this.ended = true;
      this.abort.abort();
      this.conn?.close();
      outer?.removeEventListener('abort', onOuter);
      throw e;
    } finally {
      clearTimeout(limit);
    }
    try {
      return await this.receive(announce);
    } finally {
      outer?.removeEventListener('abort', onOuter);
    }
  }

  private async receive(announce: AnnounceMessage): Promise<FlexReceiveResult> {
    const fcMsg = announce.fcMsg === 'on' && this.opts.noMulticast !== true;
    if (announce.fcMsg !== 'off' && this.opts.noMulticast !== true) this.udp = await this.openFcMsg();
    const timer = setInterval(() => this.tick(), 20);
    const channels = fcMsg || this.opts.noMulticast === true ? [] : announce.channels.map((c) => ({ group: c.address, port: c.port }));
    let result: ReceiveResult;
    try {
      result = await this.receiveLoop(announce, channels).catch((e: unknown) => {
        // No multicast here at all (no route for the groups, no such interface): the session is
        // still ours by unicast, as with --no-multicast.
        if (this.port !== undefined || channels.length === 0 || !isJoinFailure(e)) throw e;
        this.multicastUnavailable = true;
        this.notice(`cannot join the flow's multicast groups (${(e as Error).message}): taking everything by unicast`, true);
        this.session.askFallback();
        void this.pump();
        return this.receiveLoop(announce, []);
      });
    } finally {
      this.ended = true;
      clearInterval(timer);
      this.udp?.close();
      this.queueCompleted();
      this.session.leave(this.now());
      await this.closeAfterLeave();
    }
    if (this.bug !== undefined) throw this.bug;
    return { ...result, flex: this.info() };
  }

  private receiveLoop(announce: AnnounceMessage, channels: ReceiveOptions['channels']): Promise<ReceiveResult> {
    return receiveSession({
      ...this.opts,
      // --timeout counts from the start, the wait for the sender included.
      timeoutMs: Number.isFinite(this.deadline) ? Math.max(1, this.deadline - performance.now()) : undefined,
      // The carousel's close (A flag) does not end a flexicast receive: a sender lingers after it
      // to serve what is missing by unicast, which we ask for once the flow has been quiet for
      // 2·D_fb. The receive ends complete, when the sender is gone, or on timeout.
      closeGraceMs: Number.POSITIVE_INFINITY,
      channels,
      tsi: announce.tsi,
      signal: this.abort.signal,
      flow: { open: (now, bytes) => this.openFlow(now, 0, bytes), attached: (p) => this.attached(p) },
      onProgress: this.opts.onProgress === undefined ? undefined : (p) => this.opts.onProgress!({ ...p, flex: this.info() }),
    });
  }

  private where(): string {
    return this.opts.host.includes(':') ? `[${this.opts.host}]:${this.opts.port}` : `${this.opts.host}:${this.opts.port}`;
  }

  private waitText(): string {
    return `no flexicast sender at ${this.where()} after ${this.attempts} connection attempts in ${((performance.now() - this.t0) / 1000).toFixed(1)} s${this.lastError === undefined ? '' : ` (last: ${this.lastError})`}`;
  }

  private notice(text: string, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastNoticeAt < NOTICE_EVERY_MS) return;
    this.lastNoticeAt = now;
    this.opts.onNotice?.(text);
  }

  /**
   * Dial, hold the connection until it closes, dial again: for as long as the receive runs. The
   * first connection closing before ANNOUNCE is the sender refusing our key (allow-list).
   */
  private async connectLoop(): Promise<void> {
    let lostAt: number | undefined;
    for (;;) {
      const up = await this.dial(lostAt);
      if (up === undefined) return;
      this.hold(up.conn, up.control);
      await up.conn.closed;
      this.connectedMs += performance.now() - this.connectedSince!;
      this.connectedSince = undefined;
      if (this.ended) return;
      if (this.announce === undefined) {
        this.failed?.(this.refused());
        return;
      }
      this.session.connectionLost();
      lostAt = performance.now();
      this.notice(`lost the control connection to ${this.where()}; reconnecting (the flow keeps coming meanwhile)`, true);
    }
  }

  /** The sender closes a non-admitted key's connection right after the handshake: that does not change by waiting. */
  private refused(): FcastError {
    return new FcastError('FLEX_QUIC', 'io', `${this.where()} closed the connection before ANNOUNCE: is this receiver's key ${publicKeyText(this.opts.identity.publicKey)} on the sender's allow-list?${this.lastError === undefined ? '' : ` (${this.lastError})`}`);
  }

  /** Connection attempts with backoff until one is up, the wait gives up, or the receive ends. */
  private async dial(lostAt: number | undefined): Promise<{ conn: QuicConnection; control: QuicStream } | undefined> {
    for (let failed = 0; ; ) {
      if (this.ended || this.abort.signal.aborted) return undefined;
      this.attempts++;
      let conn: QuicConnection | undefined;
      try {
        conn = await this.endpoint.connect(this.opts.host, this.opts.port, this.opts.senderKey);
        return { conn, control: await conn.openBi() };
      } catch (e) {
        conn?.close();
        if (conn !== undefined && this.announce === undefined && isFcastError(e)) {
          this.lastError = e.message;
          this.failed?.(this.refused());
          return undefined;
        }
        // Another key at that address does not change by waiting; anything not ours is a bug.
        if (!isFcastError(e) || e.code === 'FLEX_PEER_KEY') {
          this.stop(e);
          this.failed?.(e);
          return undefined;
        }
        this.lastError = e.message;
        failed++;
      }
      if (this.ended || this.abort.signal.aborted) return undefined;
      const now = performance.now();
      // Before the receive loop runs, --timeout bounds the wait (start() fails it); after a loss
      // the receive loop's own timeout does, or without one RECONNECT_GIVE_UP_MS.
      if (lostAt !== undefined && this.opts.timeoutMs === undefined && now - lostAt >= RECONNECT_GIVE_UP_MS) {
        this.notice(`no connection to ${this.where()} for ${RECONNECT_GIVE_UP_MS / 1000} s: stopping`, true);
        this.abort.abort();
        return undefined;
      }
      const wait = retryDelayMs(failed);
      this.notice(`${lostAt === undefined ? 'waiting for the flexicast sender' : 'reconnecting to'} ${this.where()}: attempt ${this.attempts} failed (${this.lastError}); next in ${(wait / 1000).toFixed(1)} s`, failed === 1 && lostAt === undefined);
      await new Promise<void>((r) => setTimeout(r, wait).unref());
    }
  }

  private hold(conn: QuicConnection, control: QuicStream): void {
    this.conn = conn;
    this.control = control;
    this.connects++;
    this.connectedSince = performance.now();
    this.firstConnectMs ??= this.connectedSince - this.t0;
    if (this.connects > 1) this.notice(`reconnected to ${this.where()} (connection ${this.connects}, attempt ${this.attempts})`, true);
    void this.controlLoop(conn, control);
    void this.dataLoop(conn);
  }

  /**
   * Deliver the last REPORT and the LEAVE, then close. A write resolves once quinn holds the
   * bytes, not once they are sent, and close() aborts the connection at once (pending writes
   * fail), so the old "pump, then close" could drop the frames a sender ending its push on its
   * receivers' reports (--expect-receivers) waits for. So the control stream is finished (FIN)
   * and the sender, which closes the connection once it has read that stream to its end, is
   * given up to LEAVE_GRACE_MS to do so; a sender already gone costs nothing (its close has
   * resolved).
   */
  private async closeAfterLeave(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, LEAVE_GRACE_MS)));
    const delivered = this.pump()
      .then(() => this.control?.finish())
      .then(() => this.conn?.closed)
      .catch(() => undefined);
    await Promise.race([delivered, grace]);
    clearTimeout(timer);
    this.conn?.close();
  }

  info(): FlexInfo {
    const now = this.now();
    const multicast = this.flowPackets > 0;
    const unicast = this.unicastPackets > 0;
    return {
      path: this.session.path(now),
      pathsUsed: multicast && unicast ? 'both' : multicast ? 'multicast' : unicast ? 'unicast' : 'none',
      mode: this.opts.noMulticast === true || (this.multicastUnavailable && this.announce?.fcMsg === 'off') ? 'unicast-only' : this.announce?.fcMsg === 'on' ? 'fc-msg' : this.announce?.fcMsg === 'auto' ? 'auto' : 'multicast',
      groupsJoined: this.announce !== undefined && this.opts.noMulticast !== true && this.announce.fcMsg !== 'on' && !this.multicastUnavailable,
      flowPackets: this.flowPackets,
      copyPackets: this.copyPackets,
      unicastBytes: this.unicastBytes,
      unicastPackets: this.unicastPackets,
      flowDropped: Object.fromEntries(Object.entries(this.session.flowDrops).filter(([, v]) => v > 0)),
      flowDuplicates: this.session.flowDuplicates,
      pathLog: [...this.pathLog],
      timeline: { ...this.timeline.snapshot(), startedAt: this.startedAt },
      control: {
        state: this.ended ? 'closed' : this.connectedSince === undefined ? 'connecting' : 'connected',
        attempts: this.attempts,
        connects: this.connects,
        connectedMs: Math.round(this.connectedMs + (this.connectedSince === undefined ? 0 : performance.now() - this.connectedSince)),
        firstConnectMs: this.firstConnectMs === undefined ? undefined : Math.round(this.firstConnectMs),
        lastError: this.lastError,
      },
    };
  }

  /**
   * A bad frame or a lost connection ends the control stream, and with it this connection: the
   * connect loop dials again (before ANNOUNCE on the first connection, the receive fails there).
   * Anything that is not an FcastError is a bug: kept and rethrown when the receive loop returns.
   */
  private async controlLoop(conn: QuicConnection, control: QuicStream): Promise<void> {
    try {
      for await (const m of readFrames(control)) this.onFrame(m);
    } catch (e) {
      if (isFcastError(e)) this.lastError = e.message;
      else this.stop(e);
    }
    conn.close();
  }

  /** DATA streams; a broken one only loses its symbols (the next REPORT asks for them again). */
  private async dataLoop(conn: QuicConnection): Promise<void> {
    try {
      for (let a = await conn.acceptStream(); a !== undefined; a = await conn.acceptStream()) {
        const stream = a.stream;
        void (async () => {
          for await (const m of readFrames(stream)) this.onFrame(m);
        })().catch((e: unknown) => {
          if (!isFcastError(e)) this.stop(e);
        });
      }
    } catch (e) {
      if (!isFcastError(e)) this.stop(e);
    }
  }

  private stop(e: unknown): void {
    if (!isFcastError(e)) this.bug ??= e;
    this.abort.abort();
  }

  private onFrame(m: FlexMessage): void {
    if (this.ended) return;
    if (m.kind === 'key') this.secret = { epoch: m.epoch, secret: m.secret.slice() };
    this.session.handleFrame(this.now(), m);
    if (m.kind === 'announce') this.announce = this.session.session;
    // --no-multicast: nothing to join; the session is ours as soon as a key is held.
    if (m.kind === 'key' && this.opts.noMulticast === true && this.announce !== undefined) this.ready?.(this.announce);
    void this.pump();
  }

  /** Carry out the session's actions; resolves when its frames are written. */
  private pump(): Promise<unknown> {
    const writes: Promise<void>[] = [];
    for (let a = this.session.poll(); a !== undefined; a = this.session.poll()) {
      const w = this.act(a);
      if (w !== undefined) writes.push(w);
    }
    // A failed write means a broken connection: closing it sends the connect loop dialling.
    return Promise.all(writes).catch(() => this.conn?.close());
  }

  private act(a: ReceiverAction): Promise<void> | undefined {
    switch (a.kind) {
      case 'send':
        return writeFrame(this.control!, a.message);
      case 'join-channels':
        this.ready?.(a.announce);
        return undefined;
      case 'leave-channels':
        return undefined; // the receive loop leaves its channels when it ends
      case 'symbol':
        this.unicastPackets++;
        this.unicastBytes += a.symbol.length;
        this.timeline.add(performance.now() - this.t0, 'unicast');
        if (this.port !== undefined) this.port.inject(a.symbol, this.opts.host);
        else if (this.early.length < MAX_EARLY_PACKETS) this.early.push(a.symbol.slice());
        return undefined;
      case 'fallback':
        this.pathLog.push({ at: Date.now(), path: a.active ? 'unicast' : 'multicast' });
        return undefined;
      case 'session-ended':
        this.notice(`${this.where()} now announces another session (the sender restarted): stopping`, true);
        this.abort.abort();
        return undefined;
    }
  }

  private attached(port: FlowPort): void {
    this.port = port;
    this.attachedAt = port.now();
    for (const p of this.early) port.inject(p, this.opts.host);
    this.early = [];
    if (this.opts.noMulticast !== true && !this.multicastUnavailable) this.session.channelsJoined(port.now());
    void this.pump();
  }

  /** A sealed flow packet from multicast channel `channel` or (copyChannel) an FC-msg copy. */
  private openFlow(now: number, channel: number, bytes: Uint8Array): Uint8Array | undefined {
    const alc = this.session.openFlowPacket(now, channel, bytes);
    if (alc === undefined) return undefined;
    this.flowPackets++;
    const copy = channel === this.session.copyChannel;
    if (copy) this.copyPackets++;
    this.timeline.add(performance.now() - this.t0, copy ? 'copy' : 'flow');
    if (this.session.askedFallback) {
      this.session.askReturn();
      void this.pump();
    }
    return alc;
  }

  /** Objects verified since the last call (each reported once). */
  private newlyCompleted(): { toi: number; digest: Uint8Array }[] {
    const fresh = this.port?.receiver.allObjectStats().filter((o) => o.phase === 'verified' && !this.completed.has(o.toi)) ?? [];
    for (const o of fresh) this.completed.add(o.toi);
    return fresh.map((o) => ({ toi: o.toi, digest: new Uint8Array(0) }));
  }

  /** Before leaving: the objects verified since the last REPORT, which leave() reports first. */
  private queueCompleted(): void {
    const fresh = this.newlyCompleted();
    if (fresh.length > 0) this.session.setProgress([], fresh);
  }

  /** Reports when due (with the assembly's needs), the quiet-flow rule, FC-msg HELLOs. */
  private tick(): void {
    const port = this.port;
    const a = this.announce;
    if (port === undefined || a === undefined || this.ended) return;
    const now = port.now();
    const due = this.session.nextTimeout();
    if (due !== undefined && due <= now) {
      const r = port.receiver;
      const needs = r.blockNeeds(MAX_REPORT_BLOCKS);
      if (r.carouselInstance() === undefined && !needs.some((n) => n.toi === CID_TOI)) needs.unshift({ toi: CID_TOI, sbn: 0, needed: 1 });
      this.session.setProgress(needs.slice(0, MAX_REPORT_BLOCKS), this.newlyCompleted());
      this.session.handleTimeout(now);
      // Before any flow packet, wait longer: the sender may simply not have started.
      const last = this.session.lastFlowPacketAt;
      const quiet = last === undefined ? now - this.attachedAt > 4 * a.dFbMs : now - last > 2 * a.dFbMs;
      if (!this.session.fallbackActive && needs.length > 0 && quiet) this.session.askFallback();
      void this.pump();
    }
    if (this.udp !== undefined && this.secret !== undefined && now - this.lastHelloAt >= a.reportIntervalMs) {
      this.lastHelloAt = now;
      this.sendHello(a);
    }
  }

  private async openFcMsg(): Promise<Socket> {
    const s = createSocket({ type: this.opts.host.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ port: 0 }, () => resolve());
    });
    s.on('message', (msg) => {
      if (this.port !== undefined) {
        const alc = this.openFlow(this.port.now(), this.session.copyChannel!, msg);
        if (alc !== undefined) this.port.inject(alc, this.opts.host);
      }
    });
    s.on('error', () => undefined); // ICMP errors on a HELLO: the next one retries
    return s;
  }

  private sendHello(a: AnnounceMessage): void {
    const { epoch, secret } = this.secret!;
    const hello = new Uint8Array(FCMSG_HELLO_BYTES);
    hello.set(FCMSG_HELLO_MAGIC);
    hello.set(this.opts.identity.publicKey, 4);
    hello.set(helloTag(secret, this.opts.identity.publicKey), 36);
    new DataView(hello.buffer).setUint32(68, epoch);
    this.udp!.send(hello, a.flowPort, a.flowAddress);
  }
}
