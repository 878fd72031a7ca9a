// Receiving side of WEBRC (RFC 3738 §3.2; SPEC-NOTES §6.3, §7 row 20): the real multicast groups
// of a session, joined and left as the sans-IO controller (src/rate WebrcReceiver) decides.
//
// One UDP socket per channel, all bound at the start to the channel's group, so a socket sees
// only its group. IPv6 groups of interface- or link-local scope cannot be bound without a scope id:
// those sockets bind '::' and the port and also see the other joined groups of the port, which the
// CN check below drops. (Bound to '::', every one of the T + 1 sockets got every datagram of the
// session: measured in the IPv6 netns test, the receive then ran so late that join latencies
// read over a second.) A join is then one synchronous
// IP_ADD_MEMBERSHIP / IP_ADD_SOURCE_MEMBERSHIP (IGMPv3/MLDv2 reports from the kernel), a leave one
// IP_DROP_MEMBERSHIP, so the join latency the controller measures is the network's, not ours.
//
// Every datagram's CCI is read before anything else: a bad CCI, or a CN that is not the channel
// the datagram came in on, is counted and dropped (§7 row 20). Datagrams of other sessions (TSI)
// skip the controller but still go to `onDatagram`, whose receiver counts them. Packets that
// arrive on a channel after its leave still feed the assembly (their symbols are good); the
// controller ignores them.
//
// Leaving the session [ours]: the controller's exceptional rules (§3.2.3.8: no packets for
// max(10 s, TSD), no slot change for max(20 s, 2·TSD); the base-loss SHOULD of §3.2.1) make us
// drop every membership. The receive goes on from the base channel alone with a fresh controller:
// at once after the timeouts (the sender paused or ended; the receive's own --timeout and close
// rules decide when to give up), after max(10 s, TSD) after base loss (the path cannot carry even
// the base: back off before trying again).
//
// Trace [diagnosis]: with FCAST_WEBRC_TRACE=FILE every controller decision (epochs, joins, first
// packets, loss events, start-up exits) is appended to FILE as one JSON object a line, and so is
// every tick that ran late by more than STALL_MS (`{"kind":"stall"}`: the event loop was busy, so
// join latencies measured then are long). bench/webrc-fairness.ts reads it. Off by default.
//
// Join time: Linux sends a join's IGMPv3/MLDv2 state-change report from a timer it arms two ticks
// out (igmp_ifc_start_timer / mld_ifc_start_work: jiffies + 2), not in the setsockopt. Measured with
// tcpdump on a TestNet receiver (HZ 250, 20 joins): the report left 8.2-15.5 ms after the
// setsockopt, mean 11.9 ms, i.e. 2-4 ticks. The controller times a join from when its report
// leaves (RFC 3738 §3.2.2.2: ARTT is the path's round trip), so it is told REPORT_TICKS ticks; the
// tick comes from the kernel's CONFIG_HZ (/boot/config-<release>, else /proc/config.gz) and is
// taken as 0 when neither is readable (then ARTT carries the ~12 ms, as before).
//
// Timers (node:dgram): one 10 ms interval runs the controller's timeouts (epochs are TSD/20 >= 50 ms
// for any sane TSD), instead of one timer re-armed per packet.
//
// Native path (IPv4 on Linux with the addon, as src/net/mcast-recv.ts; FCAST_RECV_PATH=dgram keeps
// node:dgram): node:dgram's one callback per datagram (~13 us of CPU each here, ~85k datagrams/s at
// 1 Gbit/s) starved the receiver at 1G, and start-up then ended on rule (d) at 0-40% of the rate.
// The sockets are the addon's (src/net/mcast-stamped.ts: bound at the start, joined and left here,
// read with recvmmsg, each datagram stamped by the kernel when it arrived). One loop reads every
// joined socket (and a left one for LEFT_READ_MS, for what was in flight) into one buffer: each
// read goes to the core in one onBatch call, while each datagram's CCI, checked as above, is kept
// with its stamp; once all are read, the controller gets them in stamp order, then its timeouts at
// the loop's start time (every packet stamped before it has been read). So the controller sees the
// packets' real arrival times however late they are read: a join's MRTT and the epochs are the
// path's, and an event-loop stall no longer looks like one (the stall rule in src/rate/receiver.ts
// stays for node:dgram; fed stamps, the controller's gaps are the sender's and the path's, which
// never trigger it unless they really are that long). A join is carried out when read, after the
// stamp that decided it: the controller is told (joinMade), so MRTT is timed from the real join.
// Before a join the socket's queue is read out to the core (datagrams another local receiver's
// membership brought while we were not joined must not time the join). The loop runs every
// busyPollMs while datagrams come, backing off to TICK_MS while none do: a joined wave's socket is
// read within busyPollMs of its first packet while the base flows (the base is always joined), and
// its stamp, not when we read it, is what the controller counts.

