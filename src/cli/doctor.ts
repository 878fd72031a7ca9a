// `fcast doctor`: what works on this machine for fcast, and why not. Each check is one entry of
// CHECKS (id, label, required, run); adding a check is adding one entry there. Checks do real
// I/O (sockets, /proc, /sys), so this is a shell module, never imported by the core.
//
// Required checks decide the exit status (0 when all pass, 3 otherwise); the others inform.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { endianness, networkInterfaces } from 'node:os';
import { delimiter, join } from 'node:path';
import { nativeStatus } from '../../codecs/native.js';
import { isFcastError } from '../errors.js';
import { decodeAlcPacket } from '../wire/index.js';
import { FLOW_MAGIC } from '../flexicast/index.js';
import type { QuicIdentity } from '../net/quic-identity.js';
import { QUIC_CHECK_MS, checkQuic } from './doctor-quic.js';
import { sendPathInUse } from '../net/batch-send.js';
import { recvPath } from '../net/mcast-recv.js';
import { routeInterface } from './path-mtu.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Where `fcast doctor SESSION` listens: from a session description or a bare GROUP:PORT. */
export interface FlowTarget {
  readonly family: 'IP4' | 'IP6';
  readonly channels: ReadonlyArray<{ readonly group: string; readonly port: number }>;
  /** SSM source, when the session names one. */
  readonly source?: string;
  /** TSI to expect, when a session description gave it. */
  readonly tsi?: number;
  /** CCI length in bytes (the session's CCI format), when known. */
  readonly cciLength?: number;
  /** Flexicast endpoint and pinned sender key (src/cli/doctor-quic.ts); its sealed flow packets count as the session's. */
  readonly flexicast?: { readonly host: string; readonly port: number; readonly senderKey: string | undefined };
}

export interface DoctorContext {
  /** Present when a SESSION argument was given. */
  readonly flow?: FlowTarget;
  /** How long the flow check listens, ms. */
  readonly waitMs: number;
  /** Interface to join on: its IPv4 address, or an interface name; undefined = the kernel's choice. */
  readonly iface?: string;
  /** Receiver identity for the flexicast QUIC check (`--key`); a throwaway one otherwise. */
  readonly identity?: QuicIdentity;
  /** What earlier checks found out: the flexicast QUIC check fills in the channels from ANNOUNCE. */
  readonly learned?: LearnedFlow;
}

/** Filled in while the checks run (the one mutable part of the context). */
export interface LearnedFlow {
  channels?: ReadonlyArray<{ readonly group: string; readonly port: number }>;
}

/** The channels to listen on: the session's, or those the flexicast ANNOUNCE named. */
function flowChannels(ctx: DoctorContext): ReadonlyArray<{ readonly group: string; readonly port: number }> {
  const own = ctx.flow?.channels ?? [];
  return own.length > 0 ? own : ctx.learned?.channels ?? [];
}

export interface CheckOutcome {
  readonly ok: boolean;
  /** One line: what was found (and, when not ok, why and what to do). */
  readonly detail: string;
  /** A few words of why not, for the summary line (default: detail). */
  readonly why?: string;
  readonly data?: Json;
}

export interface DoctorCheck {
  /** Stable id (the `check` field of --json output). */
  readonly id: string;
  /** Short words for the summary line ("loopback multicast"). */
  readonly label: string;
  /** A failing required check makes doctor exit 3. */
  readonly required: boolean;
  /** Bound on run(), ms (default 3000). */
  timeoutMs?(ctx: DoctorContext): number;
  /** Whether the check applies to this run (default: always). */
  applies?(ctx: DoctorContext): boolean;
  run(ctx: DoctorContext): Promise<CheckOutcome>;
}

export interface DoctorCheckResult {
  readonly check: string;
  readonly ok: boolean;
  readonly required: boolean;
  readonly detail: string;
  readonly why?: string;
  readonly data?: Json;
}

