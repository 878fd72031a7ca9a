// The receive loop: multicast sockets -> the receiver core (src/assembly) -> the state folder and
// output directory (src/store). The core decides; this shell moves bytes and keeps time
// (performance.now() lives here, never in the core). One Node event loop, no worker: each
// datagram is handled synchronously, then the core's events are drained in order.
//
// Ending (RFC 6968 §3.8 step 5): `complete` when every object of a complete carousel instance
// is verified; `closed` when the sender closed the session (A flag) and no packet came for
// `closeGraceMs` (then complete only if nothing is missing); `timeout` when `timeoutMs` passed.

import type { FecEncodingId, FecScheme } from '../../codecs/types.js';
import { Receiver, type AssemblyEvent, type MissingObject, type ObjectStats, type ReceiverStats } from '../assembly/index.js';
import { assertNever, isFcastError } from '../errors.js';
import { OutputDir } from '../store/output.js';
import { ReceiverState } from '../store/spool.js';
import type { WebrcParams } from '../rate/index.js';
import { joinChannel, type McastChannel } from './mcast-recv.js';
// Types only: the WEBRC module (and src/rate behind it) loads when a session uses WEBRC.
import type { WebrcGroups, WebrcStatus } from './webrc-groups.js';

export interface ReceiveChannel {
  readonly group: string;
  readonly port: number;
  /** WEBRC channel number (needed with `webrc`). */
  readonly cn?: number;
}

export interface ReceiveOptions {
  readonly dir: string;
  readonly channels: readonly ReceiveChannel[];
  readonly schemes: ReadonlyMap<FecEncodingId, FecScheme>;
  readonly iface?: string;
  /** SSM source (and the only sender accepted). */
  readonly source?: string;
  /** Session to follow; the first heard when absent. */
  readonly tsi?: number;
  readonly timeoutMs?: number;
  /** Quiet time after the A flag before giving up on missing objects (default 1500 ms). */
  readonly closeGraceMs?: number;
  /**
   * State flush (fsync) interval (default 5000 ms). Resume after kill -9 does not depend on it
   * (written spool records and part blocks are in the page cache, and a block is marked done
   * only after its part-file sync); it bounds what a power loss costs. At 1000 ms every flush
   * forced the spool and part data of the last second to disk, so eight receivers of a 64 MB
   * transfer pushed their spools and part files (8 x 2 x 64 MB) through one shared disk during
   * the 4 s transfer, each waiting on journal commits; now a short transfer ends first.
   */
  readonly flushMs?: number;
  /** Called about every `progressMs` (default 250) and once at the end. */
  readonly onProgress?: (p: ReceiveProgress) => void;
  readonly progressMs?: number;
  /** Abort from outside (SIGINT): ends like a timeout. */
  readonly signal?: AbortSignal;
  readonly recvBufferSize?: number;
  /** Keep DIR/.fcast after a complete receive (tests inspect it). */
  readonly keepState?: boolean;
  /** Flexicast (src/net/flex-receiver.ts): opens sealed flow packets and feeds unicast packets in. */
  readonly flow?: FlowTap;
  /** WEBRC session: channels are joined and left by the controller (src/net/webrc-groups.ts). */
  readonly webrc?: WebrcParams;
  /** WEBRC ARTT floor, seconds. */
  readonly webrcMinArtt?: number;
  /** Called once with a line for the user: the channel heard is a WEBRC base channel, alone. */
  readonly onNotice?: (text: string) => void;
}

/** How the flexicast shell plugs into the receive loop. */
export interface FlowTap {
  /** A datagram from a channel: the ALC packet inside the sealed flow packet, or undefined to drop it. */
  open(now: number, bytes: Uint8Array): Uint8Array | undefined;
  /** Called once the channels are joined: the core to query and the door for packets that came by unicast. */
  attached(port: FlowPort): void;
}

export interface FlowPort {
  readonly receiver: Receiver;
  /** Time on the receive loop's clock (ms). */
  now(): number;
  /** An ALC packet that came another way (flexicast unicast DATA): handled like a multicast one. */
  inject(bytes: Uint8Array, from: string): void;
}

export interface ObjectReport extends ObjectStats {
  /** Final path of a delivered file. */
  readonly file: string | undefined;
  /** ms from the object's first packet to its verification. */
  readonly ms: number | undefined;
}

export interface ReceiveProgress {
  readonly elapsedMs: number;
  readonly stats: ReceiverStats;
  readonly objects: readonly ObjectReport[];
  readonly instance: { readonly ciid: number | undefined; readonly complete: boolean; readonly objects: number } | undefined;
  /** WEBRC layers, target rate and loss (WEBRC sessions only). */
  readonly webrc?: WebrcStatus;
}

