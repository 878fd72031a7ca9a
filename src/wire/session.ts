// Session descriptions: what a receiver must know before it joins (RFC 5651 §6.1, RFC 5775 §2.4;
// SPEC-NOTES §2.4): the sender's address, the TSI, every channel (group and port), the CC block and
// its parameters, the codepoint -> FEC mapping, the header extensions in use and the auth scheme.
//
// Two encodings of the same content:
// - SDP (RFC 4566), with attributes in the style of FLUTE/3GPP MBMS (RFC 6726 §5 draft SDP,
//   3GPP TS 26.346 §7.3): `a=source-filter` (RFC 4570) for SSM, `a=FEC-declaration` for the
//   codepoint mapping, and `fcast-*` attributes where FLUTE uses `flute-*`.
// - JSON: the `SessionDescription` object below, as is.
//
// SDP attribute set [ours] (session level unless noted):
//   a=fcast-tsi:<tsi>                          TSI, decimal, 1..2^32-1 (FLUTE: a=flute-tsi)
//   a=fcast-session:<name>                     session name (the well-known URL's <session>)
//   a=fcast-mode:push|on-demand                RFC 6968 §3.4 carousel mode
//   a=fcast-cci:webrc-short                    CCI format (RFC 3738 §5, 32-bit short form)
//   a=fcast-rate:<control> <bits/s>[ k=v;...]  control fixed|webrc, aggregate rate, CC parameters
//   a=fcast-packet:<bytes>                     largest ALC datagram payload the sender emits
//   a=fcast-ttl:<n>                            multicast TTL / hop limit (c= has none for IPv6)
//   a=fcast-ext:<HET name>,...                 header extensions present (EXT_FTI, EXT_TIME)
//   a=fcast-auth:none                          packet authentication scheme
//   a=fcast-flexicast:<host>:<port>            flexicast QUIC endpoint ([v6]:port for IPv6; issue 6)
//   a=fcast-sender-key:<base64url>             sender's raw Ed25519 public key, pinned by receivers
//   a=FEC-declaration:<cp> encoding-id=<id>    codepoint -> FEC Encoding ID (identity for us)
//   a=fcast-fec:<cp> E=<e>;B=<b>[;max-n=<n>;N1m3=<x>;G=<g>]   default FEC OTI for that codepoint
//   t=<start> <stop>                           NTP seconds; 0 = unbounded (RFC 4566 §5.9)
//   b=AS:<kbit/s>                              aggregate rate, informative
// Media level, one `m=` section per channel:
//   m=application <port> FCAST/ALC/UDP <cp> [<cp>...]
//   c=IN IP4|IP6 <group>[/<ttl>]               (IPv4 carries the TTL, RFC 4566 §5.7)
//   a=fcast-cn:<cn>                            WEBRC channel number (base channel = highest)
//   a=source-filter: incl IN IP4|IP6 <group> <source>   present when the session is SSM
//
// Parsers are strict about what they understand: a missing or repeated required field, a bad
// number or address throws SESSION_PARSE (syntax) or SESSION_VALUE (a value out of range).
// Unknown `a=` attributes are skipped, as RFC 4566 §5.13 asks.
// Pure: no I/O here. node:net's isIP is a string check.

import { isIP } from 'node:net';
import { RemoteProtocolError } from '../errors.js';

export type SessionMode = 'push' | 'on-demand';
export type AddressFamily = 'IP4' | 'IP6';
export type RateControl = 'fixed' | 'webrc';

/** One multicast channel: (source, group) plus UDP port. */
export interface SessionChannel {
  /** WEBRC channel number (RFC 3738 §3); a single-channel session has cn 0. */
  readonly cn: number;
  readonly group: string;
  readonly port: number;
}

