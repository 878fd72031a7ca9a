// The one bounds-checked cursor every wire decoder and encoder uses (STYLE §4, after quiche's
// `octets` and quinn's `coding.rs`). All integers are big-endian (network order), as RFC 5651
// §5.1 and RFC 6968 §2.1 require.
//
// Reader hands out `subarray` views, never copies: the caller decides when to copy (once, in
// src/assembly). Running past the end throws RemoteProtocolError WIRE_TRUNCATED: a reader only
// ever sees bytes from a peer. Writer writes into a caller-owned buffer (like quinn's
// `poll_transmit(buf)`); running out of room or an out-of-range value is our caller's mistake,
// so it throws LocalProtocolError.

import { LocalProtocolError, RemoteProtocolError } from '../errors.js';

const TWO_32 = 0x1_0000_0000;

/** Bounds-checked big-endian reader over `buf[start, end)`. */
export class Reader {
  private readonly buf: Uint8Array;
  private pos: number;
  private readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** Absolute position in the underlying buffer. */
  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n > this.end - this.pos) {
      throw new RemoteProtocolError('WIRE_TRUNCATED', `need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u24(): number {
    this.need(3);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** 48-bit unsigned integer; always exact in a JS number. */
  u48(): number {
    const hi = this.u16();
    return hi * TWO_32 + this.u32();
  }

  /** A view of the next `n` bytes (no copy). */
  bytes(n: number): Uint8Array {
    this.need(n);
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** A view of everything left; the reader is then at its end. */
  rest(): Uint8Array {
    const p = this.pos;
    this.pos = this.end;
    return this.buf.subarray(p, this.end);
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new LocalProtocolError('WIRE_VALUE', `${what} ${v} is not an integer in 0..${max}`);
  }
}

/** Bounds-checked big-endian writer into a caller-owned buffer, starting at `start`. */
export class Writer {
  private readonly buf: Uint8Array;
  private pos: number;

  constructor(buf: Uint8Array, start = 0) {
    this.buf = buf;
    this.pos = start;
  }

  /** Absolute position in the underlying buffer. */
  get offset(): number {
    return this.pos;
  }

  private room(n: number): void {
    if (n > this.buf.length - this.pos) {
      throw new LocalProtocolError('WIRE_TRUNCATED', `output buffer too small: need ${n} more bytes at offset ${this.pos}`);
    }
  }

  u8(v: number): void {
    checkUint(v, 0xff, 'u8');
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    checkUint(v, 0xffff, 'u16');
    this.room(2);
    const p = this.pos;
    this.buf[p] = v >>> 8;
    this.buf[p + 1] = v;
    this.pos = p + 2;
  }

  u24(v: number): void {
    checkUint(v, 0xff_ffff, 'u24');
    this.room(3);
    const p = this.pos;
    this.buf[p] = v >>> 16;
    this.buf[p + 1] = v >>> 8;
    this.buf[p + 2] = v;
    this.pos = p + 3;
  }

  u32(v: number): void {
    checkUint(v, 0xffff_ffff, 'u32');
    this.room(4);
    const p = this.pos;
    this.buf[p] = v >>> 24;
    this.buf[p + 1] = v >>> 16;
    this.buf[p + 2] = v >>> 8;
    this.buf[p + 3] = v;
    this.pos = p + 4;
  }

  u48(v: number): void {
    checkUint(v, 0xffff_ffff_ffff, 'u48');
    this.room(6);
    this.u16(Math.floor(v / TWO_32));
    this.u32(v % TWO_32);
  }

  bytes(src: Uint8Array): void {
    this.room(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  zeros(n: number): void {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }
}
