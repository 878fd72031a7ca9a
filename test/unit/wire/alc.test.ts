// ALC packets (RFC 5775), FEC Payload IDs (RFC 5445 §3.2.1, RFC 5170 §4.1), EXT_FTI (RFC 5445
// §3.2.2.2, RFC 5170 §4.2.4.1) and EXT_TIME (RFC 5651 §5.2.2): round-trips, the SPEC-NOTES byte
// layouts, and SPEC-NOTES §7 rows 7, 10, 11, 12 and 14.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { FecOti } from '../../../codecs/types.js';
import {
  alcHeaderSize,
  decodeAlcPacket,
  decodeExtTime,
  encodeAlcPacket,
  sameOti,
  type AlcPacketInit,
  type ExtTime,
} from '../../../src/wire/index.js';
import { expectCode, hex } from './helpers.js';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

function otiFor(encodingId: 0 | 3): fc.Arbitrary<FecOti> {
  const common = {
    encodingId: fc.constant(encodingId),
    transferLength: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    symbolSize: fc.integer({ min: 0, max: 0xffff }),
  };
  if (encodingId === 0) return fc.record({ ...common, maxSourceBlockLength: u32 });
  return fc.record({
    ...common,
    maxSourceBlockLength: fc.integer({ min: 0, max: 0xf_ffff }),
    maxEncodingSymbols: fc.integer({ min: 0, max: 0xf_ffff }),
    n1m3: fc.integer({ min: 0, max: 7 }),
    symbolsPerPacket: fc.integer({ min: 0, max: 31 }),
    seed: u32,
  });
}

const extTime: fc.Arbitrary<ExtTime> = fc
  .record({ sctHigh: u32, sctLow: u32, ert: u32, slc: u32 }, { requiredKeys: [] })
  .map((t) => (t.sctHigh === undefined ? { ...t, sctLow: undefined } : t));

const packet: fc.Arbitrary<AlcPacketInit> = fc.constantFrom<0 | 3>(0, 3).chain((codepoint) =>
  fc.record(
    {
      tsi: u32,
      toi: u32,
      codepoint: fc.constant(codepoint),
      cci: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      closeSession: fc.boolean(),
      closeObject: fc.boolean(),
      fti: fc.option(otiFor(codepoint), { nil: undefined }),
      time: fc.option(extTime, { nil: undefined }),
      auth: fc.option(fc.integer({ min: 0, max: 8 }).chain((w) => fc.uint8Array({ minLength: 4 * w + 2, maxLength: 4 * w + 2 })), { nil: undefined }),
      data: fc.option(
        fc.record({
          sbn: fc.integer({ min: 0, max: codepoint === 0 ? 0xffff : 0xfff }),
          esi: fc.integer({ min: 0, max: codepoint === 0 ? 0xffff : 0xf_ffff }),
          payload: fc.uint8Array({ maxLength: 64 }),
        }),
        { nil: undefined },
      ),
    },
    { requiredKeys: ['tsi', 'toi', 'codepoint', 'cci', 'closeSession', 'closeObject', 'fti', 'time', 'auth', 'data'] },
  ).map(({ data, ...rest }) => ({ ...rest, ...(data ?? {}) })),
);

function definedOnly(t: ExtTime | undefined): ExtTime | undefined {
  if (t === undefined) return undefined;
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));
}

