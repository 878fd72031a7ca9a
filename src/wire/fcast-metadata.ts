// FCAST object metadata (RFC 6968 §2.1, §3.3, §4.1; SPEC-NOTES §5.2): HTTP/1.1-style
// `TYPE ":" VALUE CRLF` lines in UTF-8, in any order, not NUL-terminated (MDFmt 0).
//
// Typed items: Content-Location, Content-Length, Content-Type, Content-Encoding (gzip only),
// Fcast-Obj-Digest-SHA256 / -SHA1 (base64), the three Fcast-Obj-Slice-* items,
// Fcast-CID-Complete, Fcast-CID-ID, and our extension (SPEC-NOTES §0, ours):
//   Fcast-Obj-Mtime: <integer seconds since the Unix epoch>
//   Fcast-Obj-Mode:  <octal permission bits, at most 0o7777>
// Other items are kept, in order, in `extra`. Names are matched case-insensitively (HTTP); a
// typed item given twice is rejected because the two values could disagree.
//
// Errors (SPEC-NOTES §7 rows 26, 27, 30, 31): FCAST_METADATA (not UTF-8, a line without `:` or
// CRLF, a bad number or digest, a duplicate), FCAST_CONTENT_ENCODING (not gzip), FCAST_SLICE
// (slice items partly present, Idx ≥ Nb), CID_LIST (Fcast-CID-Complete not 0 or 1).
// The Content-Location value is returned as sent; content-location.ts turns it into a path.

import { Buffer } from 'node:buffer';
import { LocalProtocolError, RemoteProtocolError } from '../errors.js';

export interface MetadataItem {
  readonly name: string;
  readonly value: string;
}

export interface SliceInfo {
  /** Fcast-Obj-Slice-Nb: number of slices (≥ 1). */
  readonly nb: number;
  /** Fcast-Obj-Slice-Idx: 0 … nb − 1. */
  readonly idx: number;
  /** Fcast-Obj-Slice-Offset: where this slice starts in the original object. */
  readonly offset: number;
}

/** Metadata to encode: every item optional. */
export interface FcastMetadataInit {
  readonly contentLocation?: string;
  /** Size of the object before content encoding, header excluded. */
  readonly contentLength?: number;
  readonly contentType?: string;
  readonly contentEncoding?: 'gzip';
  readonly digestSha256?: Uint8Array;
  readonly digestSha1?: Uint8Array;
  readonly slice?: SliceInfo;
  readonly cidComplete?: boolean;
  readonly cidId?: number;
  /** Fcast-Obj-Mtime: seconds since the Unix epoch (ours). */
  readonly mtime?: number;
  /** Fcast-Obj-Mode: permission bits (ours). */
  readonly mode?: number;
  readonly extra?: readonly MetadataItem[];
}

/** Decoded metadata: `extra` always present. */
export interface FcastMetadata extends FcastMetadataInit {
  readonly extra: readonly MetadataItem[];
}

const N = {
  location: 'content-location',
  length: 'content-length',
  type: 'content-type',
  encoding: 'content-encoding',
  sha256: 'fcast-obj-digest-sha256',
  sha1: 'fcast-obj-digest-sha1',
  sliceNb: 'fcast-obj-slice-nb',
  sliceIdx: 'fcast-obj-slice-idx',
  sliceOffset: 'fcast-obj-slice-offset',
  cidComplete: 'fcast-cid-complete',
  cidId: 'fcast-cid-id',
  mtime: 'fcast-obj-mtime',
  mode: 'fcast-obj-mode',
} as const;
const KNOWN: ReadonlySet<string> = new Set(Object.values(N));

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// A value may hold HTAB but no other control character (no CR or LF smuggling).
// eslint-disable-next-line no-control-regex
const BAD_VALUE_CHAR = /[\u0000-\u0008\u000a-\u001f\u007f]/;
const UINT = /^[0-9]{1,20}$/;
const INT = /^-?[0-9]{1,20}$/;
const OCTAL = /^[0-7]{1,6}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextEncoder();

function bad(detail: string): never {
  throw new RemoteProtocolError('FCAST_METADATA', detail);
}

function uint(name: string, value: string): number {
  const v = UINT.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(v)) bad(`${name}: "${value}" is not an unsigned integer below 2^53`);
  return v;
}