export interface DoctorReport {
  /** All required checks passed. */
  readonly ok: boolean;
  /** One line: what works and why not. */
  readonly summary: string;
  readonly checks: readonly DoctorCheckResult[];
  /** Ids of the required checks that failed. */
  readonly failed: readonly string[];
}

const ASK_BUFFER = 8 * 1024 * 1024;
// /sys/class/net/*/flags bits (linux/if.h).
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_MULTICAST = 0x1000;

/** The checks, in the order they run and print. Add a check here. */
export const CHECKS: readonly DoctorCheck[] = [
  { id: 'native', label: 'native addon', required: false, run: checkNative },
  { id: 'socket-paths', label: 'socket paths', required: false, run: checkSocketPaths },
  { id: 'interfaces', label: 'multicast interfaces', required: false, run: checkInterfaces },
  { id: 'multicast-route', label: 'multicast route', required: false, run: checkMulticastRoute },
  { id: 'loopback-multicast', label: 'loopback multicast', required: true, run: checkLoopbackMulticast },
  { id: 'ipv6-multicast', label: 'IPv6 multicast on lo', required: false, run: checkIpv6Loopback },
  { id: 'ttl', label: 'multicast TTL', required: true, run: checkTtl },
  { id: 'socket-buffers', label: 'socket buffers', required: false, run: checkBuffers },
  { id: 'root', label: 'root (netns tests)', required: false, run: checkRoot },
  // Before session-flow: an admitted QUIC check learns the channels of an fcast:// URL.
  { id: 'quic', label: 'flexicast QUIC', required: true, applies: (ctx) => ctx.flow?.flexicast !== undefined, timeoutMs: () => QUIC_CHECK_MS + 1000, run: checkQuic },
  {
    id: 'session-flow',
    label: 'session flow',
    required: true,
    applies: (ctx) => ctx.flow !== undefined && flowChannels(ctx).length > 0,
    timeoutMs: (ctx) => ctx.waitMs + 3000,
    run: checkFlow,
  },
];

/** Run every applicable check (one at a time, each bounded) and build the report. */
export async function runDoctor(ctx: DoctorContext, checks: readonly DoctorCheck[] = CHECKS): Promise<DoctorReport> {
  const results: DoctorCheckResult[] = [];
  for (const c of checks) {
    if (c.applies !== undefined && !c.applies(ctx)) continue;
    const outcome = await bounded(c.run(ctx), c.timeoutMs?.(ctx) ?? 3000);
    results.push({
      check: c.id,
      ok: outcome.ok,
      required: c.required,
      detail: outcome.detail,
      ...(outcome.ok || outcome.why === undefined ? {} : { why: outcome.why }),
      ...(outcome.data === undefined ? {} : { data: outcome.data }),
    });
  }
  const failed = results.filter((r) => r.required && !r.ok).map((r) => r.check);
  return { ok: failed.length === 0, summary: summarize(results, checks), checks: results, failed };
}

