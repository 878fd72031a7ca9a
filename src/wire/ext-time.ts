// EXT_TIME header extension (RFC 5651 §5.2.2; SPEC-NOTES §1.3).
//
//   byte 0 HET = 2 | byte 1 HEL | bytes 2-3 Use: bit 0 SCT-High, 1 SCT-Low, 2 ERT, 3 SLC,
//   4-7 reserved by LCT (0 on send, ignored on receipt), 8-15 for the instantiation (0, ignored)
//   then one 32-bit value per set flag, in the order SCT-High, SCT-Low, ERT, SLC.
//
// decodeExtTime throws on a malformed extension; decodeAlcPacket catches that and ignores the
// extension, as SPEC-NOTES §7 row 10 says [ours]. Extra words beyond the flagged values are
// ignored (HEL may be larger than needed).

import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { Reader, type Writer } from './cursor.js';

export const EXT_TIME = 2;

export interface ExtTime {
  /** Sender Current Time, whole seconds (NTP seconds when the clock is NTP). */
  readonly sctHigh?: number;
  /** Sender Current Time, fraction in units of 2^-32 s; only together with sctHigh. */
  readonly sctLow?: number;
  /** Expected Residual Time of the current object, seconds. */
  readonly ert?: number;
  /** Session Last Changed, wall-clock seconds. */
  readonly slc?: number;
}

const SCT_HIGH = 0x8000;
const SCT_LOW = 0x4000;
const ERT = 0x2000;
const SLC = 0x1000;

/**
 * Decode the HEC of an EXT_TIME extension (the bytes after HET and HEL: the Use field and the
 * values). Throws EXT_TIME_LENGTH when HEL is below 1 + the number of flagged values and
 * EXT_TIME_FLAGS for SCT-Low without SCT-High.
 */
export function decodeExtTime(content: Uint8Array): ExtTime {
  const r = new Reader(content);
  if (r.remaining < 2) throw new RemoteProtocolError('EXT_TIME_LENGTH', 'no Use field');
  const use = r.u16();
  const count = (use & SCT_HIGH ? 1 : 0) + (use & SCT_LOW ? 1 : 0) + (use & ERT ? 1 : 0) + (use & SLC ? 1 : 0);
  if (r.remaining < count * 4) {
    throw new RemoteProtocolError('EXT_TIME_LENGTH', `${count} flagged values, ${r.remaining} bytes`);
  }
  if (use & SCT_LOW && !(use & SCT_HIGH)) throw new RemoteProtocolError('EXT_TIME_FLAGS');
  const sctHigh = use & SCT_HIGH ? r.u32() : undefined;
  const sctLow = use & SCT_LOW ? r.u32() : undefined;
  const ert = use & ERT ? r.u32() : undefined;
  const slc = use & SLC ? r.u32() : undefined;
  return { sctHigh, sctLow, ert, slc };
}

function valueCount(t: ExtTime): number {
  return (t.sctHigh !== undefined ? 1 : 0) + (t.sctLow !== undefined ? 1 : 0) + (t.ert !== undefined ? 1 : 0) + (t.slc !== undefined ? 1 : 0);
}

/** Bytes the whole extension takes on the wire (HET, HEL, Use and the values). */
export function extTimeLength(t: ExtTime): number {
  return 4 + 4 * valueCount(t);
}

/** Write the whole EXT_TIME extension. */
export function writeExtTime(w: Writer, t: ExtTime): void {
  if (t.sctLow !== undefined && t.sctHigh === undefined) {
    throw new LocalProtocolError('WIRE_VALUE', 'EXT_TIME SCT-Low needs SCT-High (RFC 5651 §5.2.2)');
  }
  const use = (t.sctHigh !== undefined ? SCT_HIGH : 0) | (t.sctLow !== undefined ? SCT_LOW : 0) | (t.ert !== undefined ? ERT : 0) | (t.slc !== undefined ? SLC : 0);
  w.u8(EXT_TIME);
  w.u8(1 + valueCount(t));
  w.u16(use);
  if (t.sctHigh !== undefined) w.u32(t.sctHigh);
  if (t.sctLow !== undefined) w.u32(t.sctLow);
  if (t.ert !== undefined) w.u32(t.ert);
  if (t.slc !== undefined) w.u32(t.slc);
}