function digest(name: string, value: string, bytes: number): Uint8Array {
  if (value.length % 4 !== 0 || !BASE64.test(value)) bad(`${name} is not base64`);
  const out = new Uint8Array(Buffer.from(value, 'base64'));
  if (out.length !== bytes) bad(`${name} holds ${out.length} bytes, not ${bytes}`);
  return out;
}

/** Strip HTTP optional whitespace (SP, HTAB) at both ends; a loop, not a backtracking regex. */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === ' ' || s[a] === '\t')) a++;
  while (b > a && (s[b - 1] === ' ' || s[b - 1] === '\t')) b--;
  return s.slice(a, b);
}

/** Split the text into [name, value] pairs: every line ends in CRLF and has a token before `:`. */
function lines(text: string): MetadataItem[] {
  const items: MetadataItem[] = [];
  let pos = 0;
  while (pos < text.length) {
    const eol = text.indexOf('\r\n', pos);
    if (eol < 0) bad('last line is not CRLF-terminated');
    const line = text.slice(pos, eol);
    pos = eol + 2;
    const colon = line.indexOf(':');
    if (colon < 0) bad('line without ":"');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) bad(`bad item name "${name.slice(0, 40)}"`);
    const value = trimOws(line.slice(colon + 1));
    if (BAD_VALUE_CHAR.test(value)) bad(`control character in ${name}`);
    items.push({ name, value });
  }
  return items;
}

/** Decode metadata bytes (already inflated when MDEnc = 1). */
export function decodeMetadata(bytes: Uint8Array): FcastMetadata {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return bad('not UTF-8');
  }
  const known = new Map<string, string>();
  const extra: MetadataItem[] = [];
  for (const item of lines(text)) {
    const key = item.name.toLowerCase();
    if (!KNOWN.has(key)) {
      extra.push(item);
      continue;
    }
    if (known.has(key)) bad(`${item.name} given twice`);
    known.set(key, item.value);
  }
  return { ...typedItems(known), extra };
}

function typedItems(known: ReadonlyMap<string, string>): FcastMetadataInit {
  const get = (k: string): string | undefined => known.get(k);
  const encoding = get(N.encoding);
  if (encoding !== undefined && encoding.toLowerCase() !== 'gzip') {
    throw new RemoteProtocolError('FCAST_CONTENT_ENCODING', `Content-Encoding "${encoding.slice(0, 40)}"`);
  }
  const complete = get(N.cidComplete);
  if (complete !== undefined && complete !== '0' && complete !== '1') {
    throw new RemoteProtocolError('CID_LIST', `Fcast-CID-Complete "${complete.slice(0, 40)}"`);
  }
  const mtime = get(N.mtime);
  if (mtime !== undefined && !(INT.test(mtime) && Number.isSafeInteger(Number(mtime)))) bad('Fcast-Obj-Mtime is not an integer');
  const mode = get(N.mode);
  if (mode !== undefined && !(OCTAL.test(mode) && parseInt(mode, 8) <= 0o7777)) bad('Fcast-Obj-Mode is not octal permission bits');
  const length = get(N.length);
  const sha256 = get(N.sha256);
  const sha1 = get(N.sha1);
  const cidId = get(N.cidId);
  return {
    contentLocation: get(N.location),
    contentLength: length === undefined ? undefined : uint('Content-Length', length),
    contentType: get(N.type),
    contentEncoding: encoding === undefined ? undefined : 'gzip',
    digestSha256: sha256 === undefined ? undefined : digest('Fcast-Obj-Digest-SHA256', sha256, 32),
    digestSha1: sha1 === undefined ? undefined : digest('Fcast-Obj-Digest-SHA1', sha1, 20),
    slice: sliceItems(known),
    cidComplete: complete === undefined ? undefined : complete === '1',
    cidId: cidId === undefined ? undefined : uint('Fcast-CID-ID', cidId),
    mtime: mtime === undefined ? undefined : Number(mtime),
    mode: mode === undefined ? undefined : parseInt(mode, 8),
  };
}

