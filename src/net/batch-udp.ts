// One packet, many unicast copies: the FC-msg replication of the flexicast flow (issue 6;
// research/quic.md §3.5). With the native addon on Linux, one sendmmsg(2) call sends every copy
// (native/src/sendmmsg.cc); elsewhere, or with FCAST_NO_NATIVE=1, a node:dgram loop does.
//
// Node gives no file descriptor for a dgram socket, so the native path does not use one: the
// addon opens, binds and owns its own UDP socket and hands us the fd as an integer, which only
// this file holds and closes. This file is the addon's only caller for these functions (STYLE
// §9); it validates every argument before the call, and turns the addon's -errno results into
// FcastError FLEX_SOCKET.
import { createSocket, type Socket } from 'node:dgram';
import { constants } from 'node:os';
import { getNative } from '../../codecs/native.js';
import { FcastError, LocalProtocolError } from '../errors.js';
import { addressBytes } from '../wire/flexicast.js';

interface SendmmsgAddon {
  udpOpen(family: 4 | 6, bindAddr: Uint8Array, port: number, sndbuf: number): number;
  udpLocalPort(fd: number): number;
  udpClose(fd: number): number;
  sendmmsgCopies(fd: number, packet: Uint8Array, addrs: Uint8Array, count: number): number;
}

export interface Destination {
  readonly address: string;
  readonly port: number;
}

export interface BatchSenderOptions {
  /** Local address to bind (its family is the family of every destination). */
  readonly bindAddress: string;
  /** Local port; 0 = any (the flow's source port in FC-msg mode). */
  readonly port?: number;
  readonly sendBufferBytes?: number;
  /** Use node:dgram even when sendmmsg is available (tests, comparisons). */
  readonly forceDgram?: boolean;
}

export interface BatchSenderStats {
  /** Copies handed to the kernel. */
  readonly sent: number;
  /** Copies the kernel refused (full socket buffer, unreachable): the flow's FEC absorbs them. */
  readonly dropped: number;
}

export interface BatchSender {
  readonly path: 'sendmmsg' | 'dgram';
  readonly localPort: number;
  /** Replace the receivers every packet goes to (packed once here, not per packet). */
  setDestinations(list: readonly Destination[]): void;
  /** Send `packet` to every destination; returns the copies the kernel took. */
  sendCopies(packet: Uint8Array): number;
  stats(): BatchSenderStats;
  close(): void;
}

const ENTRY = 20;
const MAX_DATAGRAM = 65507;
const EAGAIN = constants.errno.EAGAIN;
const errnoName = new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));

function sendmmsgAddon(): SendmmsgAddon | undefined {
  if (process.platform !== 'linux') return undefined;
  const a = getNative();
  if (a === undefined) return undefined;
  const fns = ['udpOpen', 'udpLocalPort', 'udpClose', 'sendmmsgCopies'] as const;
  return fns.every((f) => typeof a[f] === 'function') ? (a as unknown as SendmmsgAddon) : undefined;
}

/** Whether sends go through sendmmsg (for `fcast doctor`). */
export function batchUdpPath(): 'sendmmsg' | 'dgram' {
  return sendmmsgAddon() === undefined ? 'dgram' : 'sendmmsg';
}

function socketError(what: string, errno: number): FcastError {
  return new FcastError('FLEX_SOCKET', 'io', `${what}: ${errnoName.get(-errno) ?? `errno ${-errno}`}`);
}

function familyOf(address: string): { family: 4 | 6; bytes: Uint8Array } {
  const bytes = addressBytes(address);
  if (bytes === undefined) throw new LocalProtocolError('CONFIG', `not an IP address: ${address}`);
  return { family: bytes.length === 4 ? 4 : 6, bytes };
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new LocalProtocolError('CONFIG', `port ${port}`);
}

function checkPacket(packet: Uint8Array): void {
  if (packet.length > MAX_DATAGRAM) throw new LocalProtocolError('FLEX_VALUE', `datagram of ${packet.length} bytes`);
}

