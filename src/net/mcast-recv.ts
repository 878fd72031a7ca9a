// Receiving side of an IP multicast channel (RFC 5775 §2.6 / SPEC-NOTES 2.6: a channel is
// (sender, group) plus a UDP port). ASM joins with IP_ADD_MEMBERSHIP (or the IPv6 equivalent),
// SSM joins (source, group) with IP_ADD_SOURCE_MEMBERSHIP, both through node:dgram.
//
// IPv4 on Linux with the native addon: the socket is the addon's and is read with recvmmsg(2),
// up to 64 datagrams per system call, polled from a timer (native/src/recvmmsg.cc): node:dgram
// costs about 13 us of CPU per datagram here, most of a receiver's budget. The timer runs every
// 4 ms while datagrams come (busyPollMs: what SO_RCVBUF absorbs at 1 Gbit/s, at least 1 ms) and
// backs off (doubling, up to what SO_RCVBUF can absorb) while none do: a 1 ms poll of an idle
// socket cost ~35 ms of CPU per second, and eight receivers waiting for a sender paid it eight
// times. Each wake-up costs the receive loop a fixed ~0.1 ms (timer, recvmmsg, a batch through
// the core, a decoder call per block it touched), so fuller batches are cheaper: at 400 Mbit/s a
// 1 ms poll read ~35 datagrams, and a 64 MB receive cost 0.35 CPU-s (median of 6) against 0.325
// at 4 ms (loopback, 400 Mbit/s; at 1 Gbit/s batches are full either way). Otherwise, and with
// FCAST_RECV_PATH=dgram, node:dgram. The native socket also asks for UDP_GRO, so a sender's UDP
// GSO buffer (up to 16 packets) arrives as one entry that is split here (FCAST_RECV_GRO=0: off).
// With a batch handler, the addon cuts the entries into datagrams and runs itself (mcastRecvRuns):
// the receive loop then runs no JavaScript per datagram up to the core's native fast path
// (src/assembly/receiver.ts); FCAST_RECV_FAST=0 keeps the split here (recv-runs.ts) as well.
//
// The socket binds the group address itself (IPv4 on Linux): it then receives only that group,
// not every datagram for the port. IPv6 binds the wildcard ('::'), since binding a multicast
// address needs a scope. SO_RCVBUF is asked as large as the kernel allows (capped by
// net.core.rmem_max): a burst at line rate must not overflow while a block decodes.

import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { getNative } from '../../codecs/native.js';
import { LocalProtocolError } from '../errors.js';
import { BATCH, META, RecvRuns, SLOT, type RunHandler } from './recv-runs.js';
import { errnoError, v4 } from './socket-addon.js';

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
  /** UDP_GRO is on: GSO buffers arrive whole and are split in userspace. */
  readonly gro: boolean;
  /** GRO buffers received so far (each held two or more datagrams). */
  groBuffers(): number;
  close(): Promise<void>;
}

/**
 * One datagram. `at` is performance.now() when its batch was read (native path: one clock read
 * per recvmmsg call instead of one per datagram); undefined means "now".
 */
export type DatagramHandler = (bytes: Uint8Array, sourceAddress: string, at?: number) => void;

/**
 * The datagrams of one receive batch from one sender (native path): datagram i is
 * data[offsets[i], offsets[i] + lengths[i]), i < count. `at` as for DatagramHandler. Everything is
 * valid only during the call (the buffers are reused).
 */
export type BatchHandler = (data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, sourceAddress: string, at: number) => void;

function ipv6Iface(iface: string | undefined): string | undefined {
  if (iface === undefined) return undefined;
  return iface.startsWith('%') || isIP(iface) === 6 ? iface : `::%${iface}`;
}