describe('ALC packet', () => {
  it('round-trips every field, extension and payload ID for both FEC schemes', () => {
    fc.assert(
      fc.property(packet, (p) => {
        const out = new Uint8Array(1500);
        const n = encodeAlcPacket(out, p);
        expect(alcHeaderSize(p)).toBe(n - (p.payload?.length ?? 0));
        const d = decodeAlcPacket(out.subarray(0, n), { cciLength: 4, requireToi: true });
        expect(d.lct).toMatchObject({ tsi: p.tsi, toi: p.toi, codepoint: p.codepoint, closeSession: p.closeSession, closeObject: p.closeObject, psi: 0 });
        expect(d.lct.cci).toEqual(p.cci);
        const fti = p.fti === undefined ? undefined : { n1m3: undefined, maxEncodingSymbols: undefined, symbolsPerPacket: undefined, seed: undefined, ...p.fti };
        if (fti !== undefined && p.codepoint === 0) for (const k of ['n1m3', 'maxEncodingSymbols', 'symbolsPerPacket', 'seed'] as const) delete fti[k];
        expect(d.fti).toEqual(fti);
        expect(definedOnly(d.time)).toEqual(definedOnly(p.time));
        expect(d.auth).toEqual(p.auth);
        expect(d.payloadId).toEqual(p.sbn === undefined ? undefined : { sbn: p.sbn, esi: p.esi });
        expect(d.payload).toEqual(p.payload ?? new Uint8Array(0));
      }),
      { numRuns: 500 },
    );
  });

  it('adding the No-Code EXT_FTI to the worked example makes HDR_LEN 8', () => {
    const out = new Uint8Array(64);
    const n = encodeAlcPacket(out, { tsi: 1, toi: 2, codepoint: 0, fti: { encodingId: 0, transferLength: 1, symbolSize: 1, maxSourceBlockLength: 1 } });
    expect(n).toBe(32);
    expect([...out.subarray(0, 4)]).toEqual([0x10, 0xa0, 0x08, 0x00]);
  });

  it('writes the No-Code EXT_FTI as 40 04 | L | 00 00 | E | B', () => {
    const out = new Uint8Array(64);
    const n = encodeAlcPacket(out, { tsi: 1, toi: 2, codepoint: 0, fti: { encodingId: 0, transferLength: 1_000_000, symbolSize: 1400, maxSourceBlockLength: 300 } });
    expect(out.subarray(16, n)).toEqual(hex('40 04 00 00 00 0F 42 40 00 00 05 78 00 00 01 2C'));
  });

  it('writes the LDPC-Staircase EXT_FTI (HEL 5) with B and max_n sharing word 3', () => {
    const out = new Uint8Array(64);
    const oti: FecOti = { encodingId: 3, transferLength: 1_000_000, symbolSize: 1400, maxSourceBlockLength: 300, maxEncodingSymbols: 450, n1m3: 0, symbolsPerPacket: 1, seed: 1 };
    let n = encodeAlcPacket(out, { tsi: 1, toi: 2, codepoint: 3, fti: oti });
    expect(out.subarray(16, n)).toEqual(hex('40 05 00 00 00 0F 42 40 05 78 01 00 12 C0 01 C2 00 00 00 01'));
    const every: FecOti = { encodingId: 3, transferLength: 2 ** 48 - 1, symbolSize: 0xfffe, maxSourceBlockLength: 0xabcde, maxEncodingSymbols: 0xfedcb, n1m3: 5, symbolsPerPacket: 17, seed: 0x7ffffffe };
    n = encodeAlcPacket(out, { tsi: 1, toi: 2, codepoint: 3, fti: every });
    expect(out.subarray(16, n)).toEqual(hex('40 05 FF FF FF FF FF FF FF FE B1 AB CD EF ED CB 7F FF FF FE'));
    expect(decodeAlcPacket(out.subarray(0, n)).fti).toEqual(every);
  });

  it('splits the payload ID 16/16 for No-Code and 12/20 for LDPC-Staircase', () => {
    const base = '10 A0 04 0X  00000000 00000001 00000002  ABCDEF01 77';
    const nocode = decodeAlcPacket(hex(base.replace('0X', '00')));
    expect(nocode.payloadId).toEqual({ sbn: 0xabcd, esi: 0xef01 });
    const ldpc = decodeAlcPacket(hex(base.replace('0X', '03')));
    expect(ldpc.payloadId).toEqual({ sbn: 0xabc, esi: 0xdef01 });
    expect([...ldpc.payload]).toEqual([0x77]);
  });

  it('refuses SBN/ESI values the payload ID cannot carry', () => {
    const out = new Uint8Array(64);
    expectCode(() => encodeAlcPacket(out, { tsi: 1, toi: 2, codepoint: 3, sbn: 4096, esi: 0 }), 'WIRE_VALUE');
    expectCode(() => encodeAlcPacket(out, { tsi: 1, toi: 2, codepoint: 0, sbn: 0, esi: 65536 }), 'WIRE_VALUE');
    expectCode(() => encodeAlcPacket(out, { tsi: 2 ** 32, toi: 2, codepoint: 0 }), 'WIRE_VALUE');
  });

  it('a packet that ends at HDR_LEN·4 is a valid data-less packet (close session)', () => {
    const out = new Uint8Array(64);
    const n = encodeAlcPacket(out, { tsi: 9, toi: 0, codepoint: 3, closeSession: true });
    const d = decodeAlcPacket(out.subarray(0, n));
    expect(d.payloadId).toBeUndefined();
    expect(d.payload.length).toBe(0);
    expect(d.lct.closeSession).toBe(true);
  });
});

