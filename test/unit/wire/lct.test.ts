// LCT header (RFC 5651 §5.1, §5.2.1): round-trips over every width and flag, the SPEC-NOTES
// worked example, and the SPEC-NOTES §7 rows 1-5, 8 and 9.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeLctHeader, encodeLctHeader, type LctExtension, type LctHeaderInit } from '../../../src/wire/index.js';
import { expectCode, hex } from './helpers.js';

const widths = fc.constantFrom(
  [16, 16], [16, 48], [16, 80], [16, 112], [48, 16], [48, 48], [48, 80], [48, 112],
  [32, 0], [32, 32], [32, 64], [32, 96],
);

function valueFor(bits: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constant(0),
    fc.constant(Math.min(2 ** bits, 2 ** 53) - 1),
    fc.integer({ min: 0, max: Math.min(2 ** bits, 2 ** 53) - 1 }),
  );
}

const extension: fc.Arbitrary<LctExtension> = fc.oneof(
  fc.record({ het: fc.integer({ min: 128, max: 255 }), content: fc.uint8Array({ minLength: 3, maxLength: 3 }) }),
  fc.integer({ min: 0, max: 20 }).chain((words) =>
    fc.record({ het: fc.integer({ min: 0, max: 127 }), content: fc.uint8Array({ minLength: 4 * words + 2, maxLength: 4 * words + 2 }) }),
  ),
);

const lctInit: fc.Arbitrary<LctHeaderInit> = widths.chain(([tsiBits, toiBits]) =>
  fc.record({
    tsiBits: fc.constant(tsiBits!),
    toiBits: fc.constant(toiBits!),
    tsi: valueFor(tsiBits!),
    toi: toiBits === 0 ? fc.constant(undefined) : valueFor(toiBits!),
    cci: fc.integer({ min: 1, max: 4 }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n })),
    psi: fc.integer({ min: 0, max: 3 }),
    closeSession: fc.boolean(),
    closeObject: fc.boolean(),
    codepoint: fc.integer({ min: 0, max: 255 }),
    extensions: fc.array(extension, { maxLength: 6 }),
  }),
);

describe('LCT header', () => {
  it('round-trips every field, flag, TSI/TOI width, CCI length and extension form', () => {
    fc.assert(
      fc.property(lctInit, (init) => {
        const out = new Uint8Array(1100);
        const n = encodeLctHeader(out, init);
        const h = decodeLctHeader(out.subarray(0, n), { cciLength: init.cci!.length });
        expect(h.headerLength).toBe(n);
        expect(h.tsi).toBe(init.tsi);
        expect(h.toi).toBe(init.toi);
        expect(h.cci).toEqual(init.cci);
        expect(h.cciLength).toBe(init.cci!.length);
        expect(h.psi).toBe(init.psi);
        expect(h.closeSession).toBe(init.closeSession);
        expect(h.closeObject).toBe(init.closeObject);
        expect(h.codepoint).toBe(init.codepoint);
        expect(h.extensions.map((e) => [e.het, [...e.content]])).toEqual(init.extensions!.map((e) => [e.het, [...e.content]]));
      }),
      { numRuns: 300 },
    );
  });

  it('worked example: V=1, C=0, S=1, O=1, H=0, CP=0 gives the first word 10 A0 04 00', () => {
    const out = new Uint8Array(16);
    expect(encodeLctHeader(out, { tsi: 0x01020304, toi: 7, codepoint: 0 })).toBe(16);
    expect([...out.subarray(0, 4)]).toEqual([0x10, 0xa0, 0x04, 0x00]);
    const h = decodeLctHeader(out);
    expect(h).toMatchObject({ tsi: 0x01020304, toi: 7, headerLength: 16, cciLength: 4, extensions: [] });
  });

  it('reads a TOI of 112 bits by value, and refuses one at or above 2^53 (LCT_TOI_RANGE)', () => {
    const out = new Uint8Array(40);
    const n = encodeLctHeader(out, { tsi: 1, tsiBits: 16, toi: 2 ** 53 - 1, toiBits: 112, codepoint: 0 });
    expect(decodeLctHeader(out.subarray(0, n)).toi).toBe(2 ** 53 - 1);
    // Set bit 53 of the TOI: the last 7 bytes hold bits 0..55.
    out[n - 7] = 0x20;
    expectCode(() => decodeLctHeader(out.subarray(0, n)), 'LCT_TOI_RANGE');
    out[n - 7] = 0;
    out[n - 14] = 1; // a high-order byte of the 112-bit field
    expectCode(() => decodeLctHeader(out.subarray(0, n)), 'LCT_TOI_RANGE');
  });

  it('ignores the Res bits and PSI (RFC 5651 §5.1)', () => {
    const h = decodeLctHeader(hex('13 AC 04 05  00000000 00000001 00000002'));
    expect(h).toMatchObject({ psi: 3, tsi: 1, toi: 2, codepoint: 5, closeSession: false, closeObject: false });
  });

  it('refuses a TSI/TOI width pair that needs two different H flags', () => {
    expectCode(() => encodeLctHeader(new Uint8Array(64), { tsi: 1, tsiBits: 16, toi: 1, toiBits: 32, codepoint: 0 }), 'WIRE_VALUE');
  });
});