interface RecvAddon {
  mcastOpen4(group: Uint8Array, port: number, iface: Uint8Array, source: Uint8Array, rcvbuf: number, gro: number): number;
  mcastRecvBatch(fd: number, buf: Uint8Array, slot: number, meta: Uint32Array): number;
  /** Optional (newer builds): the batch cut into datagrams and runs in C++ (recvmmsg.cc). */
  mcastRecvRuns?(fd: number, buf: Uint8Array, slot: number, offsets: Uint32Array, lengths: Uint32Array, runs: Uint32Array): number;
  mcastRcvbuf(fd: number): number;
  mcastGro(fd: number): number;
  udpClose(fd: number): number;
}

function recvAddon(): RecvAddon | undefined {
  if (process.platform !== 'linux' || process.env.FCAST_RECV_PATH === 'dgram') return undefined;
  const a = getNative() as unknown as Partial<RecvAddon> | undefined;
  if (a === undefined) return undefined;
  // mcastGro marks an addon built with the GRO-aware batch layout (3 words per entry).
  const fns = ['mcastOpen4', 'mcastRecvBatch', 'mcastRcvbuf', 'mcastGro', 'udpClose'] as const;
  return fns.every((f) => typeof a[f] === 'function') ? (a as RecvAddon) : undefined;
}

/** How datagrams are read (for `fcast doctor` and the --json summary). */
export function recvPath(): 'recvmmsg' | 'dgram' {
  return recvAddon() === undefined ? 'dgram' : 'recvmmsg';
}

/** Longest idle poll interval (ms): ~60 wake-ups per idle second instead of 1000. */
const IDLE_POLL_MAX_MS = 16;
/** Poll interval (ms) while datagrams come, if SO_RCVBUF allows: 4 ms is 500 kB at 1 Gbit/s. */
const BUSY_POLL_MS = 4;
/** Bytes per ms at 1 Gbit/s: an idle interval leaves room for half the socket buffer at that rate. */
const GBIT_BYTES_PER_MS = 125_000;
/** mcastRecvRuns' datagram room: 64 segments an entry, the kernel's UDP_GRO_CNT_MAX. */
const RUN_DATAGRAMS = BATCH * 64;
/** mcastRecvRuns' runs array: datagrams, runs, GRO buffers, then (end, source) per run. */
const RUNS_HEAD = 3;

/** The longest idle poll interval a socket buffer of `rcvbuf` bytes allows without overflowing. */
export function idlePollMaxMs(rcvbuf: number): number {
  return Math.max(1, Math.min(IDLE_POLL_MAX_MS, Math.floor(rcvbuf / 2 / GBIT_BYTES_PER_MS)));
}

/** The poll interval while datagrams come: BUSY_POLL_MS, less if the socket buffer is small. */
export function busyPollMs(rcvbuf: number): number {
  return Math.min(BUSY_POLL_MS, idlePollMaxMs(rcvbuf));
}

