// ALC packets (RFC 5775 §2.1, §4.1, §4.2; SPEC-NOTES §2):
//   LCT header (HDR_LEN·4 bytes) | FEC Payload ID (4 bytes) | encoding symbol(s)
// A data-less packet (e.g. one that only closes the session) ends exactly at HDR_LEN·4.
//
// Decisions (SPEC-NOTES §0, ours): codepoint = FEC Encoding ID (0 Compact No-Code, 3
// LDPC-Staircase); EXT_FTI rides in every data packet; the CCI is 32 bits; TSI and TOI are 32 bits
// on send (any legal width on receipt, see lct.ts).
//
// The decoder is on the receive hot path (~100k packets/s): it returns views into the datagram,
// never copies, and uses no closures or bigint. What needs session state (SPEC-NOTES §7 rows 6,
// 7 policy, 12, 15-18) is left to the assembly, which has the session and the OTI.

import type { FecEncodingId, FecOti } from '../../codecs/types.js';
import { LocalProtocolError, RemoteProtocolError, isFcastError } from '../errors.js';
import { Reader, Writer } from './cursor.js';
import { EXT_TIME, decodeExtTime, extTimeLength, writeExtTime, type ExtTime } from './ext-time.js';
import { EXT_FTI, decodeFti, ftiLength, isFecEncodingId, writeFti } from './fti.js';
import { EXT_AUTH, decodeLctHeader, lctFixedLength, writeLctFixed, type LctHeader } from './lct.js';
import { PAYLOAD_ID_LENGTH, readPayloadId, writePayloadId, type PayloadId } from './payload-id.js';

export interface AlcPacket {
  readonly lct: LctHeader;
  /** EXT_FTI decoded for FEC Encoding ID = codepoint. */
  readonly fti: FecOti | undefined;
  /** EXT_TIME; a malformed one is ignored (SPEC-NOTES §7 row 10). */
  readonly time: ExtTime | undefined;
  /** EXT_AUTH content, carried, not verified here. */
  readonly auth: Uint8Array | undefined;
  /** Undefined for a data-less packet. */
  readonly payloadId: PayloadId | undefined;
  /** Encoding symbol(s): a view into the datagram. */
  readonly payload: Uint8Array;
}

export interface AlcDecodeOptions {
  /** CCI length of the session in bytes (§7 row 4). */
  readonly cciLength?: number;
  /** The session carries several objects: a packet without TOI is dropped (§7 row 7). */
  readonly requireToi?: boolean;
}

const EMPTY = new Uint8Array(0);

function ignoreMalformedTime(content: Uint8Array): ExtTime | undefined {
  try {
    return decodeExtTime(content);
  } catch (e) {
    if (isFcastError(e)) return undefined;
    throw e;
  }
}

/**
 * Decode one ALC datagram. Throws RemoteProtocolError with one of the LCT codes (lct.ts) or
 * ALC_CODEPOINT (codepoint is not a FEC Encoding ID we know), ALC_NO_TOI (requireToi),
 * FTI_LENGTH, FTI_CONFLICT (two EXT_FTI in one packet), ALC_PAYLOAD_ID (1-3 bytes after the header).
 */
export function decodeAlcPacket(datagram: Uint8Array, opts?: AlcDecodeOptions): AlcPacket {
  const lct = decodeLctHeader(datagram, opts);
  const codepoint = lct.codepoint;
  if (!isFecEncodingId(codepoint)) throw new RemoteProtocolError('ALC_CODEPOINT', `codepoint ${codepoint}`);
  if (opts?.requireToi === true && lct.toi === undefined) throw new RemoteProtocolError('ALC_NO_TOI');
  let fti: FecOti | undefined;
  let time: ExtTime | undefined;
  let auth: Uint8Array | undefined;
  const exts = lct.extensions;
  for (let i = 0; i < exts.length; i++) {
    const ext = exts[i]!;
    if (ext.het === EXT_FTI) {
      if (fti !== undefined) throw new RemoteProtocolError('FTI_CONFLICT', 'two EXT_FTI in one packet');
      fti = decodeFti(ext.content, codepoint);
    } else if (ext.het === EXT_TIME) {
      time = ignoreMalformedTime(ext.content);
    } else if (ext.het === EXT_AUTH) {
      auth = ext.content;
    }
    // EXT_NOP and unknown HETs: skip, keep the packet (RFC 5651 §5.2.1, §7 row 9).
  }
  const rest = datagram.length - lct.headerLength;
  if (rest === 0) return { lct, fti, time, auth, payloadId: undefined, payload: EMPTY };
  if (rest < PAYLOAD_ID_LENGTH) throw new RemoteProtocolError('ALC_PAYLOAD_ID', `${rest} bytes after the LCT header`);
  const r = new Reader(datagram, lct.headerLength);
  const payloadId = readPayloadId(r, codepoint);
  return { lct, fti, time, auth, payloadId, payload: r.rest() };
}

