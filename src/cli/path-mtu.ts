// Symbol size against the outgoing interface's MTU, for `fcast send` (issue 4).
//
// Why: a datagram larger than the MTU leaves in IP fragments, and every fragment of every packet
// must arrive for the receiver's kernel to reassemble it (RFC 791 §3.2; RFC 8900 on why
// fragmentation is fragile). Under a carousel's steady flow the reassembly queue
// (net.ipv4.ipfrag_high_thresh, 4 MiB) fills and whole packets are lost, loss the FEC was not
// sized for: a large --symbol-size "failed" that way. The first hop's MTU is the most we can
// know locally (ALC has no path MTU discovery), so that is the bound.
//
// The interface: --iface as an interface name or one of its addresses (os.networkInterfaces());
// without it, the one the kernel routes the group through, as IP_MULTICAST_IF unset does. That is
// asked of the kernel itself (`ip route get GROUP`, iproute2): its answer follows the policy rules
// and tables, and the multicast routes live in the local table, which is consulted before main,
// whatever the prefix lengths (a ff15::/16 route in main loses to ff00::/8 in local). Without
// iproute2 the routing tables in /proc/net/route and /proc/net/ipv6_route are read instead
// (longest prefix, then lowest metric, then the first listed, as the kernel orders routes of equal
// metric; reject routes skipped); they do not say which table a route is in. Its MTU is
// /sys/class/net/<if>/mtu. When nothing can be found (not Linux, no route), no check is made.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { LocalProtocolError } from '../errors.js';

/** IP (no options) plus UDP header bytes. */
export const IP_UDP_BYTES = { 4: 20 + 8, 6: 40 + 8 } as const;

export interface OutgoingMtu {
  readonly iface: string;
  readonly mtu: number;
  /** How the interface was found. */
  readonly from: 'iface' | 'route';
}

/** The interface `iface` names: an interface name, or an address (IPv6 scope `%name` allowed) of one. */
export function interfaceName(iface: string): string | undefined {
  const all = networkInterfaces();
  const bare = iface.startsWith('%') ? iface.slice(1) : iface;
  if (all[bare] !== undefined) return bare;
  const address = iface.split('%')[0]!;
  for (const [name, addrs] of Object.entries(all)) {
    if (addrs?.some((a) => a.address === address)) return name;
  }
  return undefined;
}

/** IPv4 address as a 32-bit number. */
function v4(address: string): number {
  return address.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

/** /proc/net/route holds addresses as host-order (little-endian here) hex. */
function hexLe32(hex: string): number {
  const v = parseInt(hex, 16);
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** Route flags (linux/route.h, linux/ipv6_route.h). */
const RTF_UP = 0x0001;
const RTF_REJECT = 0x0200;

interface RouteCandidate {
  readonly iface: string;
  readonly bits: number;
  readonly metric: number;
}

/** Longest prefix, then lowest metric; of equals the first listed (the kernel's own order). */
function better(a: RouteCandidate, best: RouteCandidate | undefined): boolean {
  return best === undefined || a.bits > best.bits || (a.bits === best.bits && a.metric < best.metric);
}

/** A route that can carry packets: up, and not a reject (unreachable, prohibit) route. */
function usable(flagsHex: string): boolean {
  const flags = parseInt(flagsHex, 16);
  return (flags & RTF_UP) !== 0 && (flags & RTF_REJECT) === 0;
}

/** Longest-prefix, lowest-metric match of `group` in the text of /proc/net/route (exported for tests). */
export function routeInterface4(group: string, table: string): string | undefined {
  const g = v4(group);
  let best: RouteCandidate | undefined;
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !usable(f[3]!)) continue;
    const dest = hexLe32(f[1]!);
    const mask = hexLe32(f[7]!);
    if (((g & mask) >>> 0) !== dest) continue;
    const c = { iface: f[0]!, bits: mask.toString(2).replace(/0/g, '').length, metric: Number(f[6]) };
    if (better(c, best)) best = c;
  }
  return best?.iface;
}

/** IPv6 address as 32 hex digits. */
function v6Hex(address: string): string {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((x) => x.padStart(4, '0')).join('').toLowerCase();
}

