// Flexicast control protocol: the frames a sender and a receiver exchange over the receiver's
// QUIC connection (issue 6; design after the Flexicast QUIC frames MC_ANNOUNCE / MC_KEY /
// MC_STATE, research/quic.md §2.1 and §3.2). Our frames travel on QUIC streams, not inside QUIC
// packets, so each one is length-prefixed:
//
//   frame  = version u8 (2) | type u8 | body length u32 | body
//   ANNOUNCE (1) flow id u32, TSI u48, cipher u8, source addr, channel count u8,
//                channels (addr, port u16)*,
//                FC-msg mode u8 (0 off, 1 on, 2 auto), flow endpoint addr, flow port u16
//                (the sender's UDP endpoint for FC-msg HELLOs; port 0 exactly when the mode is off),
//                FEC encoding id u8, FEC instance id u16, symbol size u16,
//                max source block length u32, max encoding symbols u32, rate b/s u48 (0 = WEBRC),
//                report interval ms u32, D_fb ms u32
//   KEY      (2) flow id u32, epoch u32, secret length u8 (32), secret
//   STATE    (3) flow id u32, action u8 (JOIN 1, LISTENING 2, LEAVE 3, FALLBACK 4, RETURN 5),
//                origin u8 (0 receiver, 1 sender)
//   REPORT   (4) flow id u32, report seq u32, channel count u8, flow packets seen u48 per channel,
//                block count u16, (TOI u48, SBN u32, symbols needed u32, unicast received u32)*,
//                completed count u16, (TOI u48, digest length u8 (0..64), digest)*
//   DATA     (5) TOI u48, SBN u32, ESI u32, encoding symbol (rest of the body, 1..65535 bytes);
//                fcast's shells carry the whole ALC packet of that symbol here (EXT_FTI included,
//                src/net/flex-sender.ts), so a receiver that never heard the flow learns each OTI
//   addr     = family u8 (4 | 6) then 4 or 16 bytes
//
// Version 2 added the FC-msg mode and the endpoint address (version 1 had only the flow port);
// a peer of another version is refused with FLEX_VERSION, never misread.
// Every length is checked before anything is allocated from it; a body must be consumed exactly.
// Bad input throws RemoteProtocolError with a FLEX_* (or WIRE_TRUNCATED) code, nothing else.

import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { Reader, Writer } from './cursor.js';

export const FLEX_VERSION = 2;
export const FLEX_HEADER_BYTES = 6;
/** Largest body either side sends or accepts (a REPORT of 50 000 blocks fits); nothing bigger is buffered. */
export const FLEX_MAX_BODY = 1 << 20;
export const FLEX_SECRET_BYTES = 32;
export const FLEX_MAX_DIGEST = 64;
export const FLEX_MAX_SYMBOL = 0xffff;

/** Shared-flow cipher ids: 1 = AES-256-GCM with HKDF-SHA256 epoch keys (src/flexicast/flow-crypto.ts). */
export const FLOW_CIPHER_AES256GCM = 1;