/** Codepoint -> FEC scheme and the default OTI of the session (objects still carry EXT_FTI). */
export interface SessionFec {
  readonly codepoint: number;
  readonly encodingId: 0 | 3;
  /** E, bytes. */
  readonly symbolSize: number;
  /** B, symbols. */
  readonly maxSourceBlockLength: number;
  /** LDPC only. */
  readonly maxEncodingSymbols?: number;
  readonly n1m3?: number;
  readonly symbolsPerPacket?: number;
}

export interface SessionRate {
  readonly control: RateControl;
  /** Aggregate sending rate (SR_b for WEBRC), bits per second. */
  readonly bitsPerSecond: number;
  /** Rate-control parameters by name (WEBRC: P, TSD, BCR_P, N, Q ...), numbers only. */
  readonly params?: Readonly<Record<string, number>>;
}

export interface SessionDescription {
  /** Format version of this description. */
  readonly version: 1;
  /** Session name: [A-Za-z0-9._-]{1,64}; the <session> in /.well-known/fcast/<session>.sdp. */
  readonly name: string;
  readonly tsi: number;
  readonly family: AddressFamily;
  /** Sender address the receivers filter on; present = SSM (receivers join (source, group)). */
  readonly source?: string;
  /** Multicast TTL / hop limit the sender uses. */
  readonly ttl: number;
  /** Channels; the base channel is the one with the highest cn. */
  readonly channels: readonly SessionChannel[];
  /** Codepoint mapping; we use codepoint = FEC Encoding ID. */
  readonly fec: readonly SessionFec[];
  readonly cci: 'webrc-short';
  readonly rate: SessionRate;
  readonly mode: SessionMode;
  /** Unix seconds when the session starts / stops sending; absent = unbounded. */
  readonly start?: number;
  readonly stop?: number;
  /** Largest ALC datagram payload, bytes. */
  readonly packetSize: number;
  readonly extensions: readonly ExtensionName[];
  readonly auth: 'none';
  /** Flexicast QUIC endpoint, host:port ([v6]:port): the flow is sealed, admitted receivers get its key there. */
  readonly flexicast?: string;
  /** The sender's raw Ed25519 public key, base64url (43 characters); required with `flexicast`. */
  readonly senderKey?: string;
}

export type ExtensionName = 'EXT_FTI' | 'EXT_TIME';
const EXTENSIONS: readonly ExtensionName[] = ['EXT_FTI', 'EXT_TIME'];

/** Upper bound on a description's size: a description is a few hundred bytes. */
export const MAX_SESSION_TEXT = 65_536;
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;
const SDP_PROTO = 'FCAST/ALC/UDP';
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253}):([0-9]{1,5})$/;
const KEY_RE = /^[A-Za-z0-9_-]{43}$/;

/** A flexicast endpoint: host:port, [v6]:port; port 1..65535. */
function checkEndpoint(v: unknown): string {
  if (typeof v !== 'string') bad('flexicast must be HOST:PORT or [V6]:PORT');
  const m = HOST_RE.exec(v);
  if (m === null || Number(m[1]) < 1 || Number(m[1]) > 65_535) bad('flexicast must be HOST:PORT or [V6]:PORT');
  if (v.startsWith('[') && isIP(v.slice(1, v.lastIndexOf(']'))) !== 6) bad('flexicast: bad IPv6 address');
  return v;
}

/** A raw 32-byte Ed25519 key in base64url without padding (43 characters, canonical). */
function checkKey(v: unknown): string {
  if (typeof v !== 'string' || !KEY_RE.test(v) || Buffer.from(v, 'base64url').toString('base64url') !== v) bad('senderKey must be 32 bytes of base64url');
  return v;
}

/** Path of the HTTP announce endpoint for a session (seed 002): `/.well-known/fcast/<name>.<ext>`. */
export function sessionUrlPath(name: string, ext: 'sdp' | 'json'): string {
  return `/.well-known/fcast/${name}.${ext}`;
}

function fail(detail: string): never {
  throw new RemoteProtocolError('SESSION_PARSE', detail);
}

function bad(detail: string): never {
  throw new RemoteProtocolError('SESSION_VALUE', detail);
}

function checkInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) bad(`${what} is not an integer`);
  // JSON allows "-0": an integer to Number.isInteger, yet it would not round-trip through SDP.
  if (Object.is(v, -0)) bad(`${what} is -0`);
  if (v < min || v > max) bad(`${what} ${v} outside ${min}..${max}`);
  return v;
}

function isMulticast(addr: string, family: AddressFamily): boolean {
  if (family === 'IP4') {
    const first = Number(addr.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return /^ff[0-9a-f]{2}:/i.test(addr);
}

function checkAddress(addr: unknown, family: AddressFamily, what: string): string {
  if (typeof addr !== 'string') bad(`${what} is not a string`);
  const v = isIP(addr);
  if (v !== (family === 'IP4' ? 4 : 6)) bad(`${what} ${addr} is not an ${family} address`);
  return addr;
}

/**
 * Check every rule of a description (types, ranges, addresses, unique channel numbers and
 * codepoints). Throws SESSION_VALUE on the first violation; returns a clean copy with only the
 * known fields, so JSON input with extra keys does not leak through.
 */
export function validateSession(input: unknown): SessionDescription {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) bad('description is not an object');
  const d = input as Record<string, unknown>;
  if (d.version !== 1) bad(`unsupported version ${String(d.version)}`);
  if (typeof d.name !== 'string' || !NAME_RE.test(d.name)) bad('name must match [A-Za-z0-9._-]{1,64}');
  const tsi = checkInt(d.tsi, 'tsi', 1, 0xffff_ffff);
  if (d.family !== 'IP4' && d.family !== 'IP6') bad('family must be IP4 or IP6');
  const family: AddressFamily = d.family;
  const source = d.source === undefined ? undefined : checkAddress(d.source, family, 'source');
  const ttl = checkInt(d.ttl, 'ttl', 0, 255);
  if (!Array.isArray(d.channels) || d.channels.length === 0 || d.channels.length > 256) bad('channels must be 1..256 entries');
  const channels = d.channels.map((c: unknown, i: number) => validateChannel(c, family, i));
  if (new Set(channels.map((c) => c.cn)).size !== channels.length) bad('duplicate channel number');
  if (!Array.isArray(d.fec) || d.fec.length === 0 || d.fec.length > 256) bad('fec must be 1..256 entries');
  const fec = d.fec.map((f: unknown, i: number) => validateFec(f, i));
  if (new Set(fec.map((f) => f.codepoint)).size !== fec.length) bad('duplicate codepoint');
  if (d.cci !== 'webrc-short') bad('cci must be webrc-short');
  const rate = validateRate(d.rate);
  if (d.mode !== 'push' && d.mode !== 'on-demand') bad('mode must be push or on-demand');
  const start = d.start === undefined ? undefined : checkInt(d.start, 'start', 0, 2 ** 40);
  const stop = d.stop === undefined ? undefined : checkInt(d.stop, 'stop', 0, 2 ** 40);
  if (start !== undefined && stop !== undefined && stop < start) bad('stop before start');
  const packetSize = checkInt(d.packetSize, 'packetSize', 64, 65_507);
  if (!Array.isArray(d.extensions)) bad('extensions must be a list');
  const extensions = d.extensions.map((e: unknown) => {
    if (!EXTENSIONS.includes(e as ExtensionName)) bad(`unknown extension ${String(e)}`);
    return e as ExtensionName;
  });
  if (d.auth !== 'none') bad('auth must be none');
  const flexicast = d.flexicast === undefined ? undefined : checkEndpoint(d.flexicast);
  const senderKey = d.senderKey === undefined ? undefined : checkKey(d.senderKey);
  if (flexicast !== undefined && senderKey === undefined) bad('flexicast needs senderKey');
  return {
    version: 1,
    name: d.name,
    tsi,
    family,
    ...(source === undefined ? {} : { source }),
    ttl,
    channels,
    fec,
    cci: 'webrc-short',
    rate,
    mode: d.mode,
    ...(start === undefined ? {} : { start }),
    ...(stop === undefined ? {} : { stop }),
    packetSize,
    extensions,
    auth: 'none',
    ...(flexicast === undefined ? {} : { flexicast }),
    ...(senderKey === undefined ? {} : { senderKey }),
  };
}

function validateChannel(input: unknown, family: AddressFamily, i: number): SessionChannel {
  if (typeof input !== 'object' || input === null) bad(`channel ${i} is not an object`);
  const c = input as Record<string, unknown>;
  const cn = checkInt(c.cn, `channel ${i} cn`, 0, 255);
  const group = checkAddress(c.group, family, `channel ${i} group`);
  if (!isMulticast(group, family)) bad(`channel ${i} group ${group} is not multicast`);
  const port = checkInt(c.port, `channel ${i} port`, 1, 65_535);
  return { cn, group, port };
}

function validateFec(input: unknown, i: number): SessionFec {
  if (typeof input !== 'object' || input === null) bad(`fec ${i} is not an object`);
  const f = input as Record<string, unknown>;
  const codepoint = checkInt(f.codepoint, `fec ${i} codepoint`, 0, 255);
  if (f.encodingId !== 0 && f.encodingId !== 3) bad(`fec ${i} encodingId must be 0 or 3`);
  const symbolSize = checkInt(f.symbolSize, `fec ${i} symbolSize`, 1, 65_535);
  const maxSourceBlockLength = checkInt(f.maxSourceBlockLength, `fec ${i} maxSourceBlockLength`, 1, 2 ** 20);
  if (f.encodingId === 0) {
    return { codepoint, encodingId: 0, symbolSize, maxSourceBlockLength };
  }
  const maxEncodingSymbols = checkInt(f.maxEncodingSymbols, `fec ${i} maxEncodingSymbols`, maxSourceBlockLength, 2 ** 20);
  const n1m3 = checkInt(f.n1m3, `fec ${i} n1m3`, 0, 7);
  const symbolsPerPacket = checkInt(f.symbolsPerPacket, `fec ${i} symbolsPerPacket`, 1, 31);
  return { codepoint, encodingId: 3, symbolSize, maxSourceBlockLength, maxEncodingSymbols, n1m3, symbolsPerPacket };
}

function validateRate(input: unknown): SessionRate {
  if (typeof input !== 'object' || input === null) bad('rate is not an object');
  const r = input as Record<string, unknown>;
  if (r.control !== 'fixed' && r.control !== 'webrc') bad('rate control must be fixed or webrc');
  const bitsPerSecond = checkInt(r.bitsPerSecond, 'rate bitsPerSecond', 1, 2 ** 48);
  if (r.params === undefined) return { control: r.control, bitsPerSecond };
  if (typeof r.params !== 'object' || r.params === null || Array.isArray(r.params)) bad('rate params is not an object');
  const params: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.params)) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(k)) bad(`rate parameter name ${k}`);
    if (typeof v !== 'number' || !Number.isFinite(v)) bad(`rate parameter ${k} is not a number`);
    params[k] = v;
  }
  return Object.keys(params).length === 0 ? { control: r.control, bitsPerSecond } : { control: r.control, bitsPerSecond, params };
}

