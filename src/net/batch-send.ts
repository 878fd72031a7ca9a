// The carousel's multicast socket (RFC 5775 §2.6 channels): batched sendmmsg(2) for IPv4 on
// Linux with the native addon (native/src/sendbatch.cc), node:dgram (src/net/udp-send.ts)
// otherwise, for IPv6, and with FCAST_SEND_PATH=dgram or FCAST_NO_NATIVE=1.
//
// Why: node:dgram costs about 10 us of CPU per datagram here (a libuv send request, a completion
// callback and one sendmsg each), half of the sender's per-packet CPU; on 2 cores shared with 8
// receivers that starved the sender. The native path copies each packet into one staging
// buffer and sends up to 64 of them per system call; runs of equal-size packets to one group go
// as one UDP GSO message (UDP_SEGMENT), so one skb crosses the stack (and a bridge's fan-out)
// where 40-odd did; the kernel cuts it into the very same datagrams.
//
// When packets leave: a full batch goes at once; a partial batch goes as soon as the send loop
// yields to the event loop (a setImmediate armed by the first queued packet), that is when the
// pacer or the core makes it wait. So at most one batch (64 packets) is held back while the loop
// runs ahead inside the pacer's burst, and nothing waits across a pacing sleep: the packets on the
// wire and their order are those of the node:dgram path; only the syscall count changes.
//
// Back-pressure: a full socket buffer (EAGAIN) keeps the unsent rest of the batch; the next
// send() that finds no room waits (1 ms timer) until the kernel took it. Errors (EPERM,
// ENETUNREACH ...) surface as Node-style errno errors on the next send() or close(), like the
// node:dgram socket's.

import { isIP } from 'node:net';
import { constants } from 'node:os';
import { getNative } from '../../codecs/native.js';
import type { DataRun } from '../carousel/index.js';
import { LocalProtocolError } from '../errors.js';
import { errnoError, v4 } from './socket-addon.js';
import { UdpMulticastSender, ipv4Iface, type UdpSenderOptions } from './udp-send.js';

/** What the send loop needs of a multicast socket (UdpMulticastSender has the same shape). */
export interface MulticastSender {
  /** SO_SNDBUF the kernel granted. */
  readonly sendBufferSize: number;
  /** send() is done with `bytes` when it returns (or its back-pressure promise settles): the caller may reuse them. */
  readonly copiesOnSend: boolean;
  address(): { address: string; port: number };
  /** Queue one datagram; a returned promise means "wait before sending more" (back-pressure). */
  send(bytes: Uint8Array, group: string, port: number): Promise<void> | undefined;
  /** Send what is queued, then close. */
  close(): Promise<void>;
  /** The native fill of a carousel core's runs of data packets, when this socket has one. */
  readonly runs?: RunSender;
}

/**
 * Runs of data packets the carousel core described (DataRun), filled in native code straight
 * into the batch's stage (the addon's fillRun): per packet one copy of its header template and
 * one of its symbol, no datagram made in JavaScript and copied again. Off with FCAST_SEND_FAST=0
 * (the per-packet path: for comparisons and tests).
 */
export interface RunSender {
  /** Packets a run may hold now (0: send() the next one, which waits for room if need be). */
  roomPackets(): number;
  /** Datagram bytes a run may hold now. */
  roomBytes(): number;
  /** Queue the run's packets to group:port, in order, as send() would queue them one by one. */
  sendRun(run: DataRun, group: string, port: number): void;
}

interface SendBatchAddon {
  mcastSendOpen4(bind: Uint8Array, iface: Uint8Array, ttl: number, sndbuf: number): number;
  mcastSndbuf(fd: number): number;
  sendBatch4(fd: number, stage: Uint8Array, meta: Uint32Array, count: number, dests: Uint8Array, gso: boolean): number;
  udpLocalPort(fd: number): number;
  udpClose(fd: number): number;
  /** Older builds of the addon lack it: runs then take the per-packet path. */
  fillRun?(stage: Uint8Array, used: number, meta: Uint32Array, at: number, dest: number, headers: Uint8Array[], payloads: Uint8Array[], words: Uint32Array, count: number): number;
}