async function bounded(p: Promise<CheckOutcome>, ms: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([p.catch((e: unknown) => ({ ok: false, detail: errText(e) })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function errText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  // Node's socket errors read "send ENETUNREACH 1.2.3.4:5"; the code says it all.
  return code !== undefined && /^E[A-Z]+$/.test(code) ? code : (e.message.split('\n')[0] ?? code ?? 'error');
}

/** "ready|NOT READY (failed ids); works: a, b; not: c (why); d (why)". */
function summarize(results: readonly DoctorCheckResult[], checks: readonly DoctorCheck[]): string {
  const label = (id: string) => checks.find((c) => c.id === id)?.label ?? id;
  const works = results.filter((r) => r.ok).map((r) => label(r.check));
  const broken = results.filter((r) => !r.ok).map((r) => `${label(r.check)} (${r.why ?? r.detail})`);
  const failed = results.filter((r) => r.required && !r.ok).map((r) => r.check);
  const head = failed.length === 0 ? 'ready' : `NOT READY (${failed.join(', ')})`;
  return `${head}; works: ${works.length > 0 ? works.join(', ') : 'nothing'}${broken.length > 0 ? `; not: ${broken.join('; ')}` : ''}`;
}

// ---- checks ------------------------------------------------------------------------------

async function checkNative(): Promise<CheckOutcome> {
  const s = nativeStatus();
  if (s.loaded) return { ok: true, detail: `loaded, ${s.xorPath} XOR kernels (${s.path})`, data: { path: s.path, xorPath: s.xorPath } };
  return { ok: false, detail: `not loaded: ${s.reason}; TypeScript paths are used (slower)`, why: 'TypeScript fallback', data: { reason: s.reason } };
}

/**
 * How fcast send and receive move datagrams here: native sendmmsg batches (with UDP GSO runs)
 * and recvmmsg for IPv4, node:dgram otherwise. Passes when IPv4 has the batched paths.
 */
async function checkSocketPaths(): Promise<CheckOutcome> {
  const data = { send4: sendPathInUse(4), send6: sendPathInUse(6), recv4: recvPath(), recv6: 'dgram' as const };
  const detail = `send: ${data.send4} (IPv4), ${data.send6} (IPv6); receive: ${data.recv4} (IPv4), ${data.recv6} (IPv6)`;
  const batched = data.send4 !== 'dgram' && data.recv4 === 'recvmmsg';
  if (batched) return { ok: true, detail, data };
  return { ok: false, detail: `${detail}; node:dgram costs ~10 us of CPU per datagram (native addon not loaded, or FCAST_SEND_PATH/FCAST_RECV_PATH=dgram)`, why: 'node:dgram sockets', data };
}

interface IfaceInfo {
  name: string;
  up: boolean;
  loopback: boolean;
  multicast: boolean;
  addresses: string[];
}

function readFlags(name: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16);
  } catch {
    return undefined;
  }
}

async function checkInterfaces(): Promise<CheckOutcome> {
  const addrs = networkInterfaces();
  const names = new Set(Object.keys(addrs));
  if (existsSync('/sys/class/net')) for (const n of readdirSync('/sys/class/net')) names.add(n);
  const list: IfaceInfo[] = [];
  for (const name of [...names].sort()) {
    const flags = readFlags(name);
    const a = addrs[name] ?? [];
    list.push({
      name,
      up: flags === undefined ? a.length > 0 : (flags & IFF_UP) !== 0,
      loopback: flags === undefined ? a.some((x) => x.internal) : (flags & IFF_LOOPBACK) !== 0,
      // Without /sys (not Linux) the flag is unknown; an addressed interface is assumed capable.
      multicast: flags === undefined ? a.length > 0 : (flags & IFF_MULTICAST) !== 0,
      addresses: a.map((x) => x.address),
    });
  }
  const usable = list.filter((i) => i.up && i.multicast && !i.loopback && i.addresses.length > 0);
  const data: Json = list.map((i) => ({ name: i.name, up: i.up, loopback: i.loopback, multicast: i.multicast, addresses: i.addresses }));
  if (usable.length === 0) {
    return { ok: false, detail: 'no interface is up, multicast-capable and addressed besides loopback: only loopback sessions can run', why: 'loopback only', data };
  }
  return { ok: true, detail: usable.map((i) => `${i.name} (${i.addresses.join(', ')})`).join('; '), data };
}

/**
 * The IPv4 route the kernel picks for a group when a join or send names no interface (its own
 * answer, `ip route get`, as fcast send's MTU check asks; /proc/net/route only says which main
 * table route it is): without one, joins without --iface fail with ENODEV.
 */
async function checkMulticastRoute(): Promise<CheckOutcome> {
  let text: string;
  try {
    text = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return { ok: false, detail: 'no /proc/net/route (not Linux?): cannot tell which interface joins use', why: 'unknown' };
  }
  const kernel = routeInterface('239.255.0.1');
  // Fields are hex in host byte order: 239.255.0.1 reads 0x0100FFEF on little-endian machines.
  const group = endianness() === 'LE' ? 0x0100ffef : 0xefff0001;
  let best: { iface: string; bits: number; isDefault: boolean } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = Number.parseInt(f[1]!, 16) >>> 0;
    const mask = Number.parseInt(f[7]!, 16) >>> 0;
    if (((group & mask) >>> 0) !== dest) continue;
    const bits = mask.toString(2).replace(/0/g, '').length;
    if (best === undefined || bits > best.bits) best = { iface: f[0]!, bits, isDefault: mask === 0 };
  }
  if (kernel === undefined && best === undefined) {
    return {
      ok: false,
      detail: 'no route covers 239.0.0.0/8 (no default route, no 224.0.0.0/4 route): give --iface, or ip route add 224.0.0.0/4 dev IFACE',
      why: 'no route for 224.0.0.0/4: use --iface',
      data: { iface: null },
    };
  }
  const iface = kernel ?? best!.iface;
  // The main table's route says what kind it is when it is the one taken (policy rules may differ).
  const how = best?.iface !== iface ? 'a route outside the main table' : best.isDefault ? 'the default route' : `a /${best.bits} route`;
  return {
    ok: true,
    detail: `groups without --iface go through ${iface} (${how})`,
    data: { iface, prefixBits: best?.iface === iface ? best.bits : null },
  };
}

