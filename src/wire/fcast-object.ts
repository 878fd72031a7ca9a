// FCAST compound object = FCAST header + padding + object data (RFC 6968 §2.1, Figure 1;
// SPEC-NOTES §5.1):
//   byte 0  Ver (3) = 0 | Resvd (3, ignored) | G | C     byte 1  MDFmt (4) = 0 | MDEnc (4) ∈ {0, 1}
//   bytes 2-3 Checksum (RFC 1071)   bytes 4-7 HL (header length without padding, ≥ 8)
//   bytes 8 … HL−1 metadata, then zero padding to a multiple of 4 ONLY if object data follows.
//
// Decisions (SPEC-NOTES §0, ours): file objects use G=0 (checksum over the header only) and
// always carry Fcast-Obj-Digest-SHA256; G=1 is fully supported (InternetChecksum in checksum.ts
// verifies it while the object streams). MDEnc 1 = gzip through node:zlib's synchronous calls,
// with the inflated size capped so a small header cannot expand into a huge allocation.
//
// Errors (SPEC-NOTES §7 rows 23-27): FCAST_VERSION, FCAST_FORMAT, FCAST_HEADER_LENGTH,
// FCAST_PADDING (CID_LIST for padding after an empty CID list, row 31), FCAST_CHECKSUM,
// FCAST_METADATA, FCAST_CONTENT_ENCODING, FCAST_CONTENT_LENGTH; WIRE_TRUNCATED when fewer bytes
// than the header needs were given (the caller may retry with more).