/**
 * Longest-prefix, lowest-metric match of `group` in the text of /proc/net/ipv6_route (exported
 * for tests). Fields: destination, prefix length, source, source length, next hop, metric,
 * refcount, use, flags, device.
 */
export function routeInterface6(group: string, table: string): string | undefined {
  const bits = [...v6Hex(group)].map((c) => parseInt(c, 16).toString(2).padStart(4, '0')).join('');
  let best: RouteCandidate | undefined;
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !usable(f[8]!)) continue;
    const len = parseInt(f[1]!, 16);
    const dest = [...f[0]!].map((c) => parseInt(c, 16).toString(2).padStart(4, '0')).join('');
    if (dest.slice(0, len) !== bits.slice(0, len)) continue;
    const c = { iface: f[9]!, bits: len, metric: parseInt(f[5]!, 16) };
    if (better(c, best)) best = c;
  }
  return best?.iface;
}

/** The device of an `ip -o route get` answer (exported for tests). */
export function routeGetInterface(answer: string): string | undefined {
  return /(?:^|\s)dev (\S+)/.exec(answer)?.[1];
}

/** The kernel's own choice for `group` (`ip route get`); undefined without iproute2 or a route. */
function kernelRouteInterface(group: string, family: 4 | 6): string | undefined {
  try {
    const answer = execFileSync('ip', ['-o', `-${family}`, 'route', 'get', group], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    return routeGetInterface(answer);
  } catch {
    return undefined;
  }
}

/** The interface the kernel routes `group` through (Linux): its own answer, else the /proc tables. */
export function routeInterface(group: string): string | undefined {
  const family = isIP(group) === 4 ? 4 : 6;
  const kernel = kernelRouteInterface(group, family);
  if (kernel !== undefined) return kernel;
  try {
    if (family === 4) return routeInterface4(group, readFileSync('/proc/net/route', 'utf8'));
    return routeInterface6(group, readFileSync('/proc/net/ipv6_route', 'utf8'));
  } catch {
    return undefined;
  }
}

export function interfaceMtu(name: string): number | undefined {
  try {
    const mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
    return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

/** The outgoing interface for `group` and its MTU, or undefined when it cannot be found. */
export function outgoingMtu(group: string, iface: string | undefined): OutgoingMtu | undefined {
  const name = iface === undefined ? routeInterface(group) : interfaceName(iface);
  if (name === undefined || /[/\\]/.test(name)) return undefined;
  const mtu = interfaceMtu(name);
  return mtu === undefined ? undefined : { iface: name, mtu, from: iface === undefined ? 'route' : 'iface' };
}

export interface SymbolSizeChoice {
  readonly symbolSize: number;
  /** The default was lowered to fit the MTU. */
  readonly capped: boolean;
  /** Largest symbol whose packet fits the MTU (undefined when no MTU was found). */
  readonly largest: number | undefined;
}

/**
 * The symbol size to send with: `requested` (--symbol-size) must fit the MTU unless
 * `allowFragments`; the default is lowered to fit. `overhead` = every packet byte but the symbol
 * (IP, UDP, LCT/ALC headers with EXT_FTI and payload ID, a flexicast flow seal).
 */
export function chooseSymbolSize(p: {
  readonly requested: number | undefined;
  readonly defaultSize: number;
  readonly overhead: number;
  readonly path: OutgoingMtu | undefined;
  readonly allowFragments: boolean;
  readonly family: 4 | 6;
}): SymbolSizeChoice {
  const size = p.requested ?? p.defaultSize;
  if (p.path === undefined) return { symbolSize: size, capped: false, largest: undefined };
  const largest = p.path.mtu - p.overhead;
  if (size <= largest || p.allowFragments) return { symbolSize: size, capped: false, largest };
  if (p.requested === undefined && largest >= 16) return { symbolSize: largest, capped: true, largest };
  const where = `${p.path.iface} (MTU ${p.path.mtu}${p.path.from === 'route' ? ', the route to the group' : ''})`;
  throw new LocalProtocolError(
    'USAGE',
    `--symbol-size ${size} makes ${size + p.overhead}-byte IPv${p.family} packets, larger than the MTU of ${where}: they would be fragmented and lost when reassembly fails; use --symbol-size ${Math.max(16, largest)} or less, or --allow-fragments`,
  );
}