function randomGroup4(): string {
  // 239.255.0.0/16: IPv4 organization-local scope (RFC 2365); random to avoid a running session.
  return `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`;
}

/** Join `group` on joinIface, send a token to it with TTL 0 (this host only) up to 10 times over 1 s, and report whether it came back. */
function selfTest(type: 'udp4' | 'udp6', group: string, joinIface: string, sendIface: string): Promise<CheckOutcome> {
  return new Promise((resolve) => {
    const rx = dgram.createSocket({ type, reuseAddr: true });
    const tx = dgram.createSocket(type);
    const token = Buffer.from(`fcast-doctor-${randomInt(1 << 30)}`);
    let sends = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (o: CheckOutcome) => {
      clearInterval(timer);
      rx.close();
      tx.close();
      resolve(o);
    };
    rx.on('error', (e) => done({ ok: false, detail: `receive socket: ${errText(e)}`, why: errText(e) }));
    tx.on('error', (e) => done({ ok: false, detail: `send socket: ${errText(e)}`, why: errText(e) }));
    rx.on('message', (m) => {
      if (m.equals(token)) done({ ok: true, detail: `joined ${group} on ${joinIface}, sent with TTL 0, received after ${sends} send(s)`, data: { group } });
    });
    rx.bind(0, () => {
      try {
        rx.addMembership(group, joinIface);
      } catch (e) {
        done({ ok: false, detail: `join ${group} on ${joinIface}: ${errText(e)}`, why: `join: ${errText(e)}` });
        return;
      }
      const port = rx.address().port;
      tx.bind(0, () => {
        try {
          tx.setMulticastInterface(sendIface);
          tx.setMulticastTTL(0);
          tx.setMulticastLoopback(true);
        } catch (e) {
          done({ ok: false, detail: `socket options: ${errText(e)}`, why: errText(e) });
          return;
        }
        const send = () => {
          if (sends >= 10) {
            done({ ok: false, detail: `nothing received on ${group} after ${sends} sends over 1 s`, why: 'nothing came back' });
            return;
          }
          sends += 1;
          tx.send(token, port, group, (e) => {
            if (e) done({ ok: false, detail: `send to ${group}: ${errText(e)}`, why: `send: ${errText(e)}` });
          });
        };
        send();
        timer = setInterval(send, 100);
      });
    });
  });
}

function checkLoopbackMulticast(): Promise<CheckOutcome> {
  return selfTest('udp4', randomGroup4(), '127.0.0.1', '127.0.0.1');
}

