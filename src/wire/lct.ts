// LCT header (RFC 5651 §5.1 fixed part, §5.2.1 header extensions; SPEC-NOTES §1).
//
//   byte 0  V (4) = 1 | C (2) | PSI (2)          byte 1  S | O (2) | H | Res (2) | A | B
//   byte 2  HDR_LEN (32-bit words, whole header)  byte 3  Codepoint
//   then CCI (32·(C+1) bits), TSI (32·S + 16·H bits), TOI (32·O + 16·H bits), extensions.
//
// Decisions (SPEC-NOTES §0, ours):
// - Our sender writes TSI = 32 bits (S=1, H=0) and TOI = 32 bits (O=1). The decoder accepts every
//   legal width: TSI 16/32/48, TOI 0..112 bits. Values are JS numbers; a TOI wider than 48 bits
//   is accepted only when its value is < 2^53 (LCT_TOI_RANGE otherwise). Compare values, never
//   widths (RFC 6968 §3.6: the width may change from packet to packet).
// - CCI is 32 bits (C=0, the WEBRC short format, RFC 3738 §5). The decoder hands out the CCI as a
//   raw view and checks C only against the length the caller expects (SPEC-NOTES §7 row 4).
// - We only run LCT under ALC, so the decoder enforces ALC's "TSI present" rule (RFC 5775 §4.1,
//   §7 row 5) here, before any other length is trusted.
// - Res bits, PSI and unknown HETs are ignored, never rejected (RFC 5651 §5.1, §5.2.1; §7 row 9).

import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { Reader, Writer } from './cursor.js';

export const LCT_VERSION = 1;
/** Header extension types that RFC 5651 defines (EXT_TIME is in ext-time.ts, EXT_FTI in fti.ts). */
export const EXT_NOP = 0;
export const EXT_AUTH = 1;
/** HETs from 128 up are one fixed 32-bit word with a 24-bit HEC (§5.2.1, SPEC-NOTES §1.3). */
export const FIXED_HET_MIN = 128;
/** HDR_LEN is an 8-bit count of words. */
export const MAX_HEADER_LENGTH = 255 * 4;

/** One header extension. `content` is a view of the HEC: the 3 bytes after HET for a fixed HET, the bytes after HET and HEL for a variable one. */
export interface LctExtension {
  readonly het: number;
  readonly content: Uint8Array;
}

export interface LctHeader {
  /** CCI length in bytes: 4, 8, 12 or 16. */
  readonly cciLength: number;
  readonly psi: number;
  /** A flag: the sender is about to end the session. */
  readonly closeSession: boolean;
  /** B flag: the sender is about to stop sending the object. */
  readonly closeObject: boolean;
  /** HDR_LEN · 4, bytes. */
  readonly headerLength: number;
  readonly codepoint: number;
  /** View of the CCI bytes. */
  readonly cci: Uint8Array;
  readonly tsi: number;
  /** Undefined when the TOI field is absent (width 0). */
  readonly toi: number | undefined;
  readonly extensions: readonly LctExtension[];
}

export interface LctDecodeOptions {
  /** CCI length the session uses (bytes); a packet with another C is dropped (§7 row 4). */
  readonly cciLength?: number;
}

export interface LctHeaderInit {
  /** 4, 8, 12 or 16 bytes; default 4 zero bytes. */
  readonly cci?: Uint8Array;
  readonly psi?: number;
  readonly closeSession?: boolean;
  readonly closeObject?: boolean;
  readonly codepoint: number;
  readonly tsi: number;
  /** 16, 32 or 48; default 32 (our sender). */
  readonly tsiBits?: number;
  /** Omit (with toiBits 0) for a packet without TOI. */
  readonly toi?: number;
  /** 0, 16, 32 … 112; default 32 (our sender). Must share H with tsiBits. */
  readonly toiBits?: number;
  readonly extensions?: readonly LctExtension[];
}

const NO_EXTENSIONS: readonly LctExtension[] = Object.freeze([]);
const ZERO_CCI = new Uint8Array(4);

/** Read a `bytes`-long unsigned field as a number; LCT_TOI_RANGE above 2^53 − 1. */
function readWide(r: Reader, bytes: number): number {
  let v = 0;
  for (let i = 0; i < bytes; i += 2) {
    // Exact while v stays ≤ 2^53 − 1; once the true value exceeds it, the rounded result does too.
    v = v * 0x10000 + r.u16();
    if (v > Number.MAX_SAFE_INTEGER) throw new RemoteProtocolError('LCT_TOI_RANGE', `${bytes * 8}-bit field`);
  }
  return v;
}