describe('LCT bad input (SPEC-NOTES §7)', () => {
  const good = hex('10 A0 04 00  00000000 00000001 00000002');

  it('row 1: a datagram shorter than 4 bytes or than HDR_LEN·4 is dropped', () => {
    expectCode(() => decodeLctHeader(good.subarray(0, 3)), 'WIRE_TRUNCATED');
    expectCode(() => decodeLctHeader(good.subarray(0, 15)), 'LCT_HDR_LEN');
  });

  it('row 2: V ≠ 1 is dropped', () => {
    for (const v of [0, 2, 15]) {
      const p = good.slice();
      p[0] = (v << 4) | (p[0]! & 0xf);
      expectCode(() => decodeLctHeader(p), 'LCT_BAD_VERSION');
    }
  });

  it('row 3: HDR_LEN·4 below 4 + CCI + TSI + TOI is dropped', () => {
    const p = good.slice();
    p[2] = 3;
    expectCode(() => decodeLctHeader(p), 'LCT_HDR_LEN');
    const wide = hex('10 E0 05 00  00000000 00000001 00000000 00000002'); // O=3: TOI of 96 bits needs 24 bytes
    expectCode(() => decodeLctHeader(wide), 'LCT_HDR_LEN');
  });

  it('row 4: a CCI length other than the session’s is dropped', () => {
    const p = hex('14 A0 05 00  00000000 00000000 00000001 00000002');
    expect(decodeLctHeader(p).cciLength).toBe(8);
    expectCode(() => decodeLctHeader(p, { cciLength: 4 }), 'LCT_CCI_LENGTH');
    expect(decodeLctHeader(good, { cciLength: 4 }).cciLength).toBe(4);
  });

  it('row 5: S=0 and H=0 (no TSI) is dropped', () => {
    expectCode(() => decodeLctHeader(hex('10 20 03 00  00000000 00000002')), 'ALC_NO_TSI');
  });

  it('row 8: HEL = 0 and HEL past HDR_LEN are dropped', () => {
    expectCode(() => decodeLctHeader(hex('10 A0 05 00  00000000 00000001 00000002  05 00 0000')), 'LCT_EXT_LENGTH');
    expectCode(() => decodeLctHeader(hex('10 A0 05 00  00000000 00000001 00000002  05 02 0000 00000000')), 'LCT_EXT_LENGTH');
  });

  it('row 9: an unknown HET is skipped and the packet kept', () => {
    const h = decodeLctHeader(hex('10 A0 07 00  00000000 00000001 00000002  63 02 AAAA BBBBBBBB  C8 010203'));
    expect(h.extensions.map((e) => e.het)).toEqual([0x63, 0xc8]);
    expect([...h.extensions[1]!.content]).toEqual([1, 2, 3]);
    expect(h.toi).toBe(2);
  });
});