import { gunzipSync, gzipSync } from 'node:zlib';
import { LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { InternetChecksum, addSums } from './checksum.js';
import { Reader, Writer } from './cursor.js';
import { decodeMetadata, encodeMetadata, type FcastMetadata, type FcastMetadataInit } from './fcast-metadata.js';

export const FCAST_VERSION = 0;
export const FCAST_FIXED_LENGTH = 8;
/** Default cap on HL and on inflated metadata: headers are a few hundred bytes in practice. */
export const DEFAULT_MAX_HEADER_LENGTH = 1 << 20;

export interface FcastHeader {
  readonly version: number;
  /** G: the checksum covers the whole compound object (else the header only). */
  readonly global: boolean;
  /** C: this object is a Carousel Instance Descriptor. */
  readonly cid: boolean;
  readonly mdFmt: number;
  readonly mdEnc: 0 | 1;
  readonly checksum: number;
  /** HL: header length without padding, bytes. */
  readonly headerLength: number;
  readonly metadata: FcastMetadata;
  /** Where the object data starts (HL + padding when data follows). */
  readonly dataOffset: number;
  readonly dataLength: number;
  /**
   * True when the checksum was checked here: always for G=0; for G=1 only when the whole
   * object was passed. Otherwise feed every byte of the object to an InternetChecksum.
   */
  readonly checksumVerified: boolean;
}

export interface FcastDecodeOptions {
  /** Largest HL and largest inflated metadata accepted (default 1 MiB). */
  readonly maxHeaderLength?: number;
}

/** Padding between a header of `hl` bytes and data that follows it. */
export function fcastPadding(hl: number): number {
  return (4 - (hl % 4)) % 4;
}

function inflate(raw: Uint8Array, max: number, code: 'FCAST_METADATA' | 'FCAST_CONTENT_ENCODING'): Uint8Array {
  try {
    const out = gunzipSync(raw, { maxOutputLength: max });
    return new Uint8Array(out.buffer, out.byteOffset, out.length); // a plain view, not a Buffer
  } catch (e) {
    throw new RemoteProtocolError(code, `gzip: ${(e as Error).message}`);
  }
}

/**
 * Decode the FCAST header from the first bytes of an object whose transfer length (from the FEC
 * OTI) is `transferLength`. `bytes` must hold at least the header and its padding.
 */
export function decodeFcastHeader(bytes: Uint8Array, transferLength: number, opts?: FcastDecodeOptions): FcastHeader {
  const maxHeader = opts?.maxHeaderLength ?? DEFAULT_MAX_HEADER_LENGTH;
  if (transferLength < FCAST_FIXED_LENGTH) {
    throw new RemoteProtocolError('FCAST_HEADER_LENGTH', `transfer length ${transferLength} < 8`);
  }
  const r = new Reader(bytes);
  const b0 = r.u8();
  const version = b0 >>> 5;
  if (version !== FCAST_VERSION) throw new RemoteProtocolError('FCAST_VERSION', `Ver = ${version}`);
  const global = (b0 & 2) !== 0;
  const cid = (b0 & 1) !== 0;
  const b1 = r.u8();
  const mdFmt = b1 >>> 4;
  const mdEnc = b1 & 0xf;
  if (mdFmt !== 0) throw new RemoteProtocolError('FCAST_FORMAT', `MDFmt = ${mdFmt}`);
  if (mdEnc !== 0 && mdEnc !== 1) throw new RemoteProtocolError('FCAST_FORMAT', `MDEnc = ${mdEnc}`);
  const checksum = r.u16();
  const hl = r.u32();
  if (hl < FCAST_FIXED_LENGTH || hl > transferLength || hl > maxHeader) {
    throw new RemoteProtocolError('FCAST_HEADER_LENGTH', `HL = ${hl}, transfer length ${transferLength}`);
  }
  const { dataOffset, dataLength } = layout(hl, transferLength, cid);
  if (bytes.length < dataOffset) {
    throw new RemoteProtocolError('WIRE_TRUNCATED', `header needs ${dataOffset} bytes, have ${bytes.length}`);
  }
  for (let i = hl; i < dataOffset; i++) {
    if (bytes[i] !== 0) throw new RemoteProtocolError('FCAST_PADDING', 'padding byte is not zero');
  }
  const checksumVerified = verifyChecksum(bytes, hl, global, transferLength);
  const raw = bytes.subarray(FCAST_FIXED_LENGTH, hl);
  const metadata = decodeMetadata(mdEnc === 1 ? inflate(raw, maxHeader, 'FCAST_METADATA') : raw);
  return { version, global, cid, mdFmt, mdEnc, checksum, headerLength: hl, metadata, dataOffset, dataLength, checksumVerified };
}

/** Padding and data extent (RFC 6968 §2.1; SPEC-NOTES §7 rows 24 and 31). */
function layout(hl: number, transferLength: number, cid: boolean): { dataOffset: number; dataLength: number } {
  if (transferLength === hl) return { dataOffset: hl, dataLength: 0 };
  const dataOffset = hl + fcastPadding(hl);
  if (transferLength < dataOffset) {
    throw new RemoteProtocolError('FCAST_HEADER_LENGTH', `transfer length ${transferLength} ends inside the padding after HL ${hl}`);
  }
  if (transferLength === dataOffset) {
    // Padding is only sent when data follows; an empty CID list never has padding.
    throw new RemoteProtocolError(cid ? 'CID_LIST' : 'FCAST_PADDING', 'padding without object data');
  }
  return { dataOffset, dataLength: transferLength - dataOffset };
}

/** Check G=0 always and G=1 when the whole object is here; throw FCAST_CHECKSUM on a mismatch. */
function verifyChecksum(bytes: Uint8Array, hl: number, global: boolean, transferLength: number): boolean {
  if (global && bytes.length < transferLength) return false;
  const covered = bytes.subarray(0, global ? transferLength : hl);
  if (!new InternetChecksum().update(covered).verify()) throw new RemoteProtocolError('FCAST_CHECKSUM');
  return true;
}

export interface FcastHeaderInit {
  readonly metadata: FcastMetadataInit;
  /** C flag: a Carousel Instance Descriptor. */
  readonly cid?: boolean;
  /** G flag: checksum over the whole object (default false: header only). */
  readonly global?: boolean;
  /** 1 = gzip the metadata. */
  readonly mdEnc?: 0 | 1;
}

export interface FcastDataSummary {
  /** Bytes of object data that will follow the header. */
  readonly length: number;
  /** One's-complement sum of the data (InternetChecksum.partialSum); needed when G=1. */
  readonly sum?: number;
}

/**
 * Encode the FCAST header plus its padding (when data follows) for an object whose data is
 * summarized by `data`. The compound object is these bytes followed by the data.
 */
export function encodeFcastHeader(init: FcastHeaderInit, data: FcastDataSummary): Uint8Array {
  if (!Number.isSafeInteger(data.length) || data.length < 0) throw new LocalProtocolError('WIRE_VALUE', `data length ${data.length}`);
  if (init.global === true && data.length > 0 && data.sum === undefined) {
    throw new LocalProtocolError('WIRE_VALUE', 'G=1 needs the sum of the object data');
  }
  const plain = encodeMetadata(init.metadata);
  const metadata = init.mdEnc === 1 ? gzipSync(plain) : plain;
  const hl = FCAST_FIXED_LENGTH + metadata.length;
  if (hl > 0xffff_ffff) throw new LocalProtocolError('WIRE_LENGTH', 'metadata too long');
  const out = new Uint8Array(hl + (data.length > 0 ? fcastPadding(hl) : 0));
  const w = new Writer(out);
  w.u8((FCAST_VERSION << 5) | (init.global === true ? 2 : 0) | (init.cid === true ? 1 : 0));
  w.u8(init.mdEnc ?? 0);
  w.u16(0);
  w.u32(hl);
  w.bytes(metadata);
  let sum = new InternetChecksum().update(out).partialSum;
  if (init.global === true) sum = addSums(sum, data.sum ?? 0);
  const checksum = ~sum & 0xffff;
  out[2] = checksum >>> 8;
  out[3] = checksum & 0xff;
  return out;
}

/** Encode a whole compound object held in memory (CIDs, small files, tests). */
export function encodeFcastObject(init: FcastHeaderInit, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const sum = init.global === true ? new InternetChecksum().update(data).partialSum : undefined;
  const header = encodeFcastHeader(init, { length: data.length, sum });
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

export interface FcastObject {
  readonly header: FcastHeader;
  /** The object data as sent (still content-encoded): a view into the input. */
  readonly data: Uint8Array;
}

/** Decode a whole compound object held in memory; the checksum is always verified. */
export function decodeFcastObject(object: Uint8Array, opts?: FcastDecodeOptions): FcastObject {
  const header = decodeFcastHeader(object, object.length, opts);
  return { header, data: object.subarray(header.dataOffset) };
}

/**
 * Undo Content-Encoding (gzip) on object data held in memory and check Content-Length
 * (RFC 6968 §3.3; SPEC-NOTES §7 row 27). The output is capped at `maxLength` bytes.
 */
export function decodeContent(metadata: FcastMetadata, data: Uint8Array, maxLength: number): Uint8Array {
  let content = data;
  if (metadata.contentEncoding === 'gzip') {
    const cap = Math.min(maxLength, metadata.contentLength ?? maxLength);
    content = data.length === 0 && metadata.contentLength === 0 ? data : inflate(data, Math.max(cap, 1), 'FCAST_CONTENT_ENCODING');
  }
  if (metadata.contentLength !== undefined && content.length !== metadata.contentLength) {
    throw new RemoteProtocolError('FCAST_CONTENT_LENGTH', `Content-Length ${metadata.contentLength}, object holds ${content.length}`);
  }
  return content;
}