/**
 * Decode the LCT header at the start of `datagram` (SPEC-NOTES §7 rows 1-5, 8, 9).
 * Throws RemoteProtocolError: WIRE_TRUNCATED, LCT_BAD_VERSION, LCT_CCI_LENGTH, ALC_NO_TSI,
 * LCT_HDR_LEN, LCT_EXT_LENGTH, LCT_TOI_RANGE.
 */
export function decodeLctHeader(datagram: Uint8Array, opts?: LctDecodeOptions): LctHeader {
  if (datagram.length < 4) throw new RemoteProtocolError('WIRE_TRUNCATED', `datagram of ${datagram.length} bytes`);
  const b0 = datagram[0]!;
  const b1 = datagram[1]!;
  const version = b0 >>> 4;
  if (version !== LCT_VERSION) throw new RemoteProtocolError('LCT_BAD_VERSION', `V = ${version}`);
  const cciLength = 4 * (((b0 >>> 2) & 3) + 1);
  if (opts?.cciLength !== undefined && cciLength !== opts.cciLength) {
    throw new RemoteProtocolError('LCT_CCI_LENGTH', `${cciLength} bytes, session uses ${opts.cciLength}`);
  }
  const half = (b1 >>> 4) & 1;
  const tsiLength = 4 * (b1 >>> 7) + 2 * half;
  const toiLength = 4 * ((b1 >>> 5) & 3) + 2 * half;
  if (tsiLength === 0) throw new RemoteProtocolError('ALC_NO_TSI');
  const headerLength = datagram[2]! * 4;
  const fixedLength = 4 + cciLength + tsiLength + toiLength;
  if (headerLength < fixedLength) {
    throw new RemoteProtocolError('LCT_HDR_LEN', `HDR_LEN·4 = ${headerLength} < ${fixedLength}`);
  }
  if (headerLength > datagram.length) {
    throw new RemoteProtocolError('LCT_HDR_LEN', `HDR_LEN·4 = ${headerLength} > datagram of ${datagram.length}`);
  }
  const r = new Reader(datagram, 4, headerLength);
  const cci = r.bytes(cciLength);
  const tsi = readWide(r, tsiLength);
  const toi = toiLength === 0 ? undefined : readWide(r, toiLength);
  return {
    cciLength,
    psi: b0 & 3,
    closeSession: (b1 & 2) !== 0,
    closeObject: (b1 & 1) !== 0,
    headerLength,
    codepoint: datagram[3]!,
    cci,
    tsi,
    toi,
    extensions: r.remaining === 0 ? NO_EXTENSIONS : readExtensions(r),
  };
}

/** Walk the header extensions up to HDR_LEN·4 (RFC 5651 §5.2.1; SPEC-NOTES §7 row 8). */
function readExtensions(r: Reader): LctExtension[] {
  const out: LctExtension[] = [];
  while (r.remaining > 0) {
    if (r.remaining < 4) throw new RemoteProtocolError('LCT_EXT_LENGTH', `${r.remaining} bytes left for an extension`);
    const het = r.u8();
    if (het >= FIXED_HET_MIN) {
      out.push({ het, content: r.bytes(3) });
      continue;
    }
    const hel = r.u8();
    // HEL = 0 would never advance; HEL·4 past HDR_LEN·4 would read the payload as header.
    if (hel === 0) throw new RemoteProtocolError('LCT_EXT_LENGTH', `HET ${het} with HEL 0`);
    if (hel * 4 - 2 > r.remaining) {
      throw new RemoteProtocolError('LCT_EXT_LENGTH', `HET ${het}: HEL ${hel} runs past HDR_LEN`);
    }
    out.push({ het, content: r.bytes(hel * 4 - 2) });
  }
  return out;
}

function checkWidths(tsiBits: number, toiBits: number): void {
  if (tsiBits !== 16 && tsiBits !== 32 && tsiBits !== 48) {
    throw new LocalProtocolError('WIRE_VALUE', `TSI width ${tsiBits} is not 16, 32 or 48 bits`);
  }
  if (!Number.isInteger(toiBits) || toiBits < 0 || toiBits > 112 || toiBits % 16 !== 0) {
    throw new LocalProtocolError('WIRE_VALUE', `TOI width ${toiBits} is not 0..112 bits in steps of 16`);
  }
  // H adds a half-word to both fields, so both widths have the same remainder modulo 32.
  if (tsiBits % 32 !== toiBits % 32) {
    throw new LocalProtocolError('WIRE_VALUE', `TSI ${tsiBits} bits and TOI ${toiBits} bits need different H flags`);
  }
}