describe('ALC bad input (SPEC-NOTES §7)', () => {
  const ldpcFti = '40 05 00 00 00 0F 42 40 05 78 01 00 12 C0 01 C2 00 00 00 01';

  it('row 7: a multi-object session drops a packet without TOI', () => {
    const noToi = hex('10 80 03 00  00000000 00000001  00000000');
    expect(decodeAlcPacket(noToi).lct.toi).toBeUndefined();
    expectCode(() => decodeAlcPacket(noToi, { requireToi: true }), 'ALC_NO_TOI');
  });

  it('row 10: a malformed EXT_TIME is ignored and the packet kept', () => {
    // HEL 1 but ERT flagged; then SCT-Low without SCT-High.
    const short = decodeAlcPacket(hex('10 A0 05 00  00000000 00000001 00000002  02 01 2000'));
    expect(short.time).toBeUndefined();
    const lowOnly = decodeAlcPacket(hex('10 A0 06 00  00000000 00000001 00000002  02 02 4000 00000005'));
    expect(lowOnly.time).toBeUndefined();
    expect(lowOnly.lct.toi).toBe(2);
    expectCode(() => decodeExtTime(hex('2000')), 'EXT_TIME_LENGTH');
    expectCode(() => decodeExtTime(hex('4000 00000005')), 'EXT_TIME_FLAGS');
    expect(decodeExtTime(hex('F000 00000001 00000002 00000003 00000004'))).toEqual({ sctHigh: 1, sctLow: 2, ert: 3, slc: 4 });
    // Reserved Use bits are ignored; extra words beyond the flagged values too.
    expect(decodeExtTime(hex('20FF 00000007 00000009'))).toEqual({ ert: 7 });
  });

  it('row 11: an EXT_FTI whose HEL is not the scheme’s is dropped; two EXT_FTI conflict', () => {
    const nocodeFti = '40 04 00 00 00 0F 42 40 00 00 05 78 00 00 01 2C';
    expectCode(() => decodeAlcPacket(hex(`10 A0 08 03  00000000 00000001 00000002 ${nocodeFti}`)), 'FTI_LENGTH');
    expectCode(() => decodeAlcPacket(hex(`10 A0 09 00  00000000 00000001 00000002 ${ldpcFti}`)), 'FTI_LENGTH');
    expectCode(() => decodeAlcPacket(hex(`10 A0 0E 03  00000000 00000001 00000002 ${ldpcFti} ${ldpcFti}`)), 'FTI_CONFLICT');
    const a = decodeAlcPacket(hex(`10 A0 09 03  00000000 00000001 00000002 ${ldpcFti}`)).fti!;
    expect(sameOti(a, { ...a })).toBe(true);
    expect(sameOti(a, { ...a, seed: 2 })).toBe(false);
  });

  it('row 12: a codepoint outside our mapping (0, 3) is dropped', () => {
    expectCode(() => decodeAlcPacket(hex('10 A0 04 04  00000000 00000001 00000002')), 'ALC_CODEPOINT');
  });

  it('row 14: 1 to 3 bytes after the header (shorter than the payload ID) are dropped', () => {
    for (const tail of ['AA', 'AABB', 'AABBCC']) {
      expectCode(() => decodeAlcPacket(hex(`10 A0 04 00  00000000 00000001 00000002 ${tail}`)), 'ALC_PAYLOAD_ID');
    }
    expect(decodeAlcPacket(hex('10 A0 04 00  00000000 00000001 00000002 00010002')).payload.length).toBe(0);
  });

  it('the EXT_AUTH content is carried as a view, not verified', () => {
    const d = decodeAlcPacket(hex('10 A0 06 00  00000000 00000001 00000002  01 02 0102 03040506'));
    expect([...d.auth!]).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