class SendmmsgSender implements BatchSender {
  readonly path = 'sendmmsg';
  readonly localPort: number;
  private addrs = new Uint8Array(0);
  private count = 0;
  private sent = 0;
  private dropped = 0;
  private fd: number | undefined;

  constructor(private readonly addon: SendmmsgAddon, private readonly family: 4 | 6, bind: Uint8Array, port: number, sndbuf: number) {
    const fd = addon.udpOpen(family, bind, port, sndbuf);
    if (fd < 0) throw socketError('open UDP socket', fd);
    this.fd = fd;
    const p = addon.udpLocalPort(fd);
    if (p < 0) {
      addon.udpClose(fd);
      throw socketError('getsockname', p);
    }
    this.localPort = p;
  }

  setDestinations(list: readonly Destination[]): void {
    const packed = new Uint8Array(list.length * ENTRY);
    list.forEach((d, i) => {
      const { family, bytes } = familyOf(d.address);
      if (family !== this.family) throw new LocalProtocolError('CONFIG', `destination ${d.address} is not IPv${this.family}`);
      checkPort(d.port);
      const o = i * ENTRY;
      packed[o] = family;
      packed[o + 2] = d.port >>> 8;
      packed[o + 3] = d.port & 0xff;
      packed.set(bytes, o + 4);
    });
    this.addrs = packed;
    this.count = list.length;
  }

  sendCopies(packet: Uint8Array): number {
    if (this.fd === undefined) throw new LocalProtocolError('FLEX_SOCKET', 'sender is closed');
    checkPacket(packet);
    if (this.count === 0) return 0;
    const r = this.addon.sendmmsgCopies(this.fd, packet, this.addrs, this.count);
    // A full socket buffer is loss, not failure: the flow is FEC-protected.
    if (r < 0 && r !== -EAGAIN) throw socketError('sendmmsg', r);
    const n = Math.max(0, r);
    this.sent += n;
    this.dropped += this.count - n;
    return n;
  }

  stats(): BatchSenderStats {
    return { sent: this.sent, dropped: this.dropped };
  }

  close(): void {
    if (this.fd === undefined) return;
    this.addon.udpClose(this.fd);
    this.fd = undefined;
  }
}

class DgramSender implements BatchSender {
  readonly path = 'dgram';
  private dests: readonly Destination[] = [];
  private sent = 0;
  private dropped = 0;
  private closed = false;

  constructor(private readonly socket: Socket, readonly localPort: number) {}

  setDestinations(list: readonly Destination[]): void {
    for (const d of list) {
      familyOf(d.address);
      checkPort(d.port);
    }
    this.dests = [...list];
  }

  sendCopies(packet: Uint8Array): number {
    if (this.closed) throw new LocalProtocolError('FLEX_SOCKET', 'sender is closed');
    checkPacket(packet);
    for (const d of this.dests) {
      this.socket.send(packet, d.port, d.address, (err) => {
        if (err) {
          this.sent--;
          this.dropped++;
        }
      });
    }
    this.sent += this.dests.length;
    return this.dests.length;
  }

  stats(): BatchSenderStats {
    return { sent: this.sent, dropped: this.dropped };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** A UDP socket that sends one packet to many receivers: sendmmsg on Linux, else node:dgram. */
export async function openBatchSender(options: BatchSenderOptions): Promise<BatchSender> {
  const { family, bytes } = familyOf(options.bindAddress);
  const port = options.port ?? 0;
  checkPort(port);
  const sndbuf = options.sendBufferBytes ?? 4 * 1024 * 1024;
  const addon = options.forceDgram === true ? undefined : sendmmsgAddon();
  if (addon !== undefined) return new SendmmsgSender(addon, family, bytes, port, sndbuf);
  const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6', sendBufferSize: sndbuf });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (e) => reject(new FcastError('FLEX_SOCKET', 'io', `bind ${options.bindAddress}:${port}: ${e.message}`, { cause: e })));
    socket.bind(port, options.bindAddress, () => resolve());
  });
  // After bind, errors reach the send callbacks; keep a listener so none is ever unhandled.
  socket.on('error', () => undefined);
  return new DgramSender(socket, socket.address().port);
}
