// The sender's flexicast shell (issue 6): a QUIC listener for admitted receivers, the sans-IO
// FlexController (src/flexicast/controller.ts) driven with the clock, the shared flow sealed with
// the controller's epoch key (src/flexicast/flow-crypto.ts), and unicast fallback DATA.
//
// Hooked on the send loop through `wrap` (src/net/send-session.ts `flow`): every ALC datagram of
// the carousel is sealed once before it goes on its multicast channel; while FC-msg copies are on
// (always with mode 'on'; with 'auto' while the controller finds that no receiver gets multicast)
// the same sealed packet is also copied to every registered receiver by unicast UDP
// (src/net/batch-udp.ts, one sendmmsg call for all copies).
//
// Unicast DATA: a controller grant "k more symbols of (toi, sbn) for receiver r" becomes k fresh
// encoding symbols of that block, from its own encoder (the carousel's window holds only the
// blocks on the air; a fallen-back receiver may lack any block). Each DATA frame carries the
// symbol as a whole ALC packet with EXT_FTI (the same bytes the flow would carry, unsealed: the
// QUIC connection already protects it), so the receiver's assembly takes it through its one
// entry point and a receiver that never heard the flow still learns each object's OTI.
// Symbols per block go in a strided order from a random start (ESI = start + i·stride mod n, the
// stride coprime with n and near n/φ), so grants to one receiver never repeat a symbol until the
// block's n symbols are used up, and any run of them is spread over sources and repairs alike.
// (Consecutive ESIs were worse: a run of staircase repairs leaves a few source columns with no
// equation, and with N1 = 3 a receiver then needed 15-23% more symbols than k before the ESIs
// reached those columns: 1.24-1.27x the file bytes on loopback.)
//
// FC-msg registration (modes 'on' and 'auto'): a receiver binds a UDP port and sends HELLO
// datagrams to the announced flow endpoint: 'FCH1' | its raw public key (32) | HMAC-SHA256(flow secret of a held epoch, 'fcast fc-msg
// hello' | key) (32) | epoch u32. Only a connected, joined member can produce it, and its flow
// copies go to the address the HELLO came from (so NAT mappings work) until it leaves.

import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { BlockEncoder } from '../../codecs/types.js';
import type { PlannedObject } from '../carousel/index.js';
import { isFcastError } from '../errors.js';
import { FlexController, FlowSealer, deriveFlowKey, type ControllerAction, type ControllerStats } from '../flexicast/index.js';
import { readRange } from '../store/source-tree.js';
import { alcHeaderSize, encodeAlcPacket, type AlcPacketInit } from '../wire/index.js';
import type { AnnounceMessage, DataMessage, FcMsgMode, FlexMessage } from '../wire/flexicast.js';
import { openBatchSender, type BatchSender } from './batch-udp.js';
import { createQuicEndpoint, type QuicConnection, type QuicEndpoint, type QuicListener, type QuicStream } from './quic.js';
import { CONTROL_IDLE_TIMEOUT_MS, readFrames, sendDataStream, writeFrame } from './quic-control.js';
import { publicKeyText, type QuicIdentity } from './quic-identity.js';

export const FCMSG_HELLO_MAGIC = Uint8Array.of(0x46, 0x43, 0x48, 0x31); // 'FCH1'
export const FCMSG_HELLO_BYTES = 4 + 32 + 32 + 4;
/** DATA frame bytes around its payload: frame header 6 + TOI 6 + SBN 4 + ESI 4 (src/wire/flexicast.ts). */
const DATA_FRAME_OVERHEAD = 20;
/**
 * How long the sender waits for a lost, incomplete receiver, counted from when its connection was
 * lost (both ends see that at once, CONTROL_IDLE_TIMEOUT_MS): the receivers' longest redial wait
 * (5 s backoff cap + 25 % jitter, src/net/flex-receiver.ts) plus one 2 s handshake, rounded up. A
 * receiver that comes back in that time re-joins; one that crashed holds the sender no longer.
 */
