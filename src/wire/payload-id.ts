// FEC Payload IDs, 32 bits each, right after the LCT header (RFC 5775 §2.1, §4.1):
//   Compact No-Code (RFC 5445 §3.2.1):   SBN (16) | ESI (16)
//   LDPC-Staircase  (RFC 5170 §4.1):     SBN (12) | ESI (20)
// Every value of the 32 bits is a legal payload ID; whether SBN and ESI fall inside the
// object's blocks (SPEC-NOTES §7 rows 16 and 18) needs the OTI and is checked by the assembly.

import type { FecEncodingId } from '../../codecs/types.js';
import { LocalProtocolError } from '../errors.js';
import type { Reader, Writer } from './cursor.js';
import { NOCODE_ID } from './fti.js';

export const PAYLOAD_ID_LENGTH = 4;

export interface PayloadId {
  readonly sbn: number;
  readonly esi: number;
}

/** Number of ESI bits in the scheme's payload ID (16 for No-Code, 20 for LDPC-Staircase). */
export function esiBits(encodingId: FecEncodingId): 16 | 20 {
  return encodingId === NOCODE_ID ? 16 : 20;
}

/** Largest SBN the payload ID can carry. */
export function maxSbn(encodingId: FecEncodingId): number {
  return encodingId === NOCODE_ID ? 0xffff : 0xfff;
}

/** Largest ESI the payload ID can carry. */
export function maxEsi(encodingId: FecEncodingId): number {
  return encodingId === NOCODE_ID ? 0xffff : 0xf_ffff;
}

export function readPayloadId(r: Reader, encodingId: FecEncodingId): PayloadId {
  const word = r.u32();
  const bits = esiBits(encodingId);
  return { sbn: word >>> bits, esi: word & ((1 << bits) - 1) };
}

export function writePayloadId(w: Writer, encodingId: FecEncodingId, sbn: number, esi: number): void {
  if (!Number.isInteger(sbn) || sbn < 0 || sbn > maxSbn(encodingId)) {
    throw new LocalProtocolError('WIRE_VALUE', `SBN ${sbn} does not fit the payload ID of FEC Encoding ID ${encodingId}`);
  }
  if (!Number.isInteger(esi) || esi < 0 || esi > maxEsi(encodingId)) {
    throw new LocalProtocolError('WIRE_VALUE', `ESI ${esi} does not fit the payload ID of FEC Encoding ID ${encodingId}`);
  }
  w.u32(((sbn << esiBits(encodingId)) | esi) >>> 0);
}