function sendBatchAddon(): SendBatchAddon | undefined {
  if (process.platform !== 'linux' || process.env.FCAST_SEND_PATH === 'dgram') return undefined;
  const a = getNative() as unknown as Partial<SendBatchAddon> | undefined;
  if (a === undefined) return undefined;
  const fns = ['mcastSendOpen4', 'mcastSndbuf', 'sendBatch4', 'udpLocalPort', 'udpClose'] as const;
  return fns.every((f) => typeof a[f] === 'function') ? (a as SendBatchAddon) : undefined;
}

/** How the carousel's datagrams are sent (for `fcast doctor` and benchmarks). */
export function sendPath(family: 4 | 6): 'sendmmsg' | 'dgram' {
  return family === 4 && sendBatchAddon() !== undefined ? 'sendmmsg' : 'dgram';
}

/**
 * sendPath plus whether runs go as UDP GSO messages: not with FCAST_SEND_GSO=0, nor once the
 * addon turned GSO off for the process (the device cannot segment). For `fcast doctor` and the
 * `fcast send --json` report (after a run it says what the run ended with).
 */
export function sendPathInUse(family: 4 | 6): 'sendmmsg+GSO' | 'sendmmsg' | 'dgram' {
  if (sendPath(family) === 'dgram') return 'dgram';
  const off = (getNative() as unknown as { sendGsoOff?: () => unknown } | undefined)?.sendGsoOff?.();
  return GSO && off === false ? 'sendmmsg+GSO' : 'sendmmsg';
}

/** Packets per sendmmsg call (the addon's cap). */
const BATCH = 64;
/** Staging bytes: 64 datagrams of up to 16 KiB before a large-symbol batch is cut short. */
const STAGE_BYTES = 1 << 20;
const MAX_DATAGRAM = 65_507;
const DEST_ENTRY = 8;
const EAGAIN_RETRY_MS = 1;
/** UDP_SEGMENT for runs of equal-size packets (FCAST_SEND_GSO=0 turns it off, for comparisons). */
const GSO = process.env.FCAST_SEND_GSO !== '0';

class NativeMulticastSender implements MulticastSender, RunSender {
  readonly sendBufferSize: number;
  /** Every datagram is copied into the staging buffer at once. */
  readonly copiesOnSend = true;
  readonly runs: RunSender | undefined;
  private readonly stage = new Uint8Array(STAGE_BYTES);
  /** Per queued packet: offset in stage, length, destination index. */
  private readonly meta = new Uint32Array(BATCH * 3);
  private count = 0;
  private used = 0;
  private dests = new Uint8Array(0);
  private readonly destIndex = new Map<string, number>();
  private lastGroup = '';
  private lastPort = -1;
  private lastDest = 0;
  private armed = false;
  private failure: Error | undefined;
  private fd: number | undefined;
  private readonly onImmediate = (): void => {
    this.armed = false;
    this.flush();
  };

  constructor(
    private readonly addon: SendBatchAddon,
    fd: number,
    private readonly local: { address: string; port: number },
  ) {
    this.fd = fd;
    this.sendBufferSize = Math.max(0, addon.mcastSndbuf(fd));
    this.runs = process.env.FCAST_SEND_FAST !== '0' && typeof addon.fillRun === 'function' ? this : undefined;
  }

  roomPackets(): number {
    return this.failure !== undefined || this.fd === undefined ? 0 : BATCH - this.count;
  }

  roomBytes(): number {
    return STAGE_BYTES - this.used;
  }

