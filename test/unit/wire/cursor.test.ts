import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Reader, Writer } from '../../../src/wire/index.js';
import { codeOf } from './helpers.js';

describe('Reader / Writer', () => {
  it('round-trip every integer width at its extremes and at random values', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xff_ffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 0xffff_ffff_ffff }),
        fc.uint8Array({ maxLength: 20 }),
        (a, b, c, d, e, bytes) => {
          const buf = new Uint8Array(18 + bytes.length);
          const w = new Writer(buf);
          w.u8(a); w.u16(b); w.u24(c); w.u32(d); w.u48(e); w.zeros(2); w.bytes(bytes);
          expect(w.offset).toBe(buf.length);
          const r = new Reader(buf);
          expect([r.u8(), r.u16(), r.u24(), r.u32(), r.u48()]).toEqual([a, b, c, d, e]);
          r.skip(2);
          expect(r.bytes(bytes.length)).toEqual(bytes);
          expect(r.remaining).toBe(0);
        },
      ),
    );
  });

  it('reads big-endian and hands out views, not copies', () => {
    const buf = Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0x9a]);
    const r = new Reader(buf);
    expect(r.u32()).toBe(0x12345678);
    const v = r.rest();
    v[0] = 0;
    expect(buf[4]).toBe(0);
  });

  it('throws WIRE_TRUNCATED past the end, even inside a window', () => {
    const r = new Reader(new Uint8Array(10), 2, 5);
    expect(codeOf(() => r.u32())).toBe('WIRE_TRUNCATED');
    expect(r.u24()).toBe(0);
    expect(codeOf(() => r.u8())).toBe('WIRE_TRUNCATED');
    expect(codeOf(() => r.bytes(1))).toBe('WIRE_TRUNCATED');
  });

  it('refuses out-of-range values and a full buffer with local errors', () => {
    const w = new Writer(new Uint8Array(3));
    expect(codeOf(() => w.u8(256))).toBe('WIRE_VALUE');
    expect(codeOf(() => w.u16(-1))).toBe('WIRE_VALUE');
    expect(codeOf(() => w.u32(1.5))).toBe('WIRE_VALUE');
    expect(codeOf(() => w.u32(0))).toBe('WIRE_TRUNCATED');
  });
});
