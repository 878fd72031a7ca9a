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

import { createSocket, type Socket } from 'node:dgram';
import { FcastError, isFcastError } from '../errors.js';
import { FlexReceiverSession, MAX_REPORT_BLOCKS, PathTimeline, type ReceiverAction, type TimelineSnapshot } from '../flexicast/index.js';
import type { AnnounceMessage, FlexMessage } from '../wire/flexicast.js';
import { FCMSG_HELLO_BYTES, FCMSG_HELLO_MAGIC, helloTag } from './flex-sender.js';
import { createQuicEndpoint, type QuicConnection, type QuicStream } from './quic.js';
import { readFrames, writeFrame } from './quic-control.js';
import { publicKeyText, type QuicIdentity } from './quic-identity.js';
import { receiveSession, type FlowPort, type ReceiveOptions, type ReceiveProgress, type ReceiveResult } from './receive-session.js';

/** The CID of carousel instance 0 (src/carousel/sender.ts TOI allocation). */
const CID_TOI = 1;
/** Unicast packets held while the receive loop starts (bounded; more are dropped, FEC absorbs it). */
const MAX_EARLY_PACKETS = 4096;
/** At most this long for the sender to take the last REPORT and LEAVE before we close. */
const LEAVE_GRACE_MS = 1000;

export interface FlexReceiveOptions extends Omit<ReceiveOptions, 'channels' | 'tsi' | 'flow' | 'onProgress'> {
  readonly host: string;
  readonly port: number;
  /** The sender's raw Ed25519 key (session senderKey or the URL's ?key=): the connection fails for any other. */
  readonly senderKey: Uint8Array;
  readonly identity: QuicIdentity;
  /** Never join multicast: everything by unicast DATA (`fcast receive --no-multicast`). */
  readonly noMulticast?: boolean;
  /** Time allowed for the QUIC handshake and ANNOUNCE + KEY (default 10 s). */
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
  /** Authentic flow packets, from the groups and as FC-msg copies. */
  readonly flowPackets: number;
  /** Of flowPackets, those that came as FC-msg copies. */
  readonly copyPackets: number;
  readonly unicastBytes: number;
  readonly unicastPackets: number;
  /** Forged, replayed, unknown-epoch ... flow packets dropped, by code. */
  readonly flowDropped: Readonly<Record<string, number>>;
  /** Fallbacks to unicast and returns to the flow, with their wall-clock times (Unix ms). */
  readonly pathLog: ReadonlyArray<{ readonly at: number; readonly path: 'unicast' | 'multicast' }>;
  /** Packets per path over time; bucket 0 starts at `startedAt` (Unix ms, when the connection was up). */
  readonly timeline: TimelineSnapshot & { readonly startedAt: number };
}

export interface FlexReceiveProgress extends ReceiveProgress {
  readonly flex: FlexInfo;
}

export interface FlexReceiveResult extends ReceiveResult {
  readonly flex: FlexInfo;
}