import dgram from 'node:dgram';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { isIP } from 'node:net';
import { readCci } from '../carousel/channels.js';
import { LocalProtocolError, RemoteProtocolError, isFcastError } from '../errors.js';
import { busyPollMs, idlePollMaxMs, type BatchHandler } from './mcast-recv.js';
import { StampedReader, type StampedSocket } from './mcast-stamped.js';
import { WebrcReceiver, type LeaveSessionReason, type ReceiverOptions, type ReceiverStats, type TraceEvent, type WebrcParams } from '../rate/index.js';

export interface WebrcChannelAddress {
  readonly cn: number;
  readonly group: string;
  readonly port: number;
}

export interface WebrcGroupsOptions {
  readonly params: WebrcParams;
  readonly channels: readonly WebrcChannelAddress[];
  /** Local interface for the joins (IPv4 address, or IPv6 interface name / scope). */
  readonly iface?: string;
  /** SSM: join (source, group) and accept only its datagrams. */
  readonly source?: string;
  /** Session TSI: only its packets drive the controller (undefined: every packet does). */
  readonly tsi?: number;
  readonly recvBufferSize?: number;
  /** Floor of ARTT in seconds (ReceiverOptions.minArtt). */
  readonly minArtt?: number;
  /** Monotonic ms (the receive loop's clock). */
  readonly now: () => number;
  readonly onDatagram: (bytes: Buffer, from: string) => void;
  /**
   * Native path: each read's datagrams (CCI checked) in one call, `at` on performance.now()'s
   * clock as for mcast-recv's BatchHandler. Without it the native path hands each to onDatagram.
   */
  readonly onBatch?: BatchHandler;
}

/** What the progress line and the --json summary show. */
export interface WebrcStatus {
  /** Wave channels joined now (layers above the base). */
  readonly layers: number;
  /** Channels the receiver may take at most (N waves). */
  readonly maxLayers: number;
  /** TRATE in bits/s (packets/s · LENP_B · 8). */
  readonly targetBitsPerSecond: number;
  /** LOSSP, the controller's loss event rate. */
  readonly lossEventRate: number;
  /** Packets found lost (PSN gaps) / (received + lost), over the whole receive. */
  readonly lossRatio: number;
  readonly arttMs: number;
  readonly slowStart: boolean;
  readonly received: number;
  readonly lost: number;
  readonly lossEvents: number;
  readonly joins: number;
  readonly leaves: number;
  readonly joinTimeouts: number;
  /** Datagrams whose CN did not match their channel, or whose CCI was bad (dropped). */
  readonly mismatched: number;
  readonly badCci: number;
  /** Times the session was left on an exceptional rule, by reason. */
  readonly sessionLeaves: Readonly<Partial<Record<LeaveSessionReason, number>>>;
}

interface Member {
  readonly channel: WebrcChannelAddress;
  /** node:dgram socket, or the addon's (native path). */
  readonly socket: dgram.Socket | undefined;
  readonly native: StampedSocket | undefined;
  joined: boolean;
  /** Loop ms of the last leave (native path: read for LEFT_READ_MS after it). */
  leftAt: number;
}

/** Native path: the CCIs of one loop's reads, for the controller in stamp order. */
class PacketLog {
  count = 0;
  at = new Float64Array(1024);
  cci = new Uint32Array(1024);
  order: number[] = [];

  push(at: number, cn: number, ctsi: number, psn: number): void {
    if (this.count === this.at.length) {
      const a = new Float64Array(this.count * 2);
      a.set(this.at);
      const c = new Uint32Array(this.count * 2);
      c.set(this.cci);
      this.at = a;
      this.cci = c;
    }
    this.at[this.count] = at;
    this.cci[this.count++] = ((cn & 0xff) << 24) | ((ctsi & 0xff) << 16) | psn;
  }

