// Native IPv4 multicast sockets that their owner joins, leaves and reads itself, each datagram with
// the kernel's receive time: WEBRC's channels (src/net/webrc-groups.ts). The fixed-rate receive
// path (src/net/mcast-recv.ts) joins once and polls each socket from its own timer; a WEBRC
// receiver joins and leaves T + 1 channels as its controller decides and must hand the controller
// every packet's arrival time in order across them (RFC 3738 §3.2.2: MRTT is join -> first packet;
// epochs count packets by arrival), so one loop reads them all and one buffer serves them all.
//
// Arrival times: SO_TIMESTAMPNS, one stamp per recvmmsg entry (a UDP GRO buffer's segments share
// it), taken when the packet reached the socket's queue, so neither the poll interval nor a busy
// event loop moves it. The kernel stamps with CLOCK_REALTIME only (no monotonic receive stamp
// exists for sockets; SO_TIMESTAMPING's software stamps are the same clock), so the addon returns
// each entry's age against a CLOCK_REALTIME read right after the system call and the reader
// subtracts it from the caller's monotonic clock read just after: one offset sample per batch, a
// few microseconds apart, and a wall-clock step misplaces only the packets of the batch that
// straddles it. Why not one offset sampled at start: NTP slews CLOCK_REALTIME against the
// monotonic clock (up to 500 ppm, 0.5 ms a second), and steps it.
//
// Same conditions as mcast-recv.ts's native path (Linux, IPv4, the addon, FCAST_RECV_PATH not
// 'dgram'), plus an addon new enough (mcastMembership4); otherwise undefined, and the caller
// keeps node:dgram.

import { getNative } from '../../codecs/native.js';
import { BATCH, META, RecvRuns, SLOT } from './recv-runs.js';
import { errnoError, v4 } from './socket-addon.js';

interface StampAddon {
  mcastOpen4(group: Uint8Array, port: number, iface: Uint8Array, source: Uint8Array, rcvbuf: number, gro: number, flags: number): number;
  mcastMembership4(fd: number, group: Uint8Array, iface: Uint8Array, source: Uint8Array, join: number): number;
  mcastRecvBatch(fd: number, buf: Uint8Array, slot: number, meta: Uint32Array, ages: Float64Array): number;
  mcastRcvbuf(fd: number): number;
  mcastGro(fd: number): number;
  udpClose(fd: number): number;
}

/** mcastOpen4 flags (native/src/recvmmsg.cc): bind without joining; SO_TIMESTAMPNS. */
const OPEN_NO_JOIN = 1;
const OPEN_STAMPS = 2;

function stampAddon(): StampAddon | undefined {
  if (process.platform !== 'linux' || process.env.FCAST_RECV_PATH === 'dgram') return undefined;
  const a = getNative() as unknown as Partial<StampAddon> | undefined;
  if (a === undefined) return undefined;
  const fns = ['mcastOpen4', 'mcastMembership4', 'mcastRecvBatch', 'mcastRcvbuf', 'mcastGro', 'udpClose'] as const;
  return fns.every((f) => typeof a[f] === 'function') ? (a as StampAddon) : undefined;
}

export interface StampedSocketOptions {
  readonly group: string;
  readonly port: number;
  /** IPv4 interface address for the joins (default: the kernel's choice). */
  readonly iface?: string;
  /** SSM: join (source, group). */
  readonly source?: string;
  readonly recvBufferSize?: number;
}

/** One channel's socket: bound to its group, not joined until `membership(true)`. */
export interface StampedSocket {
  readonly fd: number;
  /** SO_RCVBUF the kernel granted. */
  readonly recvBufferSize: number;
  /** Join or leave; throws the errno as a Node-style error. */
  membership(join: boolean): void;
  close(): void;
}

/**
 * Datagrams of one read from one sender: datagram i is data[offsets[i], +lengths[i]), arrived at
 * `arrivals[i]` on the caller's clock, i < count. Valid only during the call.
 */
export type StampedBatchHandler = (
  data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, arrivals: Float64Array, count: number, sourceAddress: string,
) => void;

/** Reads stamped sockets one at a time into one buffer (64 entries of 64 KiB). */
export class StampedReader {
  private readonly addon: StampAddon;
  private readonly buf = new Uint8Array(SLOT * BATCH);
  private readonly meta = new Uint32Array(BATCH * META);
  private readonly ages = new Float64Array(BATCH);
  private readonly runs = new RecvRuns(true);

  private constructor(addon: StampAddon, private readonly clock: () => number) {
    this.addon = addon;
  }

  /**
   * A reader, or undefined when this host must use node:dgram. `clock`: the caller's monotonic
   * ms, read once per read to place the kernel's stamps on it.
   */
  static create(clock: () => number): StampedReader | undefined {
    const a = stampAddon();
    return a === undefined ? undefined : new StampedReader(a, clock);
  }

  /** Open a channel's socket, bound to its group and not joined; throws the errno as a Node-style error. */
  open(opts: StampedSocketOptions): StampedSocket {
    const addon = this.addon;
    const gro = process.env.FCAST_RECV_GRO === '0' ? 0 : 1;
    const group = v4(opts.group);
    const iface = v4(opts.iface ?? '0.0.0.0');
    const source = opts.source === undefined ? new Uint8Array(0) : v4(opts.source);
    const fd = addon.mcastOpen4(group, opts.port, iface, source, opts.recvBufferSize ?? 32 << 20, gro, OPEN_NO_JOIN | OPEN_STAMPS);
    if (fd < 0) throw errnoError(-fd, `multicast socket for ${opts.group}:${opts.port}`);
    return {
      fd,
      recvBufferSize: Math.max(0, addon.mcastRcvbuf(fd)),
      membership: (join) => {
        const r = addon.mcastMembership4(fd, group, iface, source, join ? 1 : 0);
        if (r < 0) throw errnoError(-r, `${join ? 'join' : 'leave'} ${opts.group}`);
      },
      close: () => void addon.udpClose(fd),
    };
  }

  /**
   * One recvmmsg on `socket`: its datagrams, as runs from one sender, to `deliver`. Returns the
   * entries read (BATCH: more may wait), or -errno.
   */
  read(socket: StampedSocket, deliver: StampedBatchHandler): number {
    const { buf, meta, ages, runs } = this;
    const n = this.addon.mcastRecvBatch(socket.fd, buf, SLOT, meta, ages);
    if (n <= 0) return n;
    const run = (count: number, from: string): boolean => {
      deliver(buf, runs.offsets, runs.lengths, runs.arrivals, count, from);
      return true;
    };
    runs.split(meta, n, run, ages, this.clock());
    return n;
  }
}