/** The slice items must all be present or all absent, with Idx < Nb (RFC 6968 §3.3; §7 row 30). */
function sliceItems(known: ReadonlyMap<string, string>): SliceInfo | undefined {
  const nb = known.get(N.sliceNb);
  const idx = known.get(N.sliceIdx);
  const offset = known.get(N.sliceOffset);
  if (nb === undefined && idx === undefined && offset === undefined) return undefined;
  if (nb === undefined || idx === undefined || offset === undefined) {
    throw new RemoteProtocolError('FCAST_SLICE', 'slice items only partly present');
  }
  const slice = { nb: uint('Fcast-Obj-Slice-Nb', nb), idx: uint('Fcast-Obj-Slice-Idx', idx), offset: uint('Fcast-Obj-Slice-Offset', offset) };
  if (slice.nb > 0xffff_ffff || slice.idx >= slice.nb) {
    throw new RemoteProtocolError('FCAST_SLICE', `Slice-Idx ${slice.idx}, Slice-Nb ${slice.nb}`);
  }
  return slice;
}

function checkItem(name: string, value: string): void {
  if (!TOKEN.test(name)) throw new LocalProtocolError('WIRE_VALUE', `metadata item name "${name}"`);
  if (BAD_VALUE_CHAR.test(value) || value !== value.trim()) {
    throw new LocalProtocolError('WIRE_VALUE', `metadata item ${name} has control characters or edge spaces`);
  }
}

function checkCount(name: string, v: number, min = 0): string {
  if (!Number.isSafeInteger(v) || v < min) throw new LocalProtocolError('WIRE_VALUE', `${name} ${v}`);
  return String(v);
}

function checkDigest(name: string, d: Uint8Array, bytes: number): string {
  if (d.length !== bytes) throw new LocalProtocolError('WIRE_VALUE', `${name} of ${d.length} bytes`);
  return Buffer.from(d.buffer, d.byteOffset, d.length).toString('base64');
}

/** Encode metadata as UTF-8 `Name: value\r\n` lines (plain, MDEnc 0). */
export function encodeMetadata(m: FcastMetadataInit): Uint8Array {
  const out: string[] = [];
  const put = (name: string, value: string): void => {
    checkItem(name, value);
    out.push(`${name}: ${value}\r\n`);
  };
  if (m.contentLocation !== undefined) put('Content-Location', m.contentLocation);
  if (m.contentLength !== undefined) put('Content-Length', checkCount('Content-Length', m.contentLength));
  if (m.contentType !== undefined) put('Content-Type', m.contentType);
  if (m.contentEncoding !== undefined) {
    if (m.contentEncoding !== 'gzip') throw new LocalProtocolError('WIRE_VALUE', `Content-Encoding ${String(m.contentEncoding)}`);
    put('Content-Encoding', m.contentEncoding);
  }
  if (m.digestSha256 !== undefined) put('Fcast-Obj-Digest-SHA256', checkDigest('SHA-256 digest', m.digestSha256, 32));
  if (m.digestSha1 !== undefined) put('Fcast-Obj-Digest-SHA1', checkDigest('SHA-1 digest', m.digestSha1, 20));
  if (m.slice !== undefined) {
    if (m.slice.idx >= m.slice.nb || m.slice.nb > 0xffff_ffff) throw new LocalProtocolError('WIRE_VALUE', 'slice Idx ≥ Nb');
    put('Fcast-Obj-Slice-Nb', checkCount('Slice-Nb', m.slice.nb, 1));
    put('Fcast-Obj-Slice-Idx', checkCount('Slice-Idx', m.slice.idx));
    put('Fcast-Obj-Slice-Offset', checkCount('Slice-Offset', m.slice.offset));
  }
  if (m.cidComplete !== undefined) put('Fcast-CID-Complete', m.cidComplete ? '1' : '0');
  if (m.cidId !== undefined) put('Fcast-CID-ID', checkCount('Fcast-CID-ID', m.cidId));
  if (m.mtime !== undefined) {
    if (!Number.isSafeInteger(m.mtime)) throw new LocalProtocolError('WIRE_VALUE', `mtime ${m.mtime}`);
    put('Fcast-Obj-Mtime', String(m.mtime));
  }
  if (m.mode !== undefined) {
    if (!Number.isInteger(m.mode) || m.mode < 0 || m.mode > 0o7777) throw new LocalProtocolError('WIRE_VALUE', `mode ${m.mode}`);
    put('Fcast-Obj-Mode', m.mode.toString(8));
  }
  for (const item of m.extra ?? []) {
    if (KNOWN.has(item.name.toLowerCase())) throw new LocalProtocolError('WIRE_VALUE', `${item.name} belongs in its typed field`);
    put(item.name, item.value);
  }
  return utf8.encode(out.join(''));
}
