// Content-Location path check (RFC 6968 §5.3.3: metadata is untrusted, links are never
// followed; SPEC-NOTES §7 row 29, §5.6 [ours]).
//
// A receiver writes each object under its output directory at the path Content-Location names.
// Only a plain relative URI path, or `file:` followed by a relative path, is accepted. The value
// is percent-decoded first (strict: `%` + two hex digits, valid UTF-8) and every check runs on
// the decoded text, so `%2e%2e/` and `%2F` tricks meet the same rules. Rejected (FCAST_PATH):
// empty, absolute (`/x`, `file:///x`, `file://host/x`), any other scheme, a query or fragment,
// NUL and other control characters, backslashes, drive letters (`C:`), empty / `.` / `..`
// segments, segments over 255 bytes and paths over 4096 bytes (Linux NAME_MAX / PATH_MAX).
// The result uses forward slashes and is safe to join to the output directory.

import { LocalProtocolError, RemoteProtocolError } from '../errors.js';

export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const DRIVE = /^[A-Za-z]:/;
// C0 controls, DEL and C1 controls: never part of a file name we create.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function reject(why: string): never {
  throw new RemoteProtocolError('FCAST_PATH', why);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Strict percent-decoding: every `%` starts a two-digit hex escape; the bytes must be UTF-8. */
function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  const raw = utf8.encode(s);
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x25) {
      out[n++] = raw[i]!;
      continue;
    }
    const hi = i + 1 < raw.length ? hexValue(raw[i + 1]!) : -1;
    const lo = i + 2 < raw.length ? hexValue(raw[i + 2]!) : -1;
    if (hi < 0 || lo < 0) reject('bad percent escape');
    out[n++] = (hi << 4) | lo;
    i += 2;
  }
  try {
    return strictUtf8.decode(out.subarray(0, n));
  } catch {
    return reject('percent escapes are not UTF-8');
  }
}

/**
 * Map a Content-Location value to a safe relative path (segments joined by `/`), or throw
 * RemoteProtocolError FCAST_PATH.
 */
export function safeRelativePath(location: string): string {
  if (location.length === 0) reject('empty');
  if (location.length > 3 * MAX_PATH_BYTES) reject('too long');
  let path = location;
  const scheme = SCHEME.exec(path);
  if (scheme !== null) {
    if (DRIVE.test(path)) reject('drive letter');
    if (scheme[0].toLowerCase() !== 'file:') reject(`scheme ${scheme[0]}`);
    path = path.slice(scheme[0].length);
  }
  if (path.includes('?') || path.includes('#')) reject('query or fragment');
  path = percentDecode(path);
  if (path.length === 0) reject('empty');
  if (CONTROL.test(path)) reject('control character');
  if (path.includes('\\')) reject('backslash');
  if (path.startsWith('/')) reject('absolute path');
  if (utf8.encode(path).length > MAX_PATH_BYTES) reject('too long');
  const segments = path.split('/');
  for (const seg of segments) {
    if (seg === '' || seg === '.' || seg === '..') reject(`segment "${seg}"`);
    if (DRIVE.test(seg)) reject('drive letter');
    if (utf8.encode(seg).length > MAX_SEGMENT_BYTES) reject('segment too long');
  }
  return segments.join('/');
}

/**
 * Percent-encode a relative path (forward slashes) for Content-Location, segment by segment.
 * Throws LocalProtocolError WIRE_VALUE for a path the receiver's check would reject.
 */
export function encodeContentLocation(relativePath: string): string {
  let location: string;
  try {
    location = relativePath.split('/').map(encodeURIComponent).join('/');
  } catch {
    throw new LocalProtocolError('WIRE_VALUE', 'path is not well-formed Unicode');
  }
  try {
    safeRelativePath(location);
  } catch (e) {
    throw new LocalProtocolError('WIRE_VALUE', `path ${JSON.stringify(relativePath)} would be rejected: ${(e as Error).message}`);
  }
  return location;
}