export const FrameType = { Announce: 1, Key: 2, State: 3, Report: 4, Data: 5 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export type StateAction = 'join' | 'listening' | 'leave' | 'fallback' | 'return';
const ACTIONS: readonly StateAction[] = ['join', 'listening', 'leave', 'fallback', 'return'];

/**
 * FC-msg (seed's sendmmsg mode): the sender copies each sealed flow packet to receivers by unicast
 * UDP. 'on': always (receivers join no multicast); 'auto': only while no receiver gets the flow by
 * multicast (receivers join the groups and register for copies too); 'off': never.
 */
export type FcMsgMode = 'off' | 'on' | 'auto';
const FC_MSG_MODES: readonly FcMsgMode[] = ['off', 'on', 'auto'];

export interface ChannelAddress {
  readonly address: string;
  readonly port: number;
}

export interface AnnounceMessage {
  readonly kind: 'announce';
  readonly flowId: number;
  readonly tsi: number;
  readonly cipher: number;
  readonly source: string;
  readonly channels: readonly ChannelAddress[];
  readonly fcMsg: FcMsgMode;
  /** Where receivers send FC-msg HELLOs (address, port); port 0 when fcMsg is 'off'. */
  readonly flowAddress: string;
  readonly flowPort: number;
  readonly fecEncodingId: number;
  readonly fecInstanceId: number;
  readonly symbolSize: number;
  readonly maxSourceBlockLength: number;
  readonly maxEncodingSymbols: number;
  readonly rateBps: number;
  readonly reportIntervalMs: number;
  readonly dFbMs: number;
}

export interface KeyMessage {
  readonly kind: 'key';
  readonly flowId: number;
  readonly epoch: number;
  readonly secret: Uint8Array;
}

export interface StateMessage {
  readonly kind: 'state';
  readonly flowId: number;
  readonly action: StateAction;
  readonly origin: 'receiver' | 'sender';
}

export interface BlockNeed {
  readonly toi: number;
  readonly sbn: number;
  readonly needed: number;
  /**
   * Symbols of this block received by unicast DATA so far (cumulative). With the sender's count of
   * symbols granted it gives exactly what is still in flight, whatever the delays.
   */
  readonly received: number;
}

export interface CompletedObject {
  readonly toi: number;
  readonly digest: Uint8Array;
}

export interface ReportMessage {
  readonly kind: 'report';
  readonly flowId: number;
  readonly seq: number;
  /** Cumulative count of flow packets seen, per channel in ANNOUNCE order. */
  readonly packetsSeen: readonly number[];
  readonly needs: readonly BlockNeed[];
  readonly completed: readonly CompletedObject[];
}

export interface DataMessage {
  readonly kind: 'data';
  readonly toi: number;
  readonly sbn: number;
  readonly esi: number;
  readonly symbol: Uint8Array;
}

export type FlexMessage = AnnounceMessage | KeyMessage | StateMessage | ReportMessage | DataMessage;

type FlexWireCode = 'FLEX_VALUE' | 'FLEX_LENGTH' | 'FLEX_TYPE' | 'FLEX_VERSION';

function bad(code: FlexWireCode, detail: string): never {
  throw new RemoteProtocolError(code, detail);
}

/** Encoding something we would reject is our own caller's mistake, decoding it the peer's. */
function fail(local: boolean, code: FlexWireCode, detail: string): never {
  if (local) throw new LocalProtocolError(code, detail);
  return bad(code, detail);
}

// ---- addresses ------------------------------------------------------------------------------

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || (halves.length === 2 && fill < 1)) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Address text -> bytes; undefined when it is neither dotted IPv4 nor IPv6 text. */
export function addressBytes(address: string): Uint8Array | undefined {
  return address.includes(':') ? parseIpv6(address) : parseIpv4(address);
}

function formatAddress(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}

function readAddress(r: Reader): string {
  const family = r.u8();
  if (family !== 4 && family !== 6) bad('FLEX_VALUE', `address family ${family}`);
  return formatAddress(r.bytes(family === 4 ? 4 : 16));
}

function writeAddress(w: Writer, address: string): void {
  const b = addressBytes(address);
  if (b === undefined) throw new LocalProtocolError('FLEX_VALUE', `not an IP address: ${address}`);
  w.u8(b.length === 4 ? 4 : 6);
  w.bytes(b);
}

function addressSize(address: string): number {
  return address.includes(':') ? 17 : 5;
}

// ---- sizes ----------------------------------------------------------------------------------

function bodySize(m: FlexMessage): number {
  switch (m.kind) {
    case 'announce':
      return 4 + 6 + 1 + addressSize(m.source) + 1 +
        m.channels.reduce((n, c) => n + addressSize(c.address) + 2, 0) + 1 + addressSize(m.flowAddress) + 2 + 1 + 2 + 2 + 4 + 4 + 6 + 4 + 4;
    case 'key':
      return 4 + 4 + 1 + m.secret.length;
    case 'state':
      return 4 + 1 + 1;
    case 'report':
      return 4 + 4 + 1 + 6 * m.packetsSeen.length + 2 + 18 * m.needs.length + 2 +
        m.completed.reduce((n, c) => n + 7 + c.digest.length, 0);
    case 'data':
      return 6 + 4 + 4 + m.symbol.length;
  }
}