  /** Indices in arrival order (each socket's reads are in order already; the sort merges them). */
  sorted(): number[] {
    const o = this.order;
    o.length = this.count;
    for (let i = 0; i < this.count; i++) o[i] = i;
    const at = this.at;
    return o.sort((a, b) => at[a]! - at[b]! || a - b);
  }
}

/** Kernel timer ticks from a join's setsockopt to its membership report (see the file comment). */
const REPORT_TICKS = 3;
const TICK_MS = 10;
const STALL_MS = 20;
/** Native path: a left channel's socket is still read this long (datagrams in flight at the leave). */
const LEFT_READ_MS = 1000;
/** Entries per recvmmsg (mcast-recv.ts's BATCH): a full read means more may wait. */
const BATCH = 64;
/** Reads of one socket in one loop at most (64 entries each, up to 16 datagrams an entry with GRO). */
const MAX_READS = 16;

export class WebrcGroups {
  private readonly members = new Map<number, Member>();
  private controller: WebrcReceiver | undefined;
  private readonly past: ReceiverStats = { received: 0, lost: 0, lossEvents: 0, joins: 0, leaves: 0, joinTimeouts: 0, ignored: 0, staleCtsi: 0 };
  private readonly leavesByReason: Partial<Record<LeaveSessionReason, number>> = {};
  private mismatched = 0;
  private badCci = 0;
  private restartAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly traceFile: WriteStream | undefined;
  private lastTick: number | undefined;
  private reader: StampedReader | undefined;
  private readonly log = new PacketLog();
  private busyMs = 4;
  private idleMaxMs = TICK_MS;
  private interval = 1;

  private constructor(private readonly opts: WebrcGroupsOptions) {
    const path = process.env.FCAST_WEBRC_TRACE;
    this.traceFile = path === undefined || path === '' ? undefined : createWriteStream(path, { flags: 'a' });
  }

  /** Bind every channel's socket, then join the base channel (the controller's first action). */
  static async open(opts: WebrcGroupsOptions): Promise<WebrcGroups> {
    // The description must map every CN 0..T (RFC 3738 §3.2.1: the receiver MUST know the mapping).
    const cns = new Set(opts.channels.map((c) => c.cn));
    for (let cn = 0; cn <= opts.params.t; cn++) {
      if (!cns.has(cn)) throw new RemoteProtocolError('SESSION_VALUE', `WEBRC session has T = ${opts.params.t} but no channel ${cn}`);
    }
    const g = new WebrcGroups(opts);
    const v4 = opts.channels.every((c) => isIP(c.group) === 4) && (opts.iface === undefined || isIP(opts.iface) === 4);
    g.reader = v4 ? StampedReader.create(() => performance.now()) : undefined;
    try {
      for (const ch of opts.channels) {
        if (g.reader !== undefined) g.bindNative(ch);
        else await g.bind(ch);
      }
    } catch (e) {
      await g.close();
      throw e;
    }
    g.restart();
    if (g.reader === undefined) {
      g.timer = setInterval(() => g.tick(), TICK_MS);
    } else {
      g.busyMs = busyPollMs(g.recvBufferSize);
      g.idleMaxMs = Math.min(TICK_MS, idlePollMaxMs(g.recvBufferSize));
      g.loop();
    }
    return g;
  }

  /** How the channels are read (the --json summary's recvPath). */
  get recvPath(): 'recvmmsg' | 'dgram' {
    return this.reader === undefined ? 'dgram' : 'recvmmsg';
  }

  /** SO_RCVBUF the kernel granted (smallest over the channels). */
  get recvBufferSize(): number {
    let min = Infinity;
    for (const m of this.members.values()) min = Math.min(min, m.native?.recvBufferSize ?? m.socket?.getRecvBufferSize() ?? Infinity);
    return Number.isFinite(min) ? min : 0;
  }