async function checkIpv6Loopback(): Promise<CheckOutcome> {
  const lo = Object.entries(networkInterfaces()).find(([, a]) => (a ?? []).some((x) => x.internal && x.family === 'IPv6'));
  if (lo === undefined) return { ok: false, detail: 'no IPv6 address on the loopback interface (IPv6 disabled?)' };
  const group = `ff15::fca:${randomInt(1, 0xffff).toString(16)}`;
  const o = await selfTest('udp6', group, `::%${lo[0]}`, `::%${lo[0]}`);
  // Linux gives lo no MULTICAST flag and no ff00::/8 route: IPv6 sessions need a real interface.
  return o.ok ? o : { ok: false, detail: `${o.detail} (IPv6 sessions need a multicast-capable interface)`, why: o.why ?? o.detail };
}

async function checkTtl(): Promise<CheckOutcome> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, () => resolve());
  });
  try {
    for (const ttl of [0, 1, 32, 255]) s.setMulticastTTL(ttl);
    s.setTTL(64);
  } finally {
    s.close();
  }
  const dflt = readProc('/proc/sys/net/ipv4/ip_default_ttl');
  return {
    ok: true,
    detail: `multicast TTL 0..255 can be set${dflt === undefined ? '' : `; unicast default TTL ${dflt}`}`,
    data: { defaultTtl: dflt ?? null },
  };
}

function readProc(path: string): number | undefined {
  try {
    const v = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

async function checkBuffers(): Promise<CheckOutcome> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: ASK_BUFFER, sendBufferSize: ASK_BUFFER });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, () => resolve());
  });
  // Linux reports twice what it grants (the doubled value includes bookkeeping, socket(7)).
  const factor = process.platform === 'linux' ? 2 : 1;
  const rcv = Math.floor(s.getRecvBufferSize() / factor);
  const snd = Math.floor(s.getSendBufferSize() / factor);
  s.close();
  const rmemMax = readProc('/proc/sys/net/core/rmem_max');
  const wmemMax = readProc('/proc/sys/net/core/wmem_max');
  const data: Json = { asked: ASK_BUFFER, rcvGranted: rcv, sndGranted: snd, rmemMax: rmemMax ?? null, wmemMax: wmemMax ?? null };
  const text = `asked ${ASK_BUFFER} bytes, granted SO_RCVBUF ${rcv} (rmem_max ${rmemMax ?? '?'}), SO_SNDBUF ${snd} (wmem_max ${wmemMax ?? '?'})`;
  if (rcv >= ASK_BUFFER && snd >= ASK_BUFFER) return { ok: true, detail: text, data };
  return {
    ok: false,
    detail: `${text}: bursts may overflow; sysctl -w net.core.rmem_max=${ASK_BUFFER} net.core.wmem_max=${ASK_BUFFER}`,
    why: `granted ${Math.min(rcv, snd)} of ${ASK_BUFFER} bytes`,
    data,
  };
}

function onPath(cmd: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d !== '' && existsSync(join(d, cmd)));
}

async function checkRoot(): Promise<CheckOutcome> {
  const root = process.getuid?.() === 0;
  const missing = ['ip', 'tc', 'nft'].filter((t) => !onPath(t));
  const ok = root && missing.length === 0;
  const why = [root ? 'running as root' : 'not root', missing.length > 0 ? `missing ${missing.join(', ')} (apt-get install iproute2 nftables)` : 'ip, tc and nft present'];
  return { ok, detail: `${why.join('; ')}: network-namespace tests ${ok ? 'can run' : 'are skipped'}`, why: why[root ? 1 : 0] ?? '', data: { root, missing } };
}

/** Resolve --iface (name or address) to the address a membership is made on. */
function joinAddress(iface: string | undefined, family: 'IP4' | 'IP6'): string | undefined {
  if (iface === undefined) return undefined;
  if (isIP(iface) !== 0) return iface;
  const a = networkInterfaces()[iface];
  if (a === undefined) throw new Error(`no interface ${iface}`);
  if (family === 'IP6') return `::%${iface}`;
  const v4 = a.find((x) => x.family === 'IPv4');
  if (v4 === undefined) throw new Error(`interface ${iface} has no IPv4 address`);
  return v4.address;
}