/** Bytes `encodeFrameInto` writes for `m`. */
export function frameSize(m: FlexMessage): number {
  return FLEX_HEADER_BYTES + bodySize(m);
}

// ---- encoding -------------------------------------------------------------------------------

const TYPE_OF: Record<FlexMessage['kind'], number> = {
  announce: FrameType.Announce,
  key: FrameType.Key,
  state: FrameType.State,
  report: FrameType.Report,
  data: FrameType.Data,
};

function checkCount(n: number, max: number, what: string): void {
  if (n > max) throw new LocalProtocolError('FLEX_VALUE', `${what} count ${n} exceeds ${max}`);
}

function writeBody(w: Writer, m: FlexMessage): void {
  switch (m.kind) {
    case 'announce':
      checkCount(m.channels.length, 255, 'channel');
      w.u32(m.flowId);
      w.u48(m.tsi);
      w.u8(m.cipher);
      writeAddress(w, m.source);
      w.u8(m.channels.length);
      for (const c of m.channels) {
        writeAddress(w, c.address);
        w.u16(c.port);
      }
      w.u8(FC_MSG_MODES.indexOf(m.fcMsg));
      writeAddress(w, m.flowAddress);
      w.u16(m.flowPort);
      w.u8(m.fecEncodingId);
      w.u16(m.fecInstanceId);
      w.u16(m.symbolSize);
      w.u32(m.maxSourceBlockLength);
      w.u32(m.maxEncodingSymbols);
      w.u48(m.rateBps);
      w.u32(m.reportIntervalMs);
      w.u32(m.dFbMs);
      return;
    case 'key':
      w.u32(m.flowId);
      w.u32(m.epoch);
      w.u8(m.secret.length);
      w.bytes(m.secret);
      return;
    case 'state':
      w.u32(m.flowId);
      w.u8(ACTIONS.indexOf(m.action) + 1);
      w.u8(m.origin === 'receiver' ? 0 : 1);
      return;
    case 'report':
      checkCount(m.packetsSeen.length, 255, 'channel');
      checkCount(m.needs.length, 0xffff, 'block');
      checkCount(m.completed.length, 0xffff, 'completed object');
      w.u32(m.flowId);
      w.u32(m.seq);
      w.u8(m.packetsSeen.length);
      for (const n of m.packetsSeen) w.u48(n);
      w.u16(m.needs.length);
      for (const b of m.needs) {
        w.u48(b.toi);
        w.u32(b.sbn);
        w.u32(b.needed);
        w.u32(b.received);
      }
      w.u16(m.completed.length);
      for (const c of m.completed) {
        w.u48(c.toi);
        w.u8(c.digest.length);
        w.bytes(c.digest);
      }
      return;
    case 'data':
      w.u48(m.toi);
      w.u32(m.sbn);
      w.u32(m.esi);
      w.bytes(m.symbol);
      return;
  }
}

/**
 * Encode `m` into `buf` at `offset`; returns the bytes written (`frameSize(m)`). Values outside
 * the protocol's ranges throw (FLEX_VALUE or WIRE_VALUE), so we never send what we would reject.
 */
export function encodeFrameInto(m: FlexMessage, buf: Uint8Array, offset = 0): number {
  validate(m, true);
  const body = bodySize(m);
  if (body > FLEX_MAX_BODY) throw new LocalProtocolError('FLEX_LENGTH', `${m.kind} body of ${body} bytes`);
  const w = new Writer(buf, offset);
  w.u8(FLEX_VERSION);
  w.u8(TYPE_OF[m.kind]);
  w.u32(body);
  writeBody(w, m);
  return w.offset - offset;
}

