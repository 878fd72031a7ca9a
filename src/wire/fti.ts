// EXT_FTI header extension (RFC 5775 §4.2, HET 64): its HEC is the encoded FEC OTI of the
// scheme named by the codepoint (SPEC-NOTES §2.3; our codepoint = FEC Encoding ID, §0 item 3).
// We carry EXT_FTI in every data packet so a late joiner learns the OTI from any packet
// (SPEC-NOTES §0 item 4, our decision).
//
// Compact No-Code (RFC 5445 §3.2.2.2), HEL = 4, 16 bytes:
//   40 04 | L (48) | reserved (16, written 0, ignored) | E (16) | B (32)
// LDPC-Staircase (RFC 5170 §4.2.4.1), HEL = 5, 20 bytes:
//   40 05 | L (48) | E (16) | N1m3 (3) G (5) | B (20) max_n (20) | seed (32)
//
// Only the layout is checked here (SPEC-NOTES §7 row 11, FTI_LENGTH). Whether the values make
// sense for the scheme (rows 17 and 19: E = 0, G > 31, seed range, block counts) is
// `schemeFor(id).validate(oti)` in codecs/index.ts, which the assembly calls once per object.

import type { FecEncodingId, FecOti } from '../../codecs/types.js';
import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { Reader, type Writer } from './cursor.js';

export const EXT_FTI = 64;

/** FEC Encoding IDs whose EXT_FTI and Payload ID formats we know. */
export const NOCODE_ID = 0;
export const LDPC_STAIRCASE_ID = 3;

export function isFecEncodingId(id: number): id is FecEncodingId {
  return id === NOCODE_ID || id === LDPC_STAIRCASE_ID;
}

/** HEL of the EXT_FTI for this scheme (4 for No-Code, 5 for LDPC-Staircase). */
export function ftiHel(encodingId: FecEncodingId): 4 | 5 {
  return encodingId === NOCODE_ID ? 4 : 5;
}

/** Bytes the whole EXT_FTI takes on the wire. */
export function ftiLength(encodingId: FecEncodingId): number {
  return ftiHel(encodingId) * 4;
}

/**
 * Decode the HEC of an EXT_FTI (bytes after HET and HEL) for the given scheme.
 * Throws FTI_LENGTH when the length is not the scheme's.
 */
export function decodeFti(content: Uint8Array, encodingId: FecEncodingId): FecOti {
  if (content.length !== ftiLength(encodingId) - 2) {
    throw new RemoteProtocolError('FTI_LENGTH', `HEL ${(content.length + 2) / 4} for FEC Encoding ID ${encodingId}`);
  }
  const r = new Reader(content);
  const transferLength = r.u48();
  if (encodingId === NOCODE_ID) {
    r.skip(2); // reserved: ignored on receipt (RFC 5445 §3.2.2.2)
    const symbolSize = r.u16();
    const maxSourceBlockLength = r.u32();
    return { encodingId, transferLength, symbolSize, maxSourceBlockLength };
  }
  const symbolSize = r.u16();
  const ng = r.u8();
  const bHigh = r.u8();
  const word = r.u32();
  const seed = r.u32();
  return {
    encodingId,
    transferLength,
    symbolSize,
    maxSourceBlockLength: (bHigh << 12) | (word >>> 20),
    maxEncodingSymbols: word & 0xf_ffff,
    n1m3: ng >>> 5,
    symbolsPerPacket: ng & 0x1f,
    seed,
  };
}

function needField(v: number | undefined, name: string): number {
  if (v === undefined) throw new LocalProtocolError('WIRE_VALUE', `LDPC-Staircase OTI needs ${name}`);
  return v;
}

function checkMax(v: number, max: number, name: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new LocalProtocolError('WIRE_VALUE', `${name} ${v} does not fit its EXT_FTI field (0..${max})`);
  }
}

/** Write the whole EXT_FTI (HET, HEL, encoded OTI). LDPC N1m3 and G default to 0 and 1 (RFC 5170 §4.2.3). */
export function writeFti(w: Writer, oti: FecOti): void {
  w.u8(EXT_FTI);
  w.u8(ftiHel(oti.encodingId));
  w.u48(oti.transferLength);
  if (oti.encodingId === NOCODE_ID) {
    w.u16(0);
    w.u16(oti.symbolSize);
    w.u32(oti.maxSourceBlockLength);
    return;
  }
  const maxN = needField(oti.maxEncodingSymbols, 'maxEncodingSymbols');
  const seed = needField(oti.seed, 'seed');
  const n1m3 = oti.n1m3 ?? 0;
  const g = oti.symbolsPerPacket ?? 1;
  checkMax(n1m3, 7, 'N1m3');
  checkMax(g, 31, 'G');
  checkMax(oti.maxSourceBlockLength, 0xf_ffff, 'B');
  checkMax(maxN, 0xf_ffff, 'max_n');
  w.u16(oti.symbolSize);
  w.u8((n1m3 << 5) | g);
  w.u8(oti.maxSourceBlockLength >>> 12);
  w.u32((((oti.maxSourceBlockLength & 0xfff) << 20) | maxN) >>> 0);
  w.u32(seed);
}

/** True when two OTIs describe the same object encoding (for the FTI_CONFLICT check, §7 row 11). */
export function sameOti(a: FecOti, b: FecOti): boolean {
  return (
    a.encodingId === b.encodingId &&
    a.transferLength === b.transferLength &&
    a.symbolSize === b.symbolSize &&
    a.maxSourceBlockLength === b.maxSourceBlockLength &&
    a.maxEncodingSymbols === b.maxEncodingSymbols &&
    a.n1m3 === b.n1m3 &&
    a.symbolsPerPacket === b.symbolsPerPacket &&
    a.seed === b.seed
  );
}