export const RECONNECT_GRACE_MS = 8500;
const HELLO_LABEL = new TextEncoder().encode('fcast fc-msg hello');

/** A stride near n/φ with gcd(stride, n) = 1: i -> i·stride mod n visits every ESI once, well spread. */
export function spreadStride(n: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let s = Math.max(1, Math.round(n * 0.6180339887));
  while (gcd(s, n) !== 1) s++;
  return s;
}

/** The HELLO tag: HMAC-SHA256 keyed with the epoch's flow secret over the label and the receiver key. */
export function helloTag(secret: Uint8Array, receiverKey: Uint8Array): Uint8Array {
  const msg = new Uint8Array(HELLO_LABEL.length + receiverKey.length);
  msg.set(HELLO_LABEL);
  msg.set(receiverKey, HELLO_LABEL.length);
  return hmac(sha256, secret, msg);
}

export interface FlexSenderOptions {
  readonly identity: QuicIdentity;
  /** Where the QUIC listener binds (port 0 = any; see `port`). */
  readonly host: string;
  readonly port: number;
  /** Receivers admitted by raw public key. */
  readonly admit: (key: Uint8Array) => boolean;
  /** Session parameters; the FC-msg fields are filled in here. */
  readonly announce: Omit<AnnounceMessage, 'kind' | 'cipher' | 'fcMsg' | 'flowAddress' | 'flowPort'>;
  /** The carousel's planned objects (CarouselSender.planned()) and file paths by key. */
  readonly objects: readonly PlannedObject[];
  readonly paths: readonly string[];
  readonly unicastBudgetBytesPerSec: number;
  /**
   * Copy sealed flow packets to every registered receiver by unicast UDP: 'on' always, 'auto'
   * (default) while no receiver gets the flow by multicast, 'off' never.
   */
  readonly fcMsg?: FcMsgMode;
  /** Periodic flow key rotation, ms (default 600 000; 0 = only on leave and the AEAD packet limit). */
  readonly rotateIntervalMs?: number;
  /** Blocks whose encoders are kept for repeated grants (default 16). */
  readonly cachedBlocks?: number;
}

export interface FlexReceiverStats {
  readonly id: string;
  readonly key: string;
  readonly remote: string;
  readonly path: 'multicast' | 'unicast' | 'none';
  /** Unicast DATA bytes sent to it (ALC packets inside DATA frames). */
  readonly unicastBytes: number;
  readonly unicastSymbols: number;
  /** Files (not FDT instances or other objects) it reported complete. */
  readonly completed: number;
  readonly connected: boolean;
  /** Path changes with their wall-clock time (Unix ms, comparable across processes) and reason. */
  readonly pathLog: ReadonlyArray<{ readonly at: number; readonly path: 'multicast' | 'unicast'; readonly reason: string }>;
}

/**
 * How the linger ended: every receiver that did not leave is complete; the rest were lost without
 * LEAVE and not back within RECONNECT_GRACE_MS of the loss ('lost'); --linger ran out first
 * ('timeout'); the send was stopped ('aborted').
 */
export type LingerEnd = 'complete' | 'lost' | 'timeout' | 'aborted';

/** A receiver the linger stopped waiting for while it was incomplete. */
export interface GivenUpReceiver {
  readonly id: string;
  readonly key: string;
  /** 'lost': its connection closed without LEAVE and it did not re-join in time; 'linger': connected when --linger ran out. */
  readonly reason: 'lost' | 'linger';
  /** Files it had reported complete, of `files`. */
  readonly completed: number;
  readonly files: number;
  /** When its connection was lost (Unix ms); absent for 'linger'. */
  readonly lostAt?: number;
}