  status(): WebrcStatus {
    const c = this.controller;
    const s = c?.status();
    const stats = this.totals();
    const seen = stats.received + stats.lost;
    return {
      layers: s?.nwc ?? 0,
      maxLayers: this.opts.params.n,
      targetBitsPerSecond: Math.round((s?.targetRate ?? 0) * this.opts.params.packetLength * 8),
      lossEventRate: s?.lossp ?? 0,
      lossRatio: seen === 0 ? 0 : stats.lost / seen,
      arttMs: (s?.artt ?? 0) * 1000,
      slowStart: s?.slowStart ?? true,
      received: stats.received,
      lost: stats.lost,
      lossEvents: stats.lossEvents,
      joins: stats.joins,
      leaves: stats.leaves,
      joinTimeouts: stats.joinTimeouts,
      mismatched: this.mismatched,
      badCci: this.badCci,
      sessionLeaves: { ...this.leavesByReason },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const m of this.members.values()) m.native?.close();
    await Promise.all([...this.members.values()].map((m) => new Promise<void>((resolve) => (m.socket === undefined ? resolve() : m.socket.close(() => resolve())))));
    this.members.clear();
    const f = this.traceFile;
    if (f !== undefined) await new Promise<void>((resolve) => f.end(() => resolve()));
  }

  private totals(): ReceiverStats {
    const now = this.controller?.stats;
    const out = { ...this.past };
    if (now !== undefined) for (const k of Object.keys(out) as (keyof ReceiverStats)[]) out[k] += now[k];
    return out;
  }