  sendRun(run: DataRun, group: string, port: number): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.fd === undefined) throw new LocalProtocolError('INTERNAL', 'send on a closed multicast socket');
    if (run.count === 0) return;
    if (run.count > BATCH - this.count) throw new LocalProtocolError('INTERNAL', `a run of ${run.count} packets with room for ${BATCH - this.count}`);
    const dest = group === this.lastGroup && port === this.lastPort ? this.lastDest : this.destinationOf(group, port);
    this.used = this.addon.fillRun!(this.stage, this.used, this.meta, this.count, dest, run.headers, run.payloads, run.words, run.count);
    this.count += run.count;
    if (this.count === BATCH) this.flush();
    else if (!this.armed) {
      this.armed = true;
      setImmediate(this.onImmediate);
    }
  }

  address(): { address: string; port: number } {
    return { ...this.local };
  }

  send(bytes: Uint8Array, group: string, port: number): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (this.fd === undefined) throw new LocalProtocolError('INTERNAL', 'send on a closed multicast socket');
    if (bytes.length > MAX_DATAGRAM) throw errnoError(constants.errno.EMSGSIZE, `send to ${group}:${port}`);
    const dest = group === this.lastGroup && port === this.lastPort ? this.lastDest : this.destinationOf(group, port);
    if (this.count === BATCH || this.used + bytes.length > STAGE_BYTES) {
      this.flush();
      if (this.count > 0) return this.waitForRoom().then(() => this.send(bytes, group, port));
    }
    const i = this.count * 3;
    this.stage.set(bytes, this.used);
    this.meta[i] = this.used;
    this.meta[i + 1] = bytes.length;
    this.meta[i + 2] = dest;
    this.used += bytes.length;
    this.count++;
    if (this.count === BATCH) this.flush();
    else if (!this.armed) {
      this.armed = true;
      setImmediate(this.onImmediate);
    }
    return undefined;
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    try {
      this.flush();
      while (this.count > 0 && this.failure === undefined) await this.waitForRoom();
    } finally {
      this.addon.udpClose(this.fd);
      this.fd = undefined;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private destinationOf(group: string, port: number): number {
    if (isIP(group) !== 4) throw new LocalProtocolError('USAGE', `${group} is not an IPv4 address`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LocalProtocolError('USAGE', `port ${port}`);
    const key = `${group}:${port}`;
    let index = this.destIndex.get(key);
    if (index === undefined) {
      index = this.destIndex.size;
      const grown = new Uint8Array((index + 1) * DEST_ENTRY);
      grown.set(this.dests);
      grown.set(v4(group), index * DEST_ENTRY);
      grown[index * DEST_ENTRY + 4] = port >>> 8;
      grown[index * DEST_ENTRY + 5] = port & 0xff;
      this.dests = grown;
      this.destIndex.set(key, index);
    }
    this.lastGroup = group;
    this.lastPort = port;
    this.lastDest = index;
    return index;
  }

  /** Hand the queued packets to the kernel; keep (moved to the front) what it had no room for. */
  private flush(): void {
    if (this.count === 0 || this.fd === undefined || this.failure !== undefined) return;
    const r = this.addon.sendBatch4(this.fd, this.stage, this.meta, this.count, this.dests, GSO);
    if (r < 0) {
      this.failure = errnoError(-r, 'sendmmsg');
      return;
    }
    if (r === this.count) {
      this.count = 0;
      this.used = 0;
      return;
    }
    // EAGAIN after r packets: the rest stays queued, in order, from the stage's start.
    const from = this.meta[r * 3]!;
    this.stage.copyWithin(0, from, this.used);
    this.meta.copyWithin(0, r * 3, this.count * 3);
    this.count -= r;
    for (let i = 0; i < this.count; i++) this.meta[i * 3] = this.meta[i * 3]! - from;
    this.used -= from;
  }

  /** Wait until the kernel has taken the queued packets (or the socket failed). */
  private async waitForRoom(): Promise<void> {
    while (this.count > 0 && this.failure === undefined) {
      await new Promise<void>((resolve) => setTimeout(resolve, EAGAIN_RETRY_MS));
      this.flush();
    }
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Open the carousel's multicast socket: native batches for IPv4 when available, else node:dgram. */
export async function openMulticastSender(opts: UdpSenderOptions): Promise<MulticastSender> {
  const addon = opts.family === 4 ? sendBatchAddon() : undefined;
  if (addon === undefined) return UdpMulticastSender.open(opts);
  if (!Number.isInteger(opts.ttl) || opts.ttl < 0 || opts.ttl > 255) throw new LocalProtocolError('USAGE', `TTL ${opts.ttl} outside 0..255`);
  if (opts.source !== undefined && isIP(opts.source) !== 4) throw new LocalProtocolError('USAGE', `source ${opts.source} is not an IPv4 address`);
  const bind = opts.source ?? '0.0.0.0';
  const iface = opts.iface === undefined ? '0.0.0.0' : ipv4Iface(opts.iface);
  const fd = addon.mcastSendOpen4(v4(bind), v4(iface), opts.ttl, opts.sendBufferSize ?? 8 << 20);
  if (fd < 0) throw errnoError(-fd, `multicast socket from ${bind}`);
  const port = addon.udpLocalPort(fd);
  if (port < 0) {
    addon.udpClose(fd);
    throw errnoError(-port, 'getsockname');
  }
  return new NativeMulticastSender(addon, fd, { address: bind, port });
}