export type ReceiveStatus = 'complete' | 'closed' | 'timeout';

export interface ReceiveResult extends ReceiveProgress {
  readonly status: ReceiveStatus;
  readonly missing: readonly MissingObject[];
  readonly session: { readonly tsi: number; readonly source: string | undefined } | undefined;
  readonly recvBufferSize: number;
}

const FLUSH_MS = 5000;
/**
 * How long a hot block's received symbols may wait in its decoder before they are spooled
 * (Receiver spoolDelayMs). A block that decodes sooner never writes them: at 0% loss every block,
 * at 10% loss in the 64 MB push of the harness every block too (its repair pass comes within
 * ~1 s). The price: a kill -9 loses what undecoded blocks received in the last 2 s (written
 * blocks are journalled at once, "w" lines); a clean stop (timeout, SIGINT) spools it all.
 */
const SPOOL_DELAY_MS = 2000;

/** Receive one session into `dir`; resolves when it ends (never rejects for bad packets). */
export async function receiveSession(opts: ReceiveOptions): Promise<ReceiveResult> {
  const run = new ReceiveRun(opts);
  return run.start();
}

class ReceiveRun {
  private readonly receiver: Receiver;
  private readonly state: ReceiverState;
  private readonly out: OutputDir;
  private readonly t0 = performance.now();
  private channels: McastChannel[] = [];
  private groups: WebrcGroups | undefined;
  private readonly delivered = new Map<number, string>();
  private readonly verifying = new Set<number>();
  private lastPacketAt = 0;
  private finished: ((s: ReceiveStatus) => void) | undefined;
  private ended = false;
  private instanceComplete = false;
  private layoutChecked = false;