/** IPv4 through the addon's socket: recvmmsg batches, polled every millisecond while idle. */
function joinNative4(addon: RecvAddon, opts: McastChannelOptions, onDatagram: DatagramHandler, onBatch: BatchHandler | undefined): McastChannel {
  const gro = process.env.FCAST_RECV_GRO === '0' ? 0 : 1;
  const fd = addon.mcastOpen4(v4(opts.group), opts.port, v4(opts.iface ?? '0.0.0.0'), opts.source === undefined ? new Uint8Array(0) : v4(opts.source), opts.recvBufferSize ?? 32 << 20, gro);
  if (fd < 0) throw errnoError(-fd, `multicast socket for ${opts.group}:${opts.port}`);
  // A plain Uint8Array: a view of it costs less to make than a Buffer view (two per datagram).
  const buf = new Uint8Array(SLOT * BATCH);
  const meta = new Uint32Array(BATCH * META);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const runs = new RecvRuns(false);
  const rcvbuf = Math.max(0, addon.mcastRcvbuf(fd));
  const idleMax = idlePollMaxMs(rcvbuf);
  const busy = busyPollMs(rcvbuf);
  let interval = 1;
  /** One datagram at a time (the handler without batches). */
  const each = (n: number, at: number): void => {
    for (let i = 0; i < n; i++) {
      const len = meta[META * i]!;
      if (len === 0) continue;
      const from = runs.address(meta[META * i + 1]!);
      // A GRO buffer is segments of `seg` bytes, the last one possibly shorter (udp(7)).
      const seg = meta[META * i + 2]! || len;
      if (seg < len) runs.groBuffers++;
      const end = i * SLOT + len;
      for (let off = i * SLOT; off < end; off += seg) {
        onDatagram(buf.subarray(off, Math.min(off + seg, end)), from, at);
        if (closed) return;
      }
    }
  };
  /** With onBatch and mcastRecvRuns: the addon's runs, one onBatch call each. */
  const cut = onBatch !== undefined && typeof addon.mcastRecvRuns === 'function' && process.env.FCAST_RECV_FAST !== '0'
    ? { offsets: new Uint32Array(RUN_DATAGRAMS), lengths: new Uint32Array(RUN_DATAGRAMS), runs: new Uint32Array(RUNS_HEAD + 2 * BATCH) }
    : undefined;
  const cutRuns = (handler: BatchHandler, at: number): void => {
    const c = cut!;
    runs.groBuffers += c.runs[2]!;
    let from = 0;
    for (let r = 0; r < c.runs[1]!; r++) {
      const end = c.runs[RUNS_HEAD + 2 * r]!;
      const from0 = from === 0;
      handler(buf, from0 ? c.offsets : c.offsets.subarray(from), from0 ? c.lengths : c.lengths.subarray(from), end - from, runs.address(c.runs[RUNS_HEAD + 2 * r + 1]!), at);
      if (closed) return;
      from = end;
    }
  };
  /** With onBatch: the batch as runs of datagrams from one sender, one call each. */
  let batchAt = 0;
  const run: RunHandler | undefined = onBatch === undefined ? undefined : (count, from) => {
    onBatch(buf, runs.offsets, runs.lengths, count, from, batchAt);
    return !closed;
  };
  const pump = (): void => {
    timer = undefined;
    if (closed) return;
    // Drain what is queued, yielding to the event loop between full batches.
    for (let rounds = 0; rounds < 16; rounds++) {
      const n = cut !== undefined ? addon.mcastRecvRuns!(fd, buf, SLOT, cut.offsets, cut.lengths, cut.runs) : addon.mcastRecvBatch(fd, buf, SLOT, meta);
      if (n > 0) {
        const at = performance.now();
        if (cut !== undefined) cutRuns(onBatch!, at);
        else if (run === undefined) each(n, at);
        else {
          batchAt = at;
          runs.split(meta, n, run);
        }
        if (closed) return;
      }
      if (n < BATCH) {
        interval = n > 0 ? busy : Math.min(interval * 2, idleMax);
        timer = setTimeout(pump, interval);
        return;
      }
    }
    setImmediate(pump);
  };
  pump();
  return {
    recvBufferSize: rcvbuf,
    gro: addon.mcastGro(fd) === 1,
    groBuffers: () => runs.groBuffers,
    close: async () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      addon.udpClose(fd);
    },
  };
}


/**
 * Join one channel; every datagram goes to `onDatagram` synchronously, in arrival order, or, with
 * `onBatch` and the native socket, each receive batch to `onBatch` in one call. The bytes are
 * valid only during the call (the native path reuses its buffer).
 */
export async function joinChannel(opts: McastChannelOptions, onDatagram: DatagramHandler, onBatch?: BatchHandler): Promise<McastChannel> {
  const family = isIP(opts.group);
  if (family === 0) throw new LocalProtocolError('USAGE', `${opts.group} is not an IP address`);
  if (opts.source !== undefined && isIP(opts.source) !== family) {
    throw new LocalProtocolError('USAGE', `source ${opts.source} is not of the group's address family`);
  }
  const addon = family === 4 && (opts.iface === undefined || isIP(opts.iface) === 4) ? recvAddon() : undefined;
  if (addon !== undefined) return joinNative4(addon, opts, onDatagram, onBatch);
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
    gro: false,
    groBuffers: () => 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
