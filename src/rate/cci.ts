// WEBRC Congestion Control Information, short format (RFC 3738 §5.1; SPEC-NOTES §6.2):
//
//    0                   1                   2                   3
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |      CTSI     | Channel Number|    Packet Sequence Number     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// We use the short format for every WEBRC session [ours, SPEC-NOTES §0 item 2]: 32 bits (LCT C=0)
// keep the header small, and T <= 255 wave channels is far more than a session needs (T = N + Q,
// Q = 30 with the RECOMMENDED TSD/QD). The ALC encoder copies these 4 bytes into the LCT CCI field.
// Pure byte functions; big-endian like every LCT field.

import { RemoteProtocolError } from '../errors.js';

export const CCI_LENGTH = 4;

export interface Cci {
  /** Current time slot index, 0..T−1. */
  readonly ctsi: number;
  /** Channel number: 0..T−1 wave channels, T the base channel. */
  readonly cn: number;
  /** Packet sequence number, scoped by CN, 16 bits. */
  readonly psn: number;
}

/** Write the CCI into `out` at `offset` (caller-owned buffer); returns the bytes written. */
export function encodeCci(cci: Cci, out: Uint8Array, offset = 0): number {
  out[offset] = cci.ctsi & 0xff;
  out[offset + 1] = cci.cn & 0xff;
  out[offset + 2] = (cci.psn >>> 8) & 0xff;
  out[offset + 3] = cci.psn & 0xff;
  return CCI_LENGTH;
}

/**
 * Read a short-format CCI and check it against the session's T (SPEC-NOTES §7 row 20):
 * CTSI >= T or CN > T is a bad packet (RemoteProtocolError WEBRC_CCI; the caller counts and drops it).
 */
export function decodeCci(bytes: Uint8Array, t: number): Cci {
  if (bytes.length !== CCI_LENGTH) {
    throw new RemoteProtocolError('LCT_CCI_LENGTH', `WEBRC short CCI is ${CCI_LENGTH} bytes, got ${bytes.length}`);
  }
  const ctsi = bytes[0];
  const cn = bytes[1];
  const psn = (bytes[2] << 8) | bytes[3];
  if (ctsi >= t) throw new RemoteProtocolError('WEBRC_CCI', `CTSI ${ctsi} >= T ${t}`);
  if (cn > t) throw new RemoteProtocolError('WEBRC_CCI', `CN ${cn} > T ${t}`);
  return { ctsi, cn, psn };
}