  constructor(private readonly opts: ReceiveOptions) {
    this.state = new ReceiverState(opts.dir);
    // Deferred spooling needs the "w" lines (a written block journalled at once), which need a boot id.
    const spoolDelayMs = this.state.bootId === undefined ? 0 : SPOOL_DELAY_MS;
    // FCAST_RECV_FAST=0: every datagram on the core's TypeScript path (A/B of its native fast path).
    const fastPath = process.env.FCAST_RECV_FAST !== '0';
    this.receiver = new Receiver({ schemes: opts.schemes, tsi: opts.tsi, source: opts.source, cciLength: 4, spoolDelayMs, fastPath });
    this.out = new OutputDir(opts.dir, this.state);
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  async start(): Promise<ReceiveResult> {
    if (this.opts.tsi !== undefined) this.resume(this.opts.tsi, this.opts.source);
    const done = new Promise<ReceiveStatus>((resolve) => (this.finished = resolve));
    const timers: NodeJS.Timeout[] = [];
    let status: ReceiveStatus | undefined;
    try {
      if (this.opts.webrc !== undefined) this.groups = await this.openWebrc(this.opts.webrc);
      for (const ch of this.groups === undefined ? this.opts.channels : []) {
        this.channels.push(
          await joinChannel(
            { group: ch.group, port: ch.port, iface: this.opts.iface, source: this.opts.source, recvBufferSize: this.opts.recvBufferSize },
            (bytes, from, at) => this.onDatagram(bytes, from, at),
            // A flexicast flow opens each datagram on its own; plain ALC goes to the core a batch at a time.
            this.opts.flow === undefined ? (data, offsets, lengths, count, from, at) => this.onBatch(data, offsets, lengths, count, from, at) : undefined,
          ),
        );
      }
      this.opts.flow?.attached({ receiver: this.receiver, now: () => this.now(), inject: (b, from) => this.handlePacket(b, from) });
      timers.push(setInterval(() => this.flush(), this.opts.flushMs ?? FLUSH_MS));
      timers.push(setInterval(() => this.tick(), 100));
      if (this.opts.onProgress !== undefined) {
        const cb = this.opts.onProgress;
        timers.push(setInterval(() => cb(this.progress()), this.opts.progressMs ?? 250));
      }
      if (this.opts.timeoutMs !== undefined) timers.push(setTimeout(() => this.finish('timeout'), this.opts.timeoutMs));
      this.opts.signal?.addEventListener('abort', () => this.finish('timeout'), { once: true });
      status = await done;
      return this.result(status);
    } finally {
      for (const t of timers) clearInterval(t);
      await Promise.all([...this.channels.map((c) => c.close()), this.groups?.close()]);
      // A complete receive leaves no state behind; anything else keeps it for a resume.
      if (status === 'complete' && this.failure === undefined && !this.opts.keepState) {
        this.out.close();
        this.state.remove();
      } else {
        this.spoolDeferred();
        this.flushNow();
        this.out.close();
        this.state.close();
      }
    }
  }

  private async openWebrc(params: WebrcParams): Promise<WebrcGroups> {
    const { WebrcGroups } = await import('./webrc-groups.js');
    const channels = this.opts.channels.map((c) => ({ cn: c.cn ?? 0, group: c.group, port: c.port }));
    return WebrcGroups.open({
      params, channels, iface: this.opts.iface, source: this.opts.source, tsi: this.opts.tsi, recvBufferSize: this.opts.recvBufferSize,
      ...(this.opts.webrcMinArtt === undefined ? {} : { minArtt: this.opts.webrcMinArtt }),
      now: () => this.now(),
      onDatagram: (bytes, from) => this.onDatagram(bytes, from),
      // Native path: a read of a channel goes to the core in one call (flexicast has no WEBRC).
      onBatch: (data, offsets, lengths, count, from, at) => this.onBatch(data, offsets, lengths, count, from, at),
    });
  }

  private finish(status: ReceiveStatus): void {
    if (this.ended) return;
    this.ended = true;
    this.finished?.(status);
  }

  private onDatagram(bytes: Uint8Array, from: string, at?: number): void {
    const now = at === undefined ? this.now() : at - this.t0;
    const alc = this.opts.flow === undefined ? bytes : this.opts.flow.open(now, bytes);
    if (alc === undefined) return;
    if (!this.layoutChecked) this.checkLayout(alc);
    this.handlePacket(alc, from, now);
  }

  private onBatch(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, from: string, at: number): void {
    if (this.ended) return;
    const now = at - this.t0;
    if (!this.layoutChecked) this.checkLayout(data.subarray(offsets[0]!, offsets[0]! + lengths[0]!));
    this.lastPacketAt = now;
    this.receiver.handleBatch(now, data, offsets, lengths, count, from);
    this.drain();
  }

  /**
   * Without a WEBRC description, a first packet whose short CCI (RFC 3738 §5.1: LCT V 1, C 0)
   * names channel CN > 0 comes from the base channel (CN = T) of a WEBRC session: the waves are
   * not known, so say once how to get them (fcast sends CN 0 on a fixed-rate session's channel).
   */
  private checkLayout(alc: Uint8Array): void {
    this.layoutChecked = true;
    if (this.opts.webrc !== undefined || this.opts.channels.length !== 1 || alc.length < 8) return;
    if (alc[0]! >> 4 !== 1 || ((alc[0]! >> 2) & 3) !== 0 || alc[5] === 0) return;
    const { group, port } = this.opts.channels[0]!;
    this.opts.onNotice?.(`${group.includes(':') ? `[${group}]` : group}:${port} is the base channel of a WEBRC session (T = ${alc[5]}): ` +
      'only it is heard, at its base rate; receive from the session description (file, or the URL of fcast send --announce) to take the layers the path carries');
  }

  private handlePacket(bytes: Uint8Array, from: string, now = this.now()): void {
    if (this.ended) return;
    this.lastPacketAt = now;
    this.receiver.handleDatagram(this.lastPacketAt, bytes, from);
    this.drain();
  }

  /** Periodic: deferred symbols that are due to the spool; the end of a closed session. */
  private tick(): void {
    if (this.ended) return;
    this.receiver.spoolDue(this.now());
    this.drain();
    if (!this.receiver.isSessionClosed() || this.verifying.size > 0) return;
    if (this.now() - this.lastPacketAt < (this.opts.closeGraceMs ?? 1500)) return;
    this.finish(this.receiver.missing().length === 0 && this.delivered.size > 0 ? 'complete' : 'closed');
  }

  private resume(tsi: number, source: string | undefined): void {
    const now = this.now();
    for (const st of this.state.openSession(tsi, source)) {
      const header = st.header === undefined ? undefined : new Uint8Array(Buffer.from(st.header, 'base64'));
      try {
        this.receiver.restoreObject(now, st.toi, st.oti, st.done, header, st.verified);
      } catch (e) {
        if (!isFcastError(e)) throw e;
        this.state.dropObject(st.toi);
        continue;
      }
      if (st.verified) {
        if (st.path !== undefined) this.delivered.set(st.toi, st.path);
        continue;
      }
      const records = this.state.scan(st.toi, (r, sbn, esi) => this.receiver.restoreSymbol(st.toi, r, sbn, esi));
      this.receiver.restoreEnd(now, st.toi, records);
      this.drain();
    }
  }

  /**
   * At the end of an incomplete receive: what waits in hot decoders goes to the spool before the
   * final flush. Only the spool events are acted on: a cold decode or a verification started now
   * would outlive the receive.
   */
  private spoolDeferred(): void {
    this.receiver.spoolAll();
    for (let ev = this.receiver.poll(); ev !== undefined; ev = this.receiver.poll()) if (ev.kind === 'spool') this.handle(ev);
  }

  private drain(): void {
    for (let ev = this.receiver.poll(); ev !== undefined; ev = this.receiver.poll()) this.handle(ev);
  }

  private handle(ev: AssemblyEvent): void {
    switch (ev.kind) {
      case 'session':
        this.resume(ev.tsi, ev.source);
        // The datagrams that came with the session's first packet: now, after its resume state.
        this.receiver.releaseHeld();
        return;
      case 'object-open':
        this.state.addObject(ev.toi, ev.oti);
        return;
      case 'spool':
        this.state.append(ev.toi, ev.record, ev.sbn, ev.esi, ev.symbol);
        return;
      case 'spool-run':
        this.state.appendRun(ev.toi, ev.record, ev.count, ev.sbns, ev.esis, ev.data, ev.offsets, ev.lengths);
        return;
      case 'decode-request':
        this.receiver.decodeBlock(this.now(), ev.toi, ev.sbn, this.state.read(ev.toi, ev.records));
        return;
      case 'object-header':
        this.state.setHeader(ev.toi, ev.headerBytes, ev.info.path);
        this.out.beginDigest(ev.toi, ev.info, ev.headerBytes);
        return;
      case 'block-data':
        if (ev.bytes.length > 0) this.out.writeBlock(ev.toi, ev.fileOffset, ev.bytes);
        this.state.markBlockDone(ev.toi, ev.sbn);
        return;
      case 'object-decoded':
        this.verify(ev.toi, ev.info);
        return;
      case 'object-rejected':
        this.out.discard(ev.toi);
        this.state.dropObject(ev.toi);
        return;
      case 'instance-complete':
        this.instanceComplete = true;
        if (this.verifying.size === 0) this.finish('complete');
        return;
      case 'cid':
      case 'object-closed':
      case 'session-closed':
        return;
      default:
        assertNever(ev);
    }
  }

  private verify(toi: number, info: Parameters<OutputDir['deliver']>[1]): void {
    const header = this.state.object(toi)?.header;
    const headerBytes = header === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(header, 'base64'));
    this.verifying.add(toi);
    this.out.deliver(toi, info, headerBytes).then(
      (file) => {
        this.verifying.delete(toi);
        this.delivered.set(toi, file);
        this.state.markVerified(toi);
        this.receiver.objectVerified(toi);
        this.drain();
        if (this.instanceComplete && this.verifying.size === 0) this.finish('complete');
      },
      (e: unknown) => {
        this.verifying.delete(toi);
        if (!isFcastError(e)) {
          this.finishWithError(e);
          return;
        }
        this.receiver.objectFailed(toi, e.code, e.message);
        this.drain();
      },
    );
  }