  private async bind(ch: WebrcChannelAddress): Promise<void> {
    const family = isIP(ch.group);
    if (family === 0) throw new LocalProtocolError('USAGE', `${ch.group} is not an IP address`);
    const socket = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', reuseAddr: true });
    const member: Member = { channel: ch, socket, native: undefined, joined: false, leftAt: -Infinity };
    this.members.set(ch.cn, member);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: ch.port, address: family === 4 ? ch.group : ipv6BindAddress(ch.group), exclusive: false }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.setRecvBufferSize(this.opts.recvBufferSize ?? 32 << 20);
    socket.on('message', (msg, rinfo) => this.onMessage(ch.cn, msg, rinfo.address));
    // A late socket error (interface gone) ends nothing here; the controller's timeouts notice.
    socket.on('error', () => undefined);
  }

  /** Native path: the channel's socket, bound now, joined when the controller says. */
  private bindNative(ch: WebrcChannelAddress): void {
    const native = this.reader!.open({ group: ch.group, port: ch.port, iface: this.opts.iface, source: this.opts.source, recvBufferSize: this.opts.recvBufferSize });
    this.members.set(ch.cn, { channel: ch, socket: undefined, native, joined: false, leftAt: -Infinity });
  }

  private onMessage(cn: number, msg: Buffer, from: string): void {
    if (this.closed) return;
    if (this.opts.source !== undefined && from !== this.opts.source) return;
    let cci;
    try {
      cci = readCci(msg, this.opts.params.t);
    } catch (e) {
      if (!isFcastError(e)) throw e;
      this.badCci++;
      return;
    }
    if (cci.cn !== cn) {
      this.mismatched++;
      return;
    }
    const c = this.controller;
    if (c !== undefined && this.ourSession(msg, 0, msg.length)) {
      const now = this.opts.now();
      c.onPacket(now, cci);
      this.drain(now);
    }
    this.opts.onDatagram(msg, from);
  }

  /**
   * Native path, one read of channel `m`: datagrams with a bad CCI or another channel's CN are
   * counted and dropped, the rest go to the core in one call and, while the channel is joined and
   * of our session, their CCIs and stamps to the log.
   */
  private onRead(m: Member, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, arrivals: Float64Array, count: number, from: string): void {
    if (this.closed || (this.opts.source !== undefined && from !== this.opts.source)) return;
    const { t } = this.opts.params;
    const cn = m.channel.cn;
    const logged = m.joined && this.controller !== undefined;
    // perf -> loop clock: one offset per read (both are monotonic ms).
    const shift = this.opts.now() - performance.now();
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const at = offsets[i]!;
      const len = lengths[i]!;
      let cci;
      try {
        cci = readCci(data.subarray(at, at + len), t);
      } catch (e) {
        if (!isFcastError(e)) throw e;
        this.badCci++;
        continue;
      }
      if (cci.cn !== cn) {
        this.mismatched++;
        continue;
      }
      if (logged && this.ourSession(data, at, len)) this.log.push(arrivals[i]! + shift, cci.cn, cci.ctsi, cci.psn);
      offsets[kept] = at;
      lengths[kept++] = len;
    }
    if (kept === 0) return;
    const batch = this.opts.onBatch;
    if (batch !== undefined) {
      batch(data, offsets, lengths, kept, from, performance.now());
      return;
    }
    for (let i = 0; i < kept && !this.closed; i++) this.opts.onDatagram(Buffer.from(data.buffer, data.byteOffset + offsets[i]!, lengths[i]!), from);
  }

  /**
   * Native path: read out every joined (or lately left) socket, feed the controller what they
   * brought in arrival order, run its timeouts as of the loop's start (every packet stamped
   * before it has been read, unless a socket still had more than MAX_READS full reads: then the
   * timeouts wait for the next loop, at once). Then after busyMs if anything came, else backing
   * off to idleMaxMs. A socket is read out before the feed, not one read a loop: after a stall
   * its backlog can be several reads, and a later packet of another channel fed first would close
   * an epoch that the unread ones belong to.
   */
  private loop(): void {
    this.timer = undefined;
    if (this.closed) return;
    const start = this.opts.now();
    this.noteLate(start);
    let got = false;
    let full = false;
    for (const m of this.members.values()) {
      if (!m.joined && start - m.leftAt > LEFT_READ_MS) continue;
      let n = BATCH;
      for (let reads = 0; n >= BATCH && reads < MAX_READS; reads++) {
        n = this.readNative(m);
        if (this.closed) return;
        got ||= n > 0;
      }
      full ||= n >= BATCH;
    }
    this.feedLog();
    if (!full) this.runTimeouts(start);
    if (this.closed) return;
    this.interval = got ? this.busyMs : Math.min(this.interval * 2, this.idleMaxMs);
    if (full) setImmediate(() => this.loop());
    else this.timer = setTimeout(() => this.loop(), this.interval);
  }

  private readNative(m: Member): number {
    return this.reader!.read(m.native!, (data, offsets, lengths, arrivals, count, from) => this.onRead(m, data, offsets, lengths, arrivals, count, from));
  }

  /** The loop's reads to the controller, oldest first; stops if it left the session meanwhile. */
  private feedLog(): void {
    const log = this.log;
    if (log.count === 0) return;
    const order = log.sorted();
    for (const i of order) {
      const c = this.controller;
      if (c === undefined || this.closed) break;
      const v = log.cci[i]!;
      const now = log.at[i]!;
      c.onPacket(now, { cn: v >>> 24, ctsi: (v >>> 16) & 0xff, psn: v & 0xffff });
      this.drain(now);
    }
    log.count = 0;
  }

  /** TSI from the LCT header (RFC 5651 §5.1: S and H flags give its width; it follows the CCI). */
  private ourSession(msg: Uint8Array, at: number, len: number): boolean {
    const tsi = this.opts.tsi;
    if (tsi === undefined) return true;
    const s = (msg[at + 1]! >> 7) & 1;
    const h = (msg[at + 1]! >> 4) & 1;
    const width = 4 * s + 2 * h;
    if (width === 0 || len < 8 + width) return false;
    let v = 0;
    for (let i = 0; i < width; i++) v = v * 256 + msg[at + 8 + i]!;
    return v === tsi;
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.opts.now();
    this.noteLate(now);
    this.runTimeouts(now);
  }

  /** Trace a timer that ran late by more than STALL_MS (the event loop was busy). */
  private noteLate(now: number): void {
    const expected = this.reader === undefined ? TICK_MS : this.interval;
    if (this.traceFile !== undefined && this.lastTick !== undefined && now - this.lastTick > expected + STALL_MS) {
      this.traceFile.write(`${JSON.stringify({ kind: 'stall', t: now, ms: now - this.lastTick - expected })}\n`);
    }
    this.lastTick = now;
  }

  /** The restart after a session leave, or the controller's timers due at `now`. */
  private runTimeouts(now: number): void {
    if (this.restartAt !== undefined) {
      if (now >= this.restartAt) this.restart();
      return;
    }
    const c = this.controller;
    const due = c?.nextTimeout();
    if (c === undefined || due === undefined || now < due) return;
    c.handleTimeout(now);
    this.drain(now);
  }

  /** A fresh controller on the base channel alone (§3.2.1). */
  private restart(): void {
    this.restartAt = undefined;
    const now = this.opts.now();
    const f = this.traceFile;
    const options: ReceiverOptions = {
      ...(this.opts.minArtt === undefined ? {} : { minArtt: this.opts.minArtt }),
      reportDelayMs: reportDelayMs(),
      ...(f === undefined ? {} : { trace: (e: TraceEvent) => f.write(`${JSON.stringify(e)}\n`) }),
    };
    this.controller = new WebrcReceiver(this.opts.params, now, options);
    this.drain(now);
  }

  /** Carry out the controller's actions, in order. */
  private drain(now: number): void {
    const c = this.controller;
    if (c === undefined) return;
    for (let a = c.poll(); a !== undefined; a = c.poll()) {
      switch (a.kind) {
        case 'join':
          this.membership(a.cn, true);
          break;
        case 'leave':
          this.membership(a.cn, false);
          break;
        case 'leave-session':
          this.leaveSession(now, a.reason);
          return;
      }
    }
  }

  private leaveSession(now: number, reason: LeaveSessionReason): void {
    this.leavesByReason[reason] = (this.leavesByReason[reason] ?? 0) + 1;
    for (const cn of this.members.keys()) this.membership(cn, false);
    const stats = this.controller!.stats;
    for (const k of Object.keys(this.past) as (keyof ReceiverStats)[]) this.past[k] += stats[k];
    this.controller = undefined;
    this.restartAt = reason === 'base-loss' ? now + Math.max(10, this.opts.params.tsd) * 1000 : now;
  }

  private membership(cn: number, join: boolean): void {
    const m = this.members.get(cn);
    if (m === undefined || m.joined === join) return;
    const socket = m.socket;
    if (socket === undefined) return this.nativeMembership(m, join);
    const { group } = m.channel;
    const iface = isIP(group) === 4 ? this.opts.iface : ipv6Iface(this.opts.iface);
    const src = this.opts.source;
    try {
      if (join) {
        if (src !== undefined) socket.addSourceSpecificMembership(src, group, iface);
        else socket.addMembership(group, iface);
      } else if (src !== undefined) {
        socket.dropSourceSpecificMembership(src, group, iface);
      } else {
        socket.dropMembership(group, iface);
      }
      m.joined = join;
    } catch (e) {
      // A join the kernel refuses (no multicast route, out of memberships) shows up as a join
      // timeout in the controller, which then undoes it; a failed drop leaves nothing joined.
      if (!join) m.joined = false;
      if (!(e instanceof Error)) throw e;
    }
  }

  /** membership() on the addon's socket; a join first reads out what the socket queued unjoined. */
  private nativeMembership(m: Member, join: boolean): void {
    const native = m.native!;
    try {
      if (join) while (this.readNative(m) >= BATCH && !this.closed);
      native.membership(join);
      m.joined = join;
      if (join) this.controller?.joinMade(this.opts.now());
      else m.leftAt = this.opts.now();
    } catch (e) {
      // As in membership(): a refused join becomes a join timeout; a failed drop leaves nothing joined.
      if (!join) m.joined = false;
      if (!(e instanceof Error)) throw e;
    }
  }
}

