// Receiving side of an IP multicast channel (RFC 5775 §2.6 / SPEC-NOTES 2.6: a channel is
// (sender, group) plus a UDP port). ASM joins with IP_ADD_MEMBERSHIP (or the IPv6 equivalent),
// SSM joins (source, group) with IP_ADD_SOURCE_MEMBERSHIP, both through node:dgram.
//
// The socket binds the group address itself (IPv4 on Linux): it then receives only that group,
// not every datagram for the port. IPv6 binds the wildcard ('::'), since binding a multicast
// address needs a scope. SO_RCVBUF is asked as large as the kernel allows (capped by
// net.core.rmem_max): a burst at line rate must not overflow while a block decodes.

import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { LocalProtocolError } from '../errors.js';

export interface McastChannelOptions {
  readonly group: string;
  readonly port: number;
  /** Local interface address for the join (IPv4 address, or an IPv6 scope like 'eth0' / '%eth0'). */
  readonly iface?: string;
  /** Sender address: join (source, group) for SSM and drop datagrams from any other sender. */
  readonly source?: string;
  /** Requested SO_RCVBUF in bytes (default 32 MiB; the kernel may cap it). */
  readonly recvBufferSize?: number;
}

export interface McastChannel {
  /** SO_RCVBUF the kernel granted. */
  readonly recvBufferSize: number;
  close(): Promise<void>;
}

export type DatagramHandler = (bytes: Buffer, sourceAddress: string) => void;

function ipv6Iface(iface: string | undefined): string | undefined {
  if (iface === undefined) return undefined;
  return iface.startsWith('%') || isIP(iface) === 6 ? iface : `::%${iface}`;
}

/** Join one channel; every datagram goes to `onDatagram` synchronously, in arrival order. */
export async function joinChannel(opts: McastChannelOptions, onDatagram: DatagramHandler): Promise<McastChannel> {
  const family = isIP(opts.group);
  if (family === 0) throw new LocalProtocolError('USAGE', `${opts.group} is not an IP address`);
  if (opts.source !== undefined && isIP(opts.source) !== family) {
    throw new LocalProtocolError('USAGE', `source ${opts.source} is not of the group's address family`);
  }
  const socket = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: opts.port, address: family === 4 ? opts.group : '::', exclusive: false }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const iface = family === 4 ? opts.iface : ipv6Iface(opts.iface);
  try {
    if (opts.source !== undefined) socket.addSourceSpecificMembership(opts.source, opts.group, iface);
    else socket.addMembership(opts.group, iface);
    socket.setRecvBufferSize(opts.recvBufferSize ?? 32 << 20);
  } catch (e) {
    socket.close();
    throw e;
  }
  const source = opts.source;
  socket.on('message', (msg, rinfo) => {
    // Under ASM a stray sender can reach the group; with a source given, only it counts.
    if (source !== undefined && rinfo.address !== source) return;
    onDatagram(msg, rinfo.address);
  });
  // A socket error after bind (rare: e.g. the interface went away) ends nothing by itself; the
  // receive loop's timeout reports what is missing.
  socket.on('error', () => undefined);
  return {
    recvBufferSize: socket.getRecvBufferSize(),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