  private finishWithError(e: unknown): void {
    // An I/O failure (disk full, permissions) ends the receive; the command maps it to exit 6.
    this.failure = e;
    this.finish('timeout');
  }

  private failure: unknown;

  /** Periodic, in the background: spools and part files synced, then state files written. */
  private flush(): void {
    this.state.flush((toi) => this.out.syncPartAsync(toi)).catch((e: unknown) => this.finishWithError(e));
  }

  private flushNow(): void {
    this.state.flushNow((toi) => this.out.syncPart(toi));
  }

  private objectReports(): ObjectReport[] {
    return this.receiver
      .allObjectStats()
      .filter((o) => o.path !== undefined || o.phase !== 'verified')
      .map((o) => ({ ...o, file: this.delivered.get(o.toi), ms: o.doneAt === undefined ? undefined : Math.round(o.doneAt - o.firstAt) }));
  }

  private progress(): ReceiveProgress {
    const inst = this.receiver.carouselInstance();
    return {
      elapsedMs: Math.round(this.now()),
      stats: this.receiver.receiverStats(),
      objects: this.objectReports(),
      instance: inst === undefined ? undefined : { ciid: inst.ciid, complete: inst.complete, objects: inst.tois.length },
      ...(this.groups === undefined ? {} : { webrc: this.groups.status() }),
    };
  }

  private result(status: ReceiveStatus): ReceiveResult {
    if (this.failure !== undefined) throw this.failure;
    const p = this.progress();
    this.opts.onProgress?.(p);
    const session = this.receiver.session();
    return {
      ...p,
      status,
      missing: this.receiver.missing(),
      session,
      recvBufferSize: this.groups?.recvBufferSize ?? Math.min(...this.channels.map((c) => c.recvBufferSize)),
    };
  }
}