export interface AlcPacketInit {
  readonly tsi: number;
  readonly toi: number;
  readonly codepoint: FecEncodingId;
  /** Default 4 zero bytes. */
  readonly cci?: Uint8Array;
  readonly closeSession?: boolean;
  readonly closeObject?: boolean;
  readonly fti?: FecOti;
  readonly time?: ExtTime;
  /** EXT_AUTH content: HEL·4 − 2 bytes (its length + 2 must be a multiple of 4). */
  readonly auth?: Uint8Array;
  /** Omit sbn, esi and payload for a data-less packet. */
  readonly sbn?: number;
  readonly esi?: number;
  readonly payload?: Uint8Array;
}

function hasPayloadId(p: Omit<AlcPacketInit, 'payload'>): boolean {
  if ((p.sbn === undefined) !== (p.esi === undefined)) {
    throw new LocalProtocolError('WIRE_VALUE', 'sbn and esi go together');
  }
  return p.sbn !== undefined;
}

function authLength(auth: Uint8Array): number {
  if ((auth.length + 2) % 4 !== 0) {
    throw new LocalProtocolError('WIRE_LENGTH', `EXT_AUTH content of ${auth.length} bytes is not a whole number of words minus 2`);
  }
  return auth.length + 2;
}

function lctLength(p: Omit<AlcPacketInit, 'payload'>): number {
  return (
    lctFixedLength(p) +
    (p.fti === undefined ? 0 : ftiLength(p.fti.encodingId)) +
    (p.time === undefined ? 0 : extTimeLength(p.time)) +
    (p.auth === undefined ? 0 : authLength(p.auth))
  );
}

/** Bytes before the payload (LCT header with extensions, plus the FEC Payload ID when present), so a sender can size symbols to fit the MTU. */
export function alcHeaderSize(p: Omit<AlcPacketInit, 'payload'>): number {
  return lctLength(p) + (hasPayloadId(p) ? PAYLOAD_ID_LENGTH : 0);
}

/** Encode one ALC packet into the caller-owned `out`; returns the bytes written. Throws LocalProtocolError on bad input or a short buffer. */
export function encodeAlcPacket(out: Uint8Array, p: AlcPacketInit): number {
  if (p.fti !== undefined && p.fti.encodingId !== p.codepoint) {
    throw new LocalProtocolError('WIRE_VALUE', `EXT_FTI for FEC Encoding ID ${p.fti.encodingId} in a packet with codepoint ${p.codepoint}`);
  }
  const withPayloadId = hasPayloadId(p);
  if (!withPayloadId && p.payload !== undefined) throw new LocalProtocolError('WIRE_VALUE', 'a payload needs sbn and esi');
  const headerLength = lctLength(p);
  const w = new Writer(out);
  writeLctFixed(w, p, headerLength);
  if (p.fti !== undefined) writeFti(w, p.fti);
  if (p.time !== undefined) writeExtTime(w, p.time);
  if (p.auth !== undefined) {
    w.u8(EXT_AUTH);
    w.u8((p.auth.length + 2) / 4);
    w.bytes(p.auth);
  }
  if (withPayloadId) {
    writePayloadId(w, p.codepoint, p.sbn!, p.esi!);
    if (p.payload !== undefined) w.bytes(p.payload);
  }
  return w.offset;
}