// ---------------------------------------------------------------- JSON

/** The JSON form: the validated description, pretty-printed. */
export function encodeSessionJson(desc: SessionDescription): string {
  return `${JSON.stringify(validateSession(desc), null, 2)}\n`;
}

/** Parse and validate the JSON form. SESSION_PARSE for bad JSON, SESSION_VALUE for bad content. */
export function parseSessionJson(text: string): SessionDescription {
  if (text.length > MAX_SESSION_TEXT) fail(`description longer than ${MAX_SESSION_TEXT} characters`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    fail(`not JSON: ${(e as Error).message}`);
  }
  return validateSession(value);
}

// ---------------------------------------------------------------- SDP

function ntp(unix: number | undefined): string {
  return unix === undefined ? '0' : String(unix + NTP_UNIX_OFFSET);
}

function fecParams(f: SessionFec): string {
  const base = `E=${f.symbolSize};B=${f.maxSourceBlockLength}`;
  if (f.encodingId === 0) return base;
  return `${base};max-n=${f.maxEncodingSymbols};N1m3=${f.n1m3};G=${f.symbolsPerPacket}`;
}

/** Encode as SDP (CRLF line ends, RFC 4566 §5). Validates first. */
export function encodeSdp(input: SessionDescription): string {
  const d = validateSession(input);
  const origin = d.source ?? (d.family === 'IP4' ? '0.0.0.0' : '::');
  const cps = d.fec.map((f) => f.codepoint).join(' ');
  const lines = [
    'v=0',
    `o=- ${d.tsi} 1 IN ${d.family} ${origin}`,
    `s=${d.name}`,
    'i=FCAST file carousel (RFC 6968) over ALC/LCT (RFC 5775, RFC 5651)',
    `b=AS:${Math.max(1, Math.ceil(d.rate.bitsPerSecond / 1000))}`,
    `t=${ntp(d.start)} ${ntp(d.stop)}`,
    `a=fcast-session:${d.name}`,
    `a=fcast-tsi:${d.tsi}`,
    `a=fcast-mode:${d.mode}`,
    `a=fcast-cci:${d.cci}`,
    `a=fcast-rate:${d.rate.control} ${d.rate.bitsPerSecond}${rateParams(d.rate)}`,
    `a=fcast-packet:${d.packetSize}`,
    `a=fcast-ttl:${d.ttl}`,
    `a=fcast-ext:${d.extensions.join(',')}`,
    `a=fcast-auth:${d.auth}`,
    ...(d.flexicast === undefined ? [] : [`a=fcast-flexicast:${d.flexicast}`]),
    ...(d.senderKey === undefined ? [] : [`a=fcast-sender-key:${d.senderKey}`]),
  ];
  for (const f of d.fec) {
    lines.push(`a=FEC-declaration:${f.codepoint} encoding-id=${f.encodingId}`);
    lines.push(`a=fcast-fec:${f.codepoint} ${fecParams(f)}`);
  }
  for (const c of d.channels) {
    lines.push(`m=application ${c.port} ${SDP_PROTO} ${cps}`);
    lines.push(`c=IN ${d.family} ${c.group}${d.family === 'IP4' ? `/${d.ttl}` : ''}`);
    lines.push(`a=fcast-cn:${c.cn}`);
    if (d.source !== undefined) lines.push(`a=source-filter: incl IN ${d.family} ${c.group} ${d.source}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

function rateParams(r: SessionRate): string {
  if (r.params === undefined || Object.keys(r.params).length === 0) return '';
  return ` ${Object.entries(r.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(';')}`;
}

/** A decimal integer field of SDP text, or SESSION_PARSE. */
function dec(s: string | undefined, what: string): number {
  if (s === undefined || !/^[0-9]{1,15}$/.test(s)) fail(`${what}: not a decimal number: ${String(s)}`);
  return Number(s);
}

/** key=value;key=value -> map, strict. */
function kvList(s: string, what: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of s.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) fail(`${what}: bad parameter ${part}`);
    const k = part.slice(0, eq).trim();
    if (m.has(k)) fail(`${what}: parameter ${k} repeated`);
    m.set(k, part.slice(eq + 1).trim());
  }
  return m;
}

interface MediaSection {
  port: number;
  group?: string;
  ttl?: number;
  cn?: number;
  sourceFilter?: { group: string; source: string };
}

interface SessionLevel {
  name?: string;
  tsi?: number;
  mode?: string;
  cci?: string;
  rate?: SessionRate;
  packetSize?: number;
  ttl?: number;
  extensions?: string[];
  auth?: string;
  flexicast?: string;
  senderKey?: string;
  family?: string;
  start?: number;
  stop?: number;
  declarations: Map<number, number>;
  fecParams: Map<number, Map<string, string>>;
}

/**
 * Parse the SDP form (RFC 4566). Accepts CRLF or LF line ends (§5 allows LF-only parsers).
 * Required: v=0 first, o=, s=, t=, a=fcast-tsi, a=fcast-mode, a=fcast-rate, at least one m=
 * section with c= and a=fcast-cn, a FEC-declaration and fcast-fec for each codepoint in m=.
 */
export function parseSdp(text: string): SessionDescription {
  if (text.length > MAX_SESSION_TEXT) fail(`description longer than ${MAX_SESSION_TEXT} characters`);
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'v=0') fail('first line must be v=0');
  const s: SessionLevel = { declarations: new Map(), fecParams: new Map() };
  const media: MediaSection[] = [];
  let mediaCps: number[] | undefined;
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /^([a-z])=(.*)$/.exec(line);
    if (m === null) fail(`line ${i + 1}: not type=value`);
    const type = m[1]!;
    const value = m[2]!;
    const current = media[media.length - 1];
    if (type === 'm') {
      const parts = value.split(' ');
      if (parts.length < 4 || parts[0] !== 'application' || parts[2] !== SDP_PROTO) fail(`line ${i + 1}: m= must be "application <port> ${SDP_PROTO} <cp>..."`);
      const cps = parts.slice(3).map((p) => dec(p, `line ${i + 1} codepoint`));
      if (mediaCps !== undefined && cps.join(' ') !== mediaCps.join(' ')) fail(`line ${i + 1}: every m= line must list the same codepoints`);
      mediaCps = cps;
      media.push({ port: dec(parts[1], `line ${i + 1} port`) });
    } else if (type === 'c') {
      if (current === undefined) continue; // session-level c= is allowed but each channel carries its own
      if (current.group !== undefined) fail(`line ${i + 1}: second c= in one m= section`);
      parseConnection(value, current, s, i);
    } else if (type === 'a') {
      parseAttribute(value, current, s, seen, i);
    } else if (current === undefined) {
      parseSessionLine(type, value, s, seen, i);
    }
  }
  return assemble(s, media, mediaCps);
}

function once(seen: Set<string>, key: string, i: number): void {
  if (seen.has(key)) fail(`line ${i + 1}: ${key} repeated`);
  seen.add(key);
}

function parseSessionLine(type: string, value: string, s: SessionLevel, seen: Set<string>, i: number): void {
  switch (type) {
    case 'o': {
      once(seen, 'o=', i);
      const parts = value.split(' ');
      if (parts.length !== 6 || parts[3] !== 'IN' || (parts[4] !== 'IP4' && parts[4] !== 'IP6')) fail(`line ${i + 1}: bad o= line`);
      s.family = parts[4];
      return;
    }
    case 's':
      once(seen, 's=', i);
      return;
    case 't': {
      once(seen, 't=', i);
      const [a, b, extra] = value.split(' ');
      if (extra !== undefined) fail(`line ${i + 1}: bad t= line`);
      const start = dec(a, 't= start');
      const stop = dec(b, 't= stop');
      if (start !== 0) s.start = start - NTP_UNIX_OFFSET;
      if (stop !== 0) s.stop = stop - NTP_UNIX_OFFSET;
      return;
    }
    default:
      return; // i=, b=, u=, e=, p=, z=, k= at session level: informative here
  }
}

function parseConnection(value: string, media: MediaSection, s: SessionLevel, i: number): void {
  const parts = value.split(' ');
  if (parts.length !== 3 || parts[0] !== 'IN' || (parts[1] !== 'IP4' && parts[1] !== 'IP6')) fail(`line ${i + 1}: bad c= line`);
  if (s.family !== undefined && parts[1] !== s.family) fail(`line ${i + 1}: c= family differs from o=`);
  const [group, ttl, extra] = parts[2]!.split('/');
  if (extra !== undefined) fail(`line ${i + 1}: address ranges are not supported in c=`);
  media.group = group;
  if (ttl !== undefined) media.ttl = dec(ttl, 'c= ttl');
}

/** Session-level attributes that appear once and set one field (unknown ones are ignored, RFC 4566 §5.13). */
const SESSION_ATTRIBUTES: ReadonlyMap<string, (s: SessionLevel, arg: string, i: number) => void> = new Map([
  ['fcast-session', (s, arg) => void (s.name = arg)],
  ['fcast-tsi', (s, arg) => void (s.tsi = dec(arg, 'fcast-tsi'))],
  ['fcast-mode', (s, arg) => void (s.mode = arg)],
  ['fcast-cci', (s, arg) => void (s.cci = arg)],
  ['fcast-packet', (s, arg) => void (s.packetSize = dec(arg, 'fcast-packet'))],
  ['fcast-ttl', (s, arg) => void (s.ttl = dec(arg, 'fcast-ttl'))],
  ['fcast-auth', (s, arg) => void (s.auth = arg)],
  ['fcast-flexicast', (s, arg) => void (s.flexicast = arg)],
  ['fcast-sender-key', (s, arg) => void (s.senderKey = arg)],
  ['fcast-ext', (s, arg) => void (s.extensions = arg === '' ? [] : arg.split(','))],
  ['fcast-rate', (s, arg, i) => void (s.rate = parseRate(arg, i))],
]);

function parseAttribute(value: string, media: MediaSection | undefined, s: SessionLevel, seen: Set<string>, i: number): void {
  const colon = value.indexOf(':');
  const name = colon < 0 ? value : value.slice(0, colon);
  const arg = colon < 0 ? '' : value.slice(colon + 1);
  if (media !== undefined) {
    if (name === 'fcast-cn') {
      if (media.cn !== undefined) fail(`line ${i + 1}: fcast-cn repeated`);
      media.cn = dec(arg, 'fcast-cn');
    } else if (name === 'source-filter') {
      const p = arg.trim().split(/\s+/);
      if (p.length !== 5 || p[0] !== 'incl' || p[1] !== 'IN') fail(`line ${i + 1}: bad source-filter`);
      if (media.sourceFilter !== undefined) fail(`line ${i + 1}: source-filter repeated`);
      media.sourceFilter = { group: p[3]!, source: p[4]! };
    }
    return;
  }
  const setter = SESSION_ATTRIBUTES.get(name);
  if (setter !== undefined) {
    once(seen, name, i);
    setter(s, arg, i);
    return;
  }
  switch (name) {
    case 'FEC-declaration': {
      const m = /^([0-9]{1,3}) encoding-id=([0-9]{1,3})$/.exec(arg);
      if (m === null) fail(`line ${i + 1}: bad FEC-declaration`);
      const cp = Number(m[1]);
      if (s.declarations.has(cp)) fail(`line ${i + 1}: codepoint ${cp} declared twice`);
      s.declarations.set(cp, Number(m[2]));
      return;
    }
    case 'fcast-fec': {
      const m = /^([0-9]{1,3}) (\S+)$/.exec(arg);
      if (m === null) fail(`line ${i + 1}: bad fcast-fec`);
      const cp = Number(m[1]);
      if (s.fecParams.has(cp)) fail(`line ${i + 1}: fcast-fec for codepoint ${cp} twice`);
      s.fecParams.set(cp, kvList(m[2]!, 'fcast-fec'));
      return;
    }
    default:
      return; // unknown attribute: ignored (RFC 4566 §5.13)
  }
}

function parseRate(arg: string, i: number): SessionRate {
  const m = /^([a-z]+) ([0-9]{1,15})(?: (\S+))?$/.exec(arg);
  if (m === null) fail(`line ${i + 1}: bad fcast-rate`);
  const control = m[1]!;
  if (control !== 'fixed' && control !== 'webrc') bad(`rate control ${control}`);
  const bitsPerSecond = Number(m[2]);
  if (m[3] === undefined) return { control, bitsPerSecond };
  const params: Record<string, number> = {};
  for (const [k, v] of kvList(m[3], 'fcast-rate')) {
    if (!/^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$/i.test(v)) fail(`line ${i + 1}: rate parameter ${k} is not a number`);
    params[k] = Number(v);
  }
  // No parameters and an empty list are the same description: one form, so both encodings round-trip.
  return Object.keys(params).length === 0 ? { control, bitsPerSecond } : { control, bitsPerSecond, params };
}

function fecFromSdp(cp: number, s: SessionLevel): Record<string, unknown> {
  const encodingId = s.declarations.get(cp);
  const p = s.fecParams.get(cp);
  if (encodingId === undefined || p === undefined) fail(`codepoint ${cp} has no FEC-declaration or fcast-fec`);
  const num = (k: string): number | undefined => (p.has(k) ? dec(p.get(k), `fcast-fec ${k}`) : undefined);
  return {
    codepoint: cp,
    encodingId,
    symbolSize: num('E'),
    maxSourceBlockLength: num('B'),
    maxEncodingSymbols: num('max-n'),
    n1m3: num('N1m3'),
    symbolsPerPacket: num('G'),
  };
}

function assemble(s: SessionLevel, media: MediaSection[], cps: number[] | undefined): SessionDescription {
  for (const key of ['family', 'tsi', 'mode', 'rate', 'packetSize', 'name'] as const) {
    if (s[key] === undefined) fail(`missing ${key === 'family' ? 'o=' : `a=fcast-${key === 'packetSize' ? 'packet' : key === 'name' ? 'session' : key}`}`);
  }
  if (media.length === 0 || cps === undefined) fail('no m= section');
  let source: string | undefined;
  let ttl: number | undefined;
  const channels = media.map((m, idx) => {
    if (m.group === undefined) fail(`m= section ${idx + 1} has no c= line`);
    if (m.cn === undefined) fail(`m= section ${idx + 1} has no a=fcast-cn`);
    if (m.ttl !== undefined) {
      if (ttl !== undefined && ttl !== m.ttl) bad('channels disagree on the TTL');
      ttl = m.ttl;
    }
    if (m.sourceFilter !== undefined) {
      if (m.sourceFilter.group !== m.group) bad(`source-filter group ${m.sourceFilter.group} differs from c= ${m.group}`);
      if (source !== undefined && source !== m.sourceFilter.source) bad('channels disagree on the source');
      source = m.sourceFilter.source;
    }
    return { cn: m.cn, group: m.group, port: m.port };
  });
  const filtered = media.filter((m) => m.sourceFilter !== undefined).length;
  if (filtered !== 0 && filtered !== media.length) bad('source-filter on some channels only');
  if (s.ttl !== undefined) {
    if (ttl !== undefined && ttl !== s.ttl) bad('a=fcast-ttl differs from the c= TTL');
    ttl = s.ttl;
  }
  return validateSession({
    version: 1,
    name: s.name,
    tsi: s.tsi,
    family: s.family,
    ...(source === undefined ? {} : { source }),
    ttl: ttl ?? 0,
    channels,
    fec: cps.map((cp) => fecFromSdp(cp, s)),
    cci: s.cci,
    rate: s.rate,
    mode: s.mode,
    ...(s.start === undefined ? {} : { start: s.start }),
    ...(s.stop === undefined ? {} : { stop: s.stop }),
    packetSize: s.packetSize,
    extensions: s.extensions ?? [],
    auth: s.auth,
    ...(s.flexicast === undefined ? {} : { flexicast: s.flexicast }),
    ...(s.senderKey === undefined ? {} : { senderKey: s.senderKey }),
  });
}

/** Parse either form: JSON when the first non-blank character is `{`, SDP otherwise. */
export function parseSession(text: string): SessionDescription {
  return text.trimStart().startsWith('{') ? parseSessionJson(text) : parseSdp(text);
}