/** Bytes of the fixed part: first word, CCI, TSI and TOI (no extensions). */
export function lctFixedLength(init: Omit<LctHeaderInit, 'extensions'>): number {
  const tsiBits = init.tsiBits ?? 32;
  const toiBits = init.toiBits ?? (init.toi === undefined ? 0 : 32);
  return 4 + (init.cci?.length ?? 4) + tsiBits / 8 + toiBits / 8;
}

/** Bytes one extension takes on the wire. */
export function extensionLength(ext: LctExtension): number {
  return ext.het >= FIXED_HET_MIN ? 4 : 2 + ext.content.length;
}

function writeWide(w: Writer, v: number, bits: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0 || (bits < 53 && v >= 2 ** bits)) {
    throw new LocalProtocolError('WIRE_VALUE', `${what} ${v} does not fit in ${bits} bits`);
  }
  for (let shift = bits - 16; shift >= 0; shift -= 16) w.u16(Math.floor(v / 2 ** shift) % 0x10000);
}

/**
 * Write the fixed part of an LCT header, declaring `headerLength` bytes in HDR_LEN. The caller
 * then writes exactly `headerLength − lctFixedLength(init)` bytes of extensions.
 */
export function writeLctFixed(w: Writer, init: Omit<LctHeaderInit, 'extensions'>, headerLength: number): void {
  const cci = init.cci ?? ZERO_CCI;
  const tsiBits = init.tsiBits ?? 32;
  const toiBits = init.toiBits ?? (init.toi === undefined ? 0 : 32);
  checkWidths(tsiBits, toiBits);
  if (cci.length !== 4 && cci.length !== 8 && cci.length !== 12 && cci.length !== 16) {
    throw new LocalProtocolError('WIRE_VALUE', `CCI of ${cci.length} bytes (4, 8, 12 or 16)`);
  }
  if ((toiBits === 0) !== (init.toi === undefined)) {
    throw new LocalProtocolError('WIRE_VALUE', 'a TOI value needs a TOI width and the reverse');
  }
  if (headerLength % 4 !== 0 || headerLength > MAX_HEADER_LENGTH || headerLength < lctFixedLength(init)) {
    throw new LocalProtocolError('WIRE_LENGTH', `LCT header of ${headerLength} bytes`);
  }
  const psi = init.psi ?? 0;
  if (psi !== (psi & 3)) throw new LocalProtocolError('WIRE_VALUE', `PSI ${psi}`);
  const half = tsiBits % 32 === 16 ? 1 : 0;
  w.u8((LCT_VERSION << 4) | ((cci.length / 4 - 1) << 2) | psi);
  w.u8(
    ((tsiBits >>> 5) << 7) | ((toiBits >>> 5) << 5) | (half << 4) | (init.closeSession ? 2 : 0) | (init.closeObject ? 1 : 0),
  );
  w.u8(headerLength / 4);
  w.u8(init.codepoint);
  w.bytes(cci);
  writeWide(w, init.tsi, tsiBits, 'TSI');
  if (init.toi !== undefined) writeWide(w, init.toi, toiBits, 'TOI');
}

/** Write one header extension (HEC length: 3 for a fixed HET, ≡ 2 mod 4 for a variable one). */
export function writeExtension(w: Writer, ext: LctExtension): void {
  w.u8(ext.het);
  if (ext.het >= FIXED_HET_MIN) {
    if (ext.content.length !== 3) throw new LocalProtocolError('WIRE_LENGTH', `fixed HET ${ext.het} needs 3 content bytes`);
  } else {
    if ((ext.content.length + 2) % 4 !== 0 || ext.content.length + 2 > MAX_HEADER_LENGTH) {
      throw new LocalProtocolError('WIRE_LENGTH', `HET ${ext.het}: ${ext.content.length} content bytes is not a whole number of words minus 2`);
    }
    w.u8((ext.content.length + 2) / 4);
  }
  w.bytes(ext.content);
}

/** Encode a whole LCT header with its extensions into `out` at `offset`; returns the bytes written. */
export function encodeLctHeader(out: Uint8Array, init: LctHeaderInit, offset = 0): number {
  let headerLength = lctFixedLength(init);
  for (const ext of init.extensions ?? NO_EXTENSIONS) headerLength += extensionLength(ext);
  const w = new Writer(out, offset);
  writeLctFixed(w, init, headerLength);
  for (const ext of init.extensions ?? NO_EXTENSIONS) writeExtension(w, ext);
  return headerLength;
}