async function checkFlow(ctx: DoctorContext): Promise<CheckOutcome> {
  const flow = ctx.flow;
  if (flow === undefined) return { ok: false, detail: 'no session given' };
  const joinOn = joinAddress(ctx.iface, flow.family);
  const type = flow.family === 'IP6' ? 'udp6' : 'udp4';
  const stats: FlowStats = { datagrams: 0, alc: 0, otherTsi: 0, toIs: new Set<number>(), bad: new Map<string, number>() };
  const sockets: dgram.Socket[] = [];
  try {
    for (const ch of flowChannels(ctx)) {
      const s = dgram.createSocket({ type, reuseAddr: true });
      sockets.push(s);
      s.on('message', (m) => countPacket(m, flow, stats));
      // Bound to the group, so two channels on one port are not counted twice.
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(ch.port, ch.group, () => resolve());
      });
      try {
        if (flow.source !== undefined) s.addSourceSpecificMembership(flow.source, ch.group, joinOn);
        else s.addMembership(ch.group, joinOn);
      } catch (e) {
        const on = joinOn ?? 'the default interface';
        const hint = joinOn === undefined ? ' (no multicast route? give --iface)' : '';
        return { ok: false, detail: `cannot join ${ch.group} on ${on}: ${errText(e)}${hint}`, why: `join failed: ${errText(e)}` };
      }
    }
    await new Promise((r) => setTimeout(r, ctx.waitMs));
  } finally {
    for (const s of sockets) s.close();
  }
  const where = flowChannels(ctx).map((c) => `${c.group}:${c.port}`).join(', ');
  const bad = Object.fromEntries(stats.bad);
  const data: Json = { channels: where, datagrams: stats.datagrams, alcPackets: stats.alc, otherTsi: stats.otherTsi, objects: stats.toIs.size, bad };
  const secs = ctx.waitMs / 1000;
  if (stats.alc > 0) {
    return { ok: true, detail: `${stats.alc} ALC packets (${stats.toIs.size} objects) from ${where} in ${secs} s`, data };
  }
  if (stats.datagrams > 0) {
    const reasons = [...stats.bad.entries()].map(([k, v]) => `${v}× ${k}`);
    if (stats.otherTsi > 0) reasons.push(`${stats.otherTsi}× another TSI`);
    return {
      ok: false,
      detail: `${stats.datagrams} datagrams on ${where} in ${secs} s but no flow packet of this session (${reasons.join(', ')})`,
      why: 'datagrams arrive, but none of this session',
      data,
    };
  }
  return {
    ok: false,
    detail: `nothing arrived on ${where} in ${secs} s: the sender is not sending, or multicast is not routed to this host/interface${ctx.iface === undefined ? ' (try --iface)' : ''}`,
    why: `nothing arrived in ${secs} s`,
    data,
  };
}

interface FlowStats {
  datagrams: number;
  alc: number;
  otherTsi: number;
  toIs: Set<number>;
  bad: Map<string, number>;
}

function countPacket(m: Buffer, flow: FlowTarget, stats: FlowStats): void {
  stats.datagrams += 1;
  // A flexicast flow is sealed (src/flexicast/flow-crypto.ts): doctor holds no key, the magic byte must do.
  if (flow.flexicast !== undefined && m[0] === FLOW_MAGIC) {
    stats.alc += 1;
    return;
  }
  try {
    const p = decodeAlcPacket(m, flow.cciLength === undefined ? undefined : { cciLength: flow.cciLength });
    if (flow.tsi !== undefined && p.lct.tsi !== flow.tsi) {
      stats.otherTsi += 1;
      return;
    }
    stats.alc += 1;
    if (p.lct.toi !== undefined && stats.toIs.size < 100_000) stats.toIs.add(p.lct.toi);
  } catch (e) {
    const code = isFcastError(e) ? e.code : 'INTERNAL';
    stats.bad.set(code, (stats.bad.get(code) ?? 0) + 1);
  }
}