/** Encode `m` into a new buffer of exactly `frameSize(m)` bytes. */
export function encodeFrame(m: FlexMessage): Uint8Array {
  const out = new Uint8Array(frameSize(m));
  encodeFrameInto(m, out, 0);
  return out;
}

// ---- validation shared by both directions ---------------------------------------------------

function validate(m: FlexMessage, local: boolean): void {
  const no = (detail: string): never => fail(local, 'FLEX_VALUE', detail);
  switch (m.kind) {
    case 'announce':
      if (m.channels.length < 1) no('ANNOUNCE without channels');
      if (m.cipher !== FLOW_CIPHER_AES256GCM) no(`cipher ${m.cipher}`);
      if (m.symbolSize < 1) no('symbol size 0');
      if (m.maxSourceBlockLength < 1) no('max source block length 0');
      if (m.maxEncodingSymbols < m.maxSourceBlockLength) no('max encoding symbols below block length');
      if (m.reportIntervalMs < 1 || m.dFbMs < 1) no('report interval and D_fb must be positive');
      if (!FC_MSG_MODES.includes(m.fcMsg)) no(`FC-msg mode ${String(m.fcMsg)}`);
      if ((m.fcMsg === 'off') !== (m.flowPort === 0)) no(`FC-msg ${m.fcMsg} with flow port ${m.flowPort}`);
      return;
    case 'key':
      if (m.secret.length !== FLEX_SECRET_BYTES) no(`flow secret of ${m.secret.length} bytes`);
      return;
    case 'state':
      if (!ACTIONS.includes(m.action)) no(`state action ${String(m.action)}`);
      return;
    case 'report':
      for (const c of m.completed) {
        if (c.digest.length > FLEX_MAX_DIGEST) no(`digest of ${c.digest.length} bytes`);
      }
      return;
    case 'data':
      if (m.symbol.length < 1 || m.symbol.length > FLEX_MAX_SYMBOL) no(`symbol of ${m.symbol.length} bytes`);
      return;
  }
}

// ---- decoding -------------------------------------------------------------------------------

function readAnnounce(r: Reader): AnnounceMessage {
  const flowId = r.u32();
  const tsi = r.u48();
  const cipher = r.u8();
  const source = readAddress(r);
  const count = r.u8();
  const channels: ChannelAddress[] = [];
  for (let i = 0; i < count; i++) {
    const address = readAddress(r);
    channels.push({ address, port: r.u16() });
  }
  const mode = r.u8();
  if (mode >= FC_MSG_MODES.length) bad('FLEX_VALUE', `FC-msg mode ${mode}`);
  return {
    kind: 'announce', flowId, tsi, cipher, source, channels,
    fcMsg: FC_MSG_MODES[mode]!,
    flowAddress: readAddress(r),
    flowPort: r.u16(),
    fecEncodingId: r.u8(),
    fecInstanceId: r.u16(),
    symbolSize: r.u16(),
    maxSourceBlockLength: r.u32(),
    maxEncodingSymbols: r.u32(),
    rateBps: r.u48(),
    reportIntervalMs: r.u32(),
    dFbMs: r.u32(),
  };
}

function readReport(r: Reader): ReportMessage {
  const flowId = r.u32();
  const seq = r.u32();
  const channels = r.u8();
  const packetsSeen: number[] = [];
  for (let i = 0; i < channels; i++) packetsSeen.push(r.u48());
  const blocks = r.u16();
  // Each block entry is 18 bytes: refuse a count the body cannot hold before looping on it.
  if (blocks * 18 > r.remaining) bad('FLEX_LENGTH', `${blocks} blocks in ${r.remaining} bytes`);
  const needs: BlockNeed[] = [];
  for (let i = 0; i < blocks; i++) needs.push({ toi: r.u48(), sbn: r.u32(), needed: r.u32(), received: r.u32() });
  const done = r.u16();
  if (done * 7 > r.remaining) bad('FLEX_LENGTH', `${done} completed objects in ${r.remaining} bytes`);
  const completed: CompletedObject[] = [];
  for (let i = 0; i < done; i++) {
    const toi = r.u48();
    const len = r.u8();
    if (len > FLEX_MAX_DIGEST) bad('FLEX_VALUE', `digest of ${len} bytes`);
    completed.push({ toi, digest: r.bytes(len) });
  }
  return { kind: 'report', flowId, seq, packetsSeen, needs, completed };
}

