// Multicast sending socket (RFC 5775 §2.6 channels; node:dgram). IPv4 and IPv6; the TTL / hop
// limit, outgoing interface (setMulticastInterface), loopback on (local receivers and tests), a
// large SO_SNDBUF so a paced burst never meets ENOBUFS, and a bounded number of sends in flight.
//
// --iface: IPv4 takes a local address or an interface name (its first IPv4 address); IPv6 takes
// an interface name, '%name' or '::%name' (node's form for setMulticastInterface). --source binds the socket to that local address, so
// the datagrams carry the source address SSM receivers filter on.

import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { LocalProtocolError } from '../errors.js';

export interface UdpSenderOptions {
  /** Address family of the groups. */
  readonly family: 4 | 6;
  readonly ttl: number;
  readonly iface?: string;
  /** Local address to send from (the SSM source). */
  readonly source?: string;
  /** Requested SO_SNDBUF (default 8 MiB; capped by net.core.wmem_max). */
  readonly sendBufferSize?: number;
  /** Sends queued in libuv at most (default 256): back-pressure instead of unbounded memory. */
  readonly maxInFlight?: number;
}

/** An IPv4 interface given by name becomes its first IPv4 address (what IP_MULTICAST_IF takes). */
export function ipv4Iface(iface: string): string {
  if (isIP(iface) === 4) return iface;
  const addr = networkInterfaces()[iface]?.find((a) => a.family === 'IPv4');
  if (addr === undefined) throw new LocalProtocolError('USAGE', `--iface ${iface}: not an IPv4 address nor an interface with one`);
  return addr.address;
}

function ipv6Iface(iface: string): string {
  return iface.startsWith('%') ? `::${iface}` : isIP(iface) === 6 ? iface : `::%${iface}`;
}

export class UdpMulticastSender {
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;
  /** SO_SNDBUF the kernel granted. */
  readonly sendBufferSize: number;
  /** node:dgram holds the caller's buffer until the send completes. */
  readonly copiesOnSend = false;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly maxInFlight: number,
  ) {
    this.sendBufferSize = socket.getSendBufferSize();
  }

  static async open(opts: UdpSenderOptions): Promise<UdpMulticastSender> {
    if (!Number.isInteger(opts.ttl) || opts.ttl < 0 || opts.ttl > 255) throw new LocalProtocolError('USAGE', `TTL ${opts.ttl} outside 0..255`);
    if (opts.source !== undefined && isIP(opts.source) !== opts.family) {
      throw new LocalProtocolError('USAGE', `source ${opts.source} is not an IPv${opts.family} address`);
    }
    const socket = dgram.createSocket({ type: opts.family === 4 ? 'udp4' : 'udp6' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: 0, address: opts.source ?? (opts.family === 4 ? '0.0.0.0' : '::') }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    try {
      socket.setMulticastTTL(opts.ttl);
      socket.setMulticastLoopback(true);
      if (opts.iface !== undefined) socket.setMulticastInterface(opts.family === 4 ? ipv4Iface(opts.iface) : ipv6Iface(opts.iface));
      socket.setSendBufferSize(opts.sendBufferSize ?? 8 << 20);
    } catch (e) {
      socket.close();
      throw e;
    }
    const sender = new UdpMulticastSender(socket, opts.maxInFlight ?? 256);
    socket.on('error', (e) => {
      sender.failure = e;
    });
    return sender;
  }

  /** Local address and port the datagrams come from. */
  address(): { address: string; port: number } {
    return this.socket.address();
  }

  /**
   * Queue one datagram. Resolves at once while fewer than maxInFlight sends are pending, else
   * when one completes. Rejects with the socket's error (EPERM, ENETUNREACH ...).
   */
  async send(bytes: Uint8Array, group: string, port: number): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    while (this.inFlight >= this.maxInFlight) {
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
      if (this.failure !== undefined) throw this.failure;
    }
    this.inFlight++;
    this.socket.send(bytes, port, group, (err) => {
      this.inFlight--;
      if (err !== null && err !== undefined) this.failure ??= err;
      const w = this.waiting;
      this.waiting = undefined;
      w?.();
    });
  }

  /** Wait for queued sends, then close. */
  async close(): Promise<void> {
    while (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    if (this.failure !== undefined) throw this.failure;
  }
}