/** Receive a flexicast session: connect, learn it from ANNOUNCE, receive by flow and/or unicast. */
export async function flexReceive(opts: FlexReceiveOptions): Promise<FlexReceiveResult> {
  const endpoint = await createQuicEndpoint(opts.identity, { connectTimeoutMs: opts.connectTimeoutMs ?? 10_000 });
  try {
    const conn = await endpoint.connect(opts.host, opts.port, opts.senderKey);
    const run = new FlexRun(opts, conn);
    return await run.start();
  } finally {
    endpoint.close();
  }
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

  constructor(
    private readonly opts: FlexReceiveOptions,
    private readonly conn: QuicConnection,
  ) {
    this.session = new FlexReceiverSession({ noMulticast: opts.noMulticast });
  }

  private now(): number {
    return this.port?.now() ?? performance.now() - this.t0;
  }

  async start(): Promise<FlexReceiveResult> {
    try {
      return await this.run();
    } catch (e) {
      // The sender closes a non-admitted key's connection right after the handshake.
      if (isFcastError(e) && e.code === 'FLEX_QUIC' && this.announce === undefined) {
        throw new FcastError('FLEX_QUIC', 'io', `${this.opts.host}:${this.opts.port} closed the connection before ANNOUNCE: is this receiver's key ${publicKeyText(this.opts.identity.publicKey)} on the sender's allow-list? (${e.message})`, { cause: e });
      }
      throw e;
    }
  }

  private async run(): Promise<FlexReceiveResult> {
    this.control = await this.conn.openBi();
    const announced = new Promise<AnnounceMessage>((resolve, reject) => {
      this.ready = resolve;
      this.failed = reject;
    });
    void this.controlLoop();
    void this.dataLoop();
    const limit = setTimeout(
      () => this.failed?.(new FcastError('TIMEOUT', 'io', `no ANNOUNCE and KEY from ${this.opts.host}:${this.opts.port}`)),
      this.opts.connectTimeoutMs ?? 10_000,
    );
    let announce: AnnounceMessage;
    try {
      announce = await announced;
    } finally {
      clearTimeout(limit);
    }
    const fcMsg = announce.fcMsg === 'on' && this.opts.noMulticast !== true;
    if (announce.fcMsg !== 'off' && this.opts.noMulticast !== true) this.udp = await this.openFcMsg();
    const outer = this.opts.signal;
    const onOuter = (): void => this.abort.abort();
    outer?.addEventListener('abort', onOuter, { once: true });
    // The sender closed the connection (its session is over): a receive still running cannot finish.
    void this.conn.closed.then(() => setTimeout(() => this.abort.abort(), 2 * announce.reportIntervalMs));
    const timer = setInterval(() => this.tick(), 20);
    let result: ReceiveResult;
    try {
      result = await receiveSession({
        ...this.opts,
        // The carousel's close (A flag) does not end a flexicast receive: a sender lingers after it
        // to serve what is missing by unicast, which we ask for once the flow has been quiet for
        // 2·D_fb. The receive ends complete, when the sender closes the connection, or on timeout.
        closeGraceMs: Number.POSITIVE_INFINITY,
        channels: fcMsg || this.opts.noMulticast === true ? [] : announce.channels.map((c) => ({ group: c.address, port: c.port })),
        tsi: announce.tsi,
        signal: this.abort.signal,
        flow: { open: (now, bytes) => this.openFlow(now, 0, bytes), attached: (p) => this.attached(p) },
        onProgress: this.opts.onProgress === undefined ? undefined : (p) => this.opts.onProgress!({ ...p, flex: this.info() }),
      });
    } finally {
      this.ended = true;
      clearInterval(timer);
      outer?.removeEventListener('abort', onOuter);
      this.udp?.close();
      this.queueCompleted();
      this.session.leave(this.now());
      await this.closeAfterLeave();
    }
    if (this.bug !== undefined) throw this.bug;
    return { ...result, flex: this.info() };
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
      .then(() => this.conn.closed)
      .catch(() => undefined);
    await Promise.race([delivered, grace]);
    clearTimeout(timer);
    this.conn.close();
  }

  info(): FlexInfo {
    const now = this.now();
    const multicast = this.flowPackets > 0;
    const unicast = this.unicastPackets > 0;
    return {
      path: this.session.path(now),
      pathsUsed: multicast && unicast ? 'both' : multicast ? 'multicast' : unicast ? 'unicast' : 'none',
      mode: this.opts.noMulticast === true ? 'unicast-only' : this.announce?.fcMsg === 'on' ? 'fc-msg' : this.announce?.fcMsg === 'auto' ? 'auto' : 'multicast',
      flowPackets: this.flowPackets,
      copyPackets: this.copyPackets,
      unicastBytes: this.unicastBytes,
      unicastPackets: this.unicastPackets,
      flowDropped: Object.fromEntries(Object.entries(this.session.flowDrops).filter(([, v]) => v > 0)),
      pathLog: [...this.pathLog],
      timeline: { ...this.timeline.snapshot(), startedAt: this.startedAt },
    };
  }

  /**
   * A bad frame or a lost connection ends the control stream: before ANNOUNCE the receive fails,
   * after it the receive stops (it has what it has; a resume continues). Anything that is not an
   * FcastError is a bug: kept and rethrown when the receive loop returns.
   */
  private async controlLoop(): Promise<void> {
    try {
      for await (const m of readFrames(this.control!)) this.onFrame(m);
      this.failed?.(new FcastError('FLEX_QUIC', 'io', 'the sender closed the control stream'));
    } catch (e) {
      this.failed?.(e);
      this.stop(e);
    }
  }

  /** DATA streams; a broken one only loses its symbols (the next REPORT asks for them again). */
  private async dataLoop(): Promise<void> {
    try {
      for (let a = await this.conn.acceptStream(); a !== undefined; a = await this.conn.acceptStream()) {
        const stream = a.stream;
        void (async () => {
          for await (const m of readFrames(stream)) this.onFrame(m);
        })().catch((e: unknown) => {
          if (!isFcastError(e)) this.stop(e);
        });
      }
    } catch (e) {
      this.stop(e);
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
    return Promise.all(writes).catch(() => this.abort.abort());
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
    }
  }

  private attached(port: FlowPort): void {
    this.port = port;
    this.attachedAt = port.now();
    for (const p of this.early) port.inject(p, this.opts.host);
    this.early = [];
    if (this.opts.noMulticast !== true) this.session.channelsJoined(port.now());
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