export interface FlexSenderStats {
  readonly controller: ControllerStats;
  readonly receivers: readonly FlexReceiverStats[];
  /** Set by linger(): the incomplete receivers it stopped waiting for. */
  readonly givenUp: readonly GivenUpReceiver[];
  readonly flowPackets: number;
  readonly epoch: number;
  readonly refused: number;
  readonly fcMsg: {
    readonly mode: FcMsgMode;
    /** Copies going out now. */
    readonly copying: boolean;
    readonly registered: number;
    readonly copies: number;
    readonly path: 'sendmmsg' | 'dgram';
    /** When 'auto' switched the copies on and off (Unix ms) and why. */
    readonly log: ReadonlyArray<{ readonly at: number; readonly on: boolean; readonly reason: string }>;
  } | undefined;
}

interface Member {
  readonly id: string;
  readonly key: Uint8Array;
  readonly conn: QuicConnection;
  readonly control: QuicStream;
  path: 'multicast' | 'unicast' | 'none';
  unicastBytes: number;
  unicastSymbols: number;
  readonly completed: Set<number>;
  connected: boolean;
  /** It sent LEAVE: a clean leave, not a lost connection (a lost one may re-join). */
  left: boolean;
  /** When its connection closed (performance.now() ms and Unix ms); undefined while connected. */
  lostAt: { mono: number; wall: number } | undefined;
  fcMsg: { address: string; port: number } | undefined;
  readonly pathLog: Array<{ at: number; path: 'multicast' | 'unicast'; reason: string }>;
  /** Per block: where its strided ESI order starts and how many symbols were granted. */
  readonly cursor: Map<string, { readonly start: number; readonly stride: number; sent: number }>;
}

interface CachedBlock {
  readonly obj: PlannedObject;
  readonly encoder: BlockEncoder;
}

export class FlexSender {
  private readonly ctl: FlexController;
  private readonly sealer: FlowSealer;
  private readonly members = new Map<string, Member>();
  private readonly byToi: Map<number, PlannedObject>;
  private readonly blocks = new Map<string, Promise<CachedBlock>>();
  private readonly secrets = new Map<number, Uint8Array>();
  private readonly t0 = performance.now();
  private readonly timer: NodeJS.Timeout;
  private readonly fileTois: readonly number[];
  private pendingFlow = 0;
  private flowPackets = 0;
  private nextId = 0;
  private closed = false;
  private failure: unknown;
  private copies = 0;
  private copying: boolean;
  private givenUp: GivenUpReceiver[] = [];
  private readonly copyLog: Array<{ at: number; on: boolean; reason: string }> = [];

  private constructor(
    private readonly opts: FlexSenderOptions,
    private readonly endpoint: QuicEndpoint,
    private readonly listener: QuicListener,
    private readonly batch: BatchSender | undefined,
    private readonly helloSocket: Socket | undefined,
  ) {
    this.helloPort = helloSocket?.address().port ?? 0;
    const fcMsg = helloSocket === undefined ? 'off' : opts.fcMsg ?? 'auto';
    const announce: AnnounceMessage = { ...opts.announce, kind: 'announce', cipher: 1, fcMsg, flowAddress: opts.host, flowPort: this.helloPort };
    this.copying = fcMsg === 'on';
    // Each DATA frame carries a whole ALC packet: count its largest header in the budget too.
    const alcHeader = Math.max(0, ...opts.objects.map((o) => alcHeaderSize({ tsi: announce.tsi, toi: o.toi, codepoint: o.oti.encodingId, fti: o.oti, sbn: 0, esi: 0 })));
    this.ctl = new FlexController({
      announce, unicastBudgetBytesPerSec: opts.unicastBudgetBytesPerSec, symbolOverhead: DATA_FRAME_OVERHEAD + alcHeader,
      ...(opts.rotateIntervalMs === undefined ? {} : { rotateIntervalMs: opts.rotateIntervalMs }),
    });
    const k = this.ctl.flowKey;
    this.secrets.set(k.epoch, k.secret);
    this.sealer = new FlowSealer(deriveFlowKey(announce.flowId, k.epoch, k.secret));
    this.byToi = new Map(opts.objects.map((o) => [o.toi, o]));
    this.fileTois = opts.objects.filter((o) => o.key !== undefined).map((o) => o.toi);
    this.timer = setInterval(() => this.tick(), 5);
    this.acceptLoop().catch((e: unknown) => {
      this.failure ??= e;
    });
    helloSocket?.on('message', (msg, rinfo) => this.onHello(msg, rinfo.address, rinfo.port));
  }

