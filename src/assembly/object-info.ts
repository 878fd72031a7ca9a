// What the receiver needs from an FCAST header (RFC 6968 §2.1, §3.3), in one flat record the
// shell can act on: where the data starts, the checked relative path, the digest, mtime, mode.
// The byte-level decoding is src/wire/fcast-object.ts; this file applies the receiver's policy.

import { RemoteProtocolError } from '../errors.js';
import { decodeCidObject, decodeFcastHeader, safeRelativePath, type FcastHeader } from '../wire/index.js';

/** Most TOIs one CID may list (its ranges are expanded to check completion). */
export const MAX_CID_TOIS = 1_000_000;

export interface FcastObjectInfo {
  /** C flag: a Carousel Instance Descriptor. */
  readonly isCid: boolean;
  /** G flag: the checksum covers the whole object, so the shell checks it over the file. */
  readonly checksumWhole: boolean;
  /** Bytes of header and padding before the data. */
  readonly dataOffset: number;
  /** Bytes of object data as sent (still content-encoded). */
  readonly dataLength: number;
  /** Safe relative path (forward slashes) from Content-Location; undefined for a CID. */
  readonly path: string | undefined;
  readonly contentLength: number | undefined;
  readonly contentType: string | undefined;
  readonly gzip: boolean;
  readonly sha256: Uint8Array | undefined;
  readonly sha1: Uint8Array | undefined;
  /** Seconds since the Unix epoch. */
  readonly mtime: number | undefined;
  readonly mode: number | undefined;
  /** CID only. */
  readonly cidComplete: boolean;
  readonly cidId: number | undefined;
}

/**
 * Parse the header from the object's first bytes (WIRE_TRUNCATED when more are needed).
 * A file object must name a safe path (FCAST_PATH) and, without a digest, still carries its
 * checksum; sliced objects are not reassembled by this receiver (FCAST_SLICE).
 */
export function parseObjectHeader(bytes: Uint8Array, transferLength: number): FcastObjectInfo {
  const h: FcastHeader = decodeFcastHeader(bytes, transferLength);
  const m = h.metadata;
  if (m.slice !== undefined && m.slice.nb > 1) throw new RemoteProtocolError('FCAST_SLICE', 'sliced objects are not supported');
  let path: string | undefined;
  if (!h.cid) {
    if (m.contentLocation === undefined) throw new RemoteProtocolError('FCAST_PATH', 'no Content-Location');
    path = safeRelativePath(m.contentLocation);
    // Our own state folder is never a delivery target.
    if (path === '.fcast' || path.startsWith('.fcast/')) throw new RemoteProtocolError('FCAST_PATH', 'path inside the receiver state folder');
    if (m.contentEncoding === undefined && m.contentLength !== undefined && m.contentLength !== h.dataLength) {
      throw new RemoteProtocolError('FCAST_CONTENT_LENGTH', `Content-Length ${m.contentLength}, object data ${h.dataLength}`);
    }
  }
  return {
    isCid: h.cid,
    checksumWhole: h.global,
    dataOffset: h.dataOffset,
    dataLength: h.dataLength,
    path,
    contentLength: m.contentLength,
    contentType: m.contentType,
    gzip: m.contentEncoding === 'gzip',
    sha256: m.digestSha256,
    sha1: m.digestSha1,
    mtime: m.mtime,
    mode: m.mode,
    cidComplete: m.cidComplete === true,
    cidId: m.cidId,
  };
}

export interface CidInfo {
  readonly ciid: number | undefined;
  readonly complete: boolean;
  /** Every TOI the instance holds, equivalences' new TOIs included. */
  readonly tois: readonly number[];
  /** newToi -> oldToi: the object already sent under oldToi (RFC 6968 §2.2). */
  readonly equivalent: ReadonlyMap<number, number>;
}

/** Check and parse a whole CID object held in memory (checksum, Content-Length, list ABNF). */
export function decodeCid(object: Uint8Array): CidInfo {
  const cid = decodeCidObject(object);
  const tois: number[] = [];
  for (const r of cid.list.ranges) {
    if (tois.length + (r.last - r.first + 1) > MAX_CID_TOIS) throw new RemoteProtocolError('CID_LIST', `more than ${MAX_CID_TOIS} TOIs`);
    for (let t = r.first; t <= r.last; t++) tois.push(t);
  }
  const equivalent = new Map<number, number>();
  for (const e of cid.list.equivalences) {
    equivalent.set(e.newToi, e.oldToi);
    if (!tois.includes(e.newToi)) tois.push(e.newToi);
  }
  return { ciid: cid.ciid, complete: cid.complete, tois, equivalent };
}