/** The group itself unless its scope (RFC 4291 §2.7, the 4 bits after ff + flags) is 1 or 2. */
function ipv6BindAddress(group: string): string {
  const scope = Number.parseInt(group.split(':')[0] ?? '', 16) & 0xf;
  return scope <= 2 ? '::' : group;
}

function ipv6Iface(iface: string | undefined): string | undefined {
  if (iface === undefined) return undefined;
  return iface.startsWith('%') || isIP(iface) === 6 ? iface : `::%${iface}`;
}

let reportDelay: number | undefined;

/** Linux's delay from a join to its IGMPv3/MLDv2 report, ms: REPORT_TICKS of CONFIG_HZ (0 when unknown). */
function reportDelayMs(): number {
  reportDelay ??= process.platform === 'linux' ? (REPORT_TICKS * 1000) / (kernelHz() ?? Infinity) : 0;
  return reportDelay;
}

function kernelHz(): number | undefined {
  const read = (path: string, gz: boolean): string | undefined => {
    try {
      const raw = readFileSync(path);
      return (gz ? gunzipSync(raw) : raw).toString('latin1');
    } catch {
      return undefined;
    }
  };
  const config = read(`/boot/config-${release()}`, false) ?? read('/proc/config.gz', true);
  const hz = config === undefined ? undefined : /^CONFIG_HZ=(\d+)$/m.exec(config)?.[1];
  return hz === undefined || Number(hz) <= 0 ? undefined : Number(hz);
}