  /** Start listening. Unless fcMsg is 'off', also opens the replication socket and the HELLO port. */
  static async start(opts: FlexSenderOptions): Promise<FlexSender> {
    const endpoint = await createQuicEndpoint(opts.identity, { maxIdleTimeoutMs: CONTROL_IDLE_TIMEOUT_MS });
    let listener: QuicListener | undefined;
    let batch: BatchSender | undefined;
    let hello: Socket | undefined;
    try {
      listener = await endpoint.listen(opts.host, opts.port, opts.admit);
      if ((opts.fcMsg ?? 'auto') !== 'off') {
        const bindAddress = opts.host.includes(':') ? '::' : '0.0.0.0';
        // HELLOs come to a dgram socket; copies leave from the batch socket: two ports, the HELLO
        // port is the one announced (receivers only ever send to it).
        hello = createSocket({ type: opts.host.includes(':') ? 'udp6' : 'udp4' });
        await new Promise<void>((resolve, reject) => {
          hello!.once('error', reject);
          hello!.bind({ port: 0, address: bindAddress }, () => resolve());
        });
        batch = await openBatchSender({ bindAddress });
      }
    } catch (e) {
      hello?.close();
      batch?.close();
      await listener?.close();
      endpoint.close();
      throw e;
    }
    return new FlexSender(opts, endpoint, listener, batch, hello);
  }

  /** UDP port receivers send FC-msg HELLOs to (the ANNOUNCE flow port; 0 with FC-msg off). */
  readonly helloPort: number;

  /** The QUIC port receivers connect to. */
  get port(): number {
    return this.listener.port;
  }

  /** The send loop's hook: seal one ALC datagram for the flow (and copy it to FC-msg receivers). */
  wrap(alc: Uint8Array): Uint8Array {
    if (this.failure !== undefined) throw this.failure;
    const sealed = this.sealer.seal(alc);
    this.pendingFlow++;
    this.flowPackets++;
    if (this.copying) this.copies += this.batch!.sendCopies(sealed);
    return sealed;
  }