function readBody(type: number, r: Reader): FlexMessage {
  switch (type) {
    case FrameType.Announce:
      return readAnnounce(r);
    case FrameType.Key: {
      const flowId = r.u32();
      const epoch = r.u32();
      return { kind: 'key', flowId, epoch, secret: r.bytes(r.u8()) };
    }
    case FrameType.State: {
      const flowId = r.u32();
      const a = r.u8();
      const o = r.u8();
      if (a < 1 || a > ACTIONS.length) bad('FLEX_VALUE', `state action ${a}`);
      if (o > 1) bad('FLEX_VALUE', `state origin ${o}`);
      return { kind: 'state', flowId, action: ACTIONS[a - 1]!, origin: o === 0 ? 'receiver' : 'sender' };
    }
    case FrameType.Report:
      return readReport(r);
    case FrameType.Data: {
      const toi = r.u48();
      const sbn = r.u32();
      const esi = r.u32();
      return { kind: 'data', toi, sbn, esi, symbol: r.rest() };
    }
    default:
      return bad('FLEX_TYPE', `frame type ${type}`);
  }
}

/** Check a frame header; returns [type, body length]. */
function readHeader(r: Reader): [number, number] {
  const version = r.u8();
  if (version !== FLEX_VERSION) bad('FLEX_VERSION', `version ${version}`);
  const type = r.u8();
  if (type < FrameType.Announce || type > FrameType.Data) bad('FLEX_TYPE', `frame type ${type}`);
  const length = r.u32();
  if (length > FLEX_MAX_BODY) bad('FLEX_LENGTH', `body of ${length} bytes`);
  return [type, length];
}

/**
 * Decode one whole frame that fills `buf` exactly. Views into `buf` (secret, digests, symbol)
 * are not copied: copy them if `buf` is reused.
 */
export function decodeFrame(buf: Uint8Array): FlexMessage {
  const r = new Reader(buf);
  const [type, length] = readHeader(r);
  if (length !== r.remaining) bad('FLEX_LENGTH', `body length ${length}, ${r.remaining} bytes follow`);
  const m = readBody(type, r);
  if (r.remaining !== 0) bad('FLEX_LENGTH', `${r.remaining} bytes after the ${m.kind} body`);
  validate(m, false);
  return m;
}

/**
 * Reassembles frames from a QUIC stream's byte chunks (push in, poll out). A bad header throws
 * at once, before the body is buffered, so a peer cannot make us hold more than FLEX_MAX_BODY.
 * After a throw the stream is out of sync: the caller must drop it.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** Bytes held but not yet returned as frames. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or undefined when more bytes are needed. */
  poll(): FlexMessage | undefined {
    if (this.buffered < FLEX_HEADER_BYTES) return undefined;
    const [, length] = readHeader(new Reader(this.take(FLEX_HEADER_BYTES, false)));
    const total = FLEX_HEADER_BYTES + length;
    if (this.buffered < total) return undefined;
    return decodeFrame(this.take(total, true));
  }

  /** The first `n` buffered bytes as one contiguous array; consumed when `consume`. */
  private take(n: number, consume: boolean): Uint8Array {
    const first = this.chunks[0]!;
    let out: Uint8Array;
    if (first.length >= n) {
      out = first.subarray(0, n);
    } else {
      out = new Uint8Array(n);
      let off = 0;
      for (const c of this.chunks) {
        const k = Math.min(c.length, n - off);
        out.set(c.subarray(0, k), off);
        off += k;
        if (off === n) break;
      }
    }
    if (consume) this.drop(n);
    return out;
  }

  private drop(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }
}