  /**
   * After the carousel ends: serve fallen-back receivers until every member still held reported
   * every file complete, `maxMs` passed or `signal` aborts. Receivers that are still on the (now
   * silent) flow ask for unicast themselves. A member whose connection was lost (closed without
   * LEAVE) and is not complete is held for RECONNECT_GRACE_MS from that loss (it is dialling again
   * with backoff and re-joins as the same receiver), never past `maxMs`: a crashed receiver costs
   * the grace, not the whole linger. A clean LEAVE or a complete member holds nothing. The
   * incomplete receivers it stops waiting for are in stats().givenUp.
   */
  async linger(maxMs: number, signal?: AbortSignal): Promise<LingerEnd> {
    const end = performance.now() + maxMs;
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (signal?.aborted === true) return 'aborted';
      const now = performance.now();
      const incomplete = [...this.members.values()].filter((m) => (m.connected || !m.left) && !this.isComplete(m));
      const held = incomplete.filter((m) => m.connected || now < m.lostAt!.mono + RECONNECT_GRACE_MS);
      if (held.length === 0 || now >= end) {
        this.givenUp = incomplete.map((m) => this.givingUp(m));
        return held.length > 0 ? 'timeout' : incomplete.length > 0 ? 'lost' : 'complete';
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private givingUp(m: Member): GivenUpReceiver {
    const base = { id: m.id, key: publicKeyText(m.key), completed: this.filesDone(m), files: this.fileTois.length };
    return m.connected ? { ...base, reason: 'linger' } : { ...base, reason: 'lost', lostAt: m.lostAt!.wall };
  }

  /** Files the member reported complete (its completed set also holds FDT instances). */
  private filesDone(m: Member): number {
    return this.fileTois.filter((t) => m.completed.has(t)).length;
  }

  private isComplete(m: Member): boolean {
    return this.filesDone(m) === this.fileTois.length;
  }

  /**
   * Admitted receivers that reported every file complete, connected or not (a receiver that is
   * done may leave at once). `fcast send --expect-receivers` closes a push session early on it.
   */
  receiversComplete(): number {
    let n = 0;
    for (const m of this.members.values()) if (this.isComplete(m)) n++;
    return n;
  }

  stats(): FlexSenderStats {
    return {
      controller: this.ctl.stats(),
      receivers: [...this.members.values()].map((m) => ({
        id: m.id, key: publicKeyText(m.key), remote: `${m.conn.remoteAddress}:${m.conn.remotePort}`, path: m.path,
        unicastBytes: m.unicastBytes, unicastSymbols: m.unicastSymbols, completed: this.filesDone(m), connected: m.connected, pathLog: [...m.pathLog],
      })),
      givenUp: [...this.givenUp],
      flowPackets: this.flowPackets,
      epoch: this.sealer.epoch,
      refused: this.listener.stats().refused,
      fcMsg: this.batch === undefined ? undefined : {
        mode: this.opts.fcMsg ?? 'auto', copying: this.copying,
        registered: [...this.members.values()].filter((m) => m.fcMsg !== undefined).length, copies: this.copies, path: this.batch.path, log: [...this.copyLog],
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const m of this.members.values()) m.conn.close();
    await this.listener.close();
    this.endpoint.close();
    this.batch?.close();
    this.helloSocket?.close();
  }

  // ---- internals ----------------------------------------------------------------------------

  private now(): number {
    return performance.now() - this.t0;
  }

  private tick(): void {
    const now = this.now();
    if (this.pendingFlow > 0) {
      this.ctl.noteFlowSent(now, this.pendingFlow);
      this.pendingFlow = 0;
    }
    const due = this.ctl.nextTimeout();
    if (due !== undefined && due <= now) this.ctl.handleTimeout(now);
    this.drive();
  }

  private async acceptLoop(): Promise<void> {
    for (;;) {
      let conn: QuicConnection | undefined;
      try {
        conn = await this.listener.accept();
      } catch (e) {
        if (this.closed) return;
        throw e;
      }
      if (conn === undefined) return;
      void this.serve(conn).catch((e: unknown) => {
        // A receiver's bad frame or a dropped connection ends that receiver only.
        if (!isFcastError(e)) this.failure ??= e;
      });
    }
  }

  private async serve(conn: QuicConnection): Promise<void> {
    const first = await conn.acceptStream();
    if (first?.kind !== 'bi') {
      conn.close();
      return;
    }
    const id = `${publicKeyText(conn.remoteKey).slice(0, 8)}#${this.nextId++}`;
    // A receiver whose connection dropped dials again and re-joins (src/net/flex-receiver.ts): the
    // same receiver, so its closed membership (files completed, unicast counts, path log) is folded in.
    const key = publicKeyText(conn.remoteKey);
    const before = [...this.members.values()].find((o) => !o.connected && publicKeyText(o.key) === key);
    if (before !== undefined) this.members.delete(before.id);
    const m: Member = {
      id, key: conn.remoteKey, conn, control: first.stream, path: 'none', unicastBytes: before?.unicastBytes ?? 0, unicastSymbols: before?.unicastSymbols ?? 0,
      completed: new Set(before?.completed), connected: true, left: false, lostAt: undefined, fcMsg: undefined, pathLog: [...(before?.pathLog ?? [])], cursor: new Map(),
    };
    this.members.set(id, m);
    this.ctl.addReceiver(this.now(), id);
    this.drive();
    try {
      for await (const f of readFrames(first.stream)) this.onFrame(m, f);
    } finally {
      m.connected = false;
      m.lostAt = { mono: performance.now(), wall: Date.now() };
      m.fcMsg = undefined;
      this.refreshDestinations();
      this.ctl.removeReceiver(this.now(), id);
      this.foldIntoNewer(m);
      this.drive();
      conn.close();
    }
  }

  /**
   * A connection that dies after its receiver already re-joined on a new one (the receiver's idle
   * timeout fired before ours) is folded into that newer member, as a re-join folds a closed one
   * in: one entry per receiver, and a superseded lost membership does not hold the linger.
   */
  private foldIntoNewer(m: Member): void {
    const key = publicKeyText(m.key);
    const newer = [...this.members.values()].find((o) => o !== m && o.connected && publicKeyText(o.key) === key);
    if (newer === undefined) return;
    this.members.delete(m.id);
    newer.unicastBytes += m.unicastBytes;
    newer.unicastSymbols += m.unicastSymbols;
    for (const t of m.completed) newer.completed.add(t);
    newer.pathLog.push(...m.pathLog);
    newer.pathLog.sort((a, b) => a.at - b.at);
  }

  private onFrame(m: Member, f: FlexMessage): void {
    const now = this.now();
    if (f.kind === 'state' && f.action === 'leave') m.left = true;
    if (f.kind === 'state') this.ctl.handleState(now, m.id, f);
    else if (f.kind === 'report') {
      this.ctl.noteRtt(m.id, m.conn.stats().rttMs);
      this.ctl.handleReport(now, m.id, f);
    }
    this.drive();
  }

  private drive(): void {
    for (let a = this.ctl.poll(); a !== undefined; a = this.ctl.poll()) this.act(a);
  }

  private act(a: ControllerAction): void {
    switch (a.kind) {
      case 'send': {
        const m = this.members.get(a.receiver);
        if (m === undefined || !m.connected) return;
        // Next keys are handed out before a rotation: HELLOs may already use them.
        if (a.message.kind === 'key') this.secrets.set(a.message.epoch, a.message.secret);
        writeFrame(m.control, a.message).catch(() => m.conn.close());
        return;
      }
      case 'unicast': {
        const m = this.members.get(a.receiver);
        if (m === undefined || !m.connected) return;
        this.grant(m, a.toi, a.sbn, a.symbols).catch((e: unknown) => {
          if (!isFcastError(e)) this.failure ??= e;
        });
        return;
      }
      case 'rotate':
        this.secrets.set(a.epoch, a.secret);
        for (const e of this.secrets.keys()) if (e < a.epoch - 1) this.secrets.delete(e);
        this.sealer.rotate(deriveFlowKey(this.opts.announce.flowId, a.epoch, a.secret));
        return;
      case 'path': {
        const m = this.members.get(a.receiver);
        if (m === undefined) return;
        m.path = a.path;
        m.pathLog.push({ at: Date.now(), path: a.path, reason: a.reason });
        return;
      }
      case 'completed':
        this.members.get(a.receiver)?.completed.add(a.toi);
        return;
      case 'fc-msg':
        this.copying = a.on;
        this.copyLog.push({ at: Date.now(), on: a.on, reason: a.reason });
        return;
    }
  }

  /** Send `count` fresh symbols of (toi, sbn) to the member on one DATA stream. */
  private async grant(m: Member, toi: number, sbn: number, count: number): Promise<void> {
    const obj = this.byToi.get(toi);
    const block = obj?.plan.blocks[sbn];
    if (obj === undefined || block === undefined) return; // a need we never sent: nothing fits it
    const cached = await this.block(obj, sbn);
    const k = `${toi}:${sbn}`;
    let c = m.cursor.get(k);
    if (c === undefined) {
      c = { start: randomInt(0, block.n), stride: spreadStride(block.n), sent: 0 };
      m.cursor.set(k, c);
    }
    const frames: DataMessage[] = [];
    for (let i = 0; i < count; i++) {
      const esi = (c.start + (c.sent++ % block.n) * c.stride) % block.n;
      const packet = this.packet(cached, sbn, esi);
      frames.push({ kind: 'data', toi, sbn, esi, symbol: packet });
      m.unicastBytes += packet.length;
    }
    m.unicastSymbols += count;
    await sendDataStream(m.conn, frames);
  }

  /** The block's encoder, built once from the file (cached for the next grants). */
  private block(obj: PlannedObject, sbn: number): Promise<CachedBlock> {
    const k = `${obj.toi}:${sbn}`;
    let p = this.blocks.get(k);
    if (p !== undefined) {
      // Most recently used last.
      this.blocks.delete(k);
      this.blocks.set(k, p);
      return p;
    }
    p = this.loadBlock(obj, sbn);
    this.blocks.set(k, p);
    while (this.blocks.size > (this.opts.cachedBlocks ?? 16)) {
      const oldest = this.blocks.keys().next().value!;
      void this.blocks.get(oldest)!.then((b) => b.encoder.dispose(), () => undefined);
      this.blocks.delete(oldest);
    }
    p.catch(() => this.blocks.delete(k));
    return p;
  }

  private async loadBlock(obj: PlannedObject, sbn: number): Promise<CachedBlock> {
    const block = obj.plan.blocks[sbn]!;
    let buf: Uint8Array;
    if (obj.memory !== undefined) {
      buf = obj.memory.subarray(block.offset, block.offset + block.length);
    } else {
      // Compound object = FCAST header | file bytes (as the carousel's fileJob lays it out).
      buf = new Uint8Array(block.length);
      const header = obj.header;
      if (block.offset < header.length) buf.set(header.subarray(block.offset, Math.min(header.length, block.offset + block.length)));
      const headerPart = Math.max(0, header.length - block.offset);
      if (headerPart < block.length) await readRange(this.opts.paths[obj.key!]!, block.offset + headerPart - header.length, buf.subarray(headerPart));
    }
    return { obj, encoder: obj.scheme.createEncoder(obj.plan, sbn, buf) };
  }

  private packet(b: CachedBlock, sbn: number, esi: number): Uint8Array {
    const { obj, encoder } = b;
    const oti = obj.oti;
    const block = obj.plan.blocks[sbn]!;
    let payload = encoder.symbol(esi);
    if (esi === block.k - 1 && sbn === obj.plan.blocks.length - 1) {
      // The short last source symbol goes at its true length (RFC 5445 §3.2.2.2, RFC 5170 §5.6).
      payload = payload.subarray(0, oti.transferLength - (block.offset + (block.k - 1) * oti.symbolSize));
    }
    const init: AlcPacketInit = { tsi: this.opts.announce.tsi, toi: obj.toi, codepoint: oti.encodingId, fti: oti, sbn, esi, payload };
    const out = new Uint8Array(alcHeaderSize(init) + payload.length);
    encodeAlcPacket(out, init);
    return out;
  }

  private onHello(msg: Buffer, address: string, port: number): void {
    if (msg.length !== FCMSG_HELLO_BYTES || FCMSG_HELLO_MAGIC.some((b, i) => msg[i] !== b)) return;
    const key = msg.subarray(4, 36);
    const tag = msg.subarray(36, 68);
    const epoch = msg.readUInt32BE(68);
    const secret = this.secrets.get(epoch);
    if (secret === undefined) return;
    const want = helloTag(secret, key);
    if (!want.every((b, i) => b === tag[i])) return;
    for (const m of this.members.values()) {
      if (!m.connected || !Buffer.from(m.key).equals(key)) continue;
      const st = this.ctl.stateOf(m.id);
      if (st === undefined || st === 'connected') continue;
      if (m.fcMsg?.address === address && m.fcMsg.port === port) return;
      m.fcMsg = { address, port };
      this.refreshDestinations();
      return;
    }
  }

  private refreshDestinations(): void {
    this.batch?.setDestinations([...this.members.values()].flatMap((m) => (m.fcMsg === undefined ? [] : [m.fcMsg])));
  }
}
