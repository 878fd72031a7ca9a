// Carousel Instance Descriptors (RFC 6968 §2.2, §3.5): the Appendix A.2 example, list building
// and round-trips, and SPEC-NOTES §7 rows 31-32.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildCidList,
  checkCiid,
  cidContains,
  cidCount,
  decodeCidList,
  decodeCidObject,
  encodeCidList,
  encodeCidObject,
  encodeFcastObject,
  internetChecksum,
} from '../../../src/wire/index.js';
import { expectCode, hex } from './helpers.js';

const text = new TextEncoder();
const list = (s: string, maxToi?: number) => decodeCidList(text.encode(s), { maxToi });

describe('CID objects', () => {
  it('RFC 6968 A.2: 57 bytes starting 03 00 C2 5C 00 00 00 1F', () => {
    const tois = [1, 2, 3, 100, 101, 102, 103, 104, 200, 201, 202, 203, 299];
    const l = buildCidList(tois);
    expect(encodeCidList(l)).toBe('1,2,3,100-104,200-203,299');
    const obj = encodeCidObject({ list: l, complete: true, contentLength: false });
    expect(obj.length).toBe(57);
    expect(obj.subarray(0, 8)).toEqual(hex('03 00 C2 5C 00 00 00 1F'));
    const cid = decodeCidObject(obj);
    expect(cid).toMatchObject({ complete: true, ciid: undefined });
    expect(cid.header).toMatchObject({ cid: true, global: true, headerLength: 31, dataOffset: 32 });
    expect(cidCount(cid.list)).toBe(13);
    for (const t of tois) expect(cidContains(cid.list, t)).toBe(true);
    expect(cidContains(cid.list, 105)).toBe(false);
  });

  it('an empty CID with a new CIID is valid and has no padding', () => {
    const obj = encodeCidObject({ list: buildCidList([]), ciid: 8 });
    const cid = decodeCidObject(obj);
    expect(cid).toMatchObject({ complete: false, ciid: 8, list: { ranges: [], equivalences: [] } });
    expect(obj.length).toBe(cid.header.headerLength);
  });

  it('build → encode → decode keeps every TOI, across a wrap of the TOI space (property)', () => {
    const maxToi = 0xffff_ffff;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: maxToi }),
        fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 200 }),
        fc.constantFrom<0 | 1>(0, 1),
        (from, offsets, mdEnc) => {
          const tois = offsets.map((o) => (from + o) % (maxToi + 1));
          const l = buildCidList(tois, { from, equivalences: [{ newToi: (from + 6000) % (maxToi + 1), oldToi: 3, ciid: 1 }] });
          const s = encodeCidList(l);
          expect(encodeCidList(list(s))).toBe(s);
          const cid = decodeCidObject(encodeCidObject({ list: l, ciid: 4, mdEnc }));
          expect(cid.list).toEqual(l);
          expect(cidCount(cid.list)).toBe(tois.length);
          for (const t of tois) expect(cidContains(cid.list, t)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('accepts the wrap form a-MAX_TOI,0-b and a TOI listed both plainly and in an equivalence', () => {
    expect(list('4294967290-4294967295,0-5').ranges).toEqual([{ first: 4294967290, last: 4294967295 }, { first: 0, last: 5 }]);
    expect(list('65530,65535,0,3', 0xffff).ranges.length).toBe(4);
    expect(list('5,7,(5=1/0),(9=2/0)').equivalences).toEqual([{ newToi: 5, oldToi: 1, ciid: 0 }, { newToi: 9, oldToi: 2, ciid: 0 }]);
    expect(list('').ranges).toEqual([]);
  });
});

describe('CID bad input (SPEC-NOTES §7 rows 31-32)', () => {
  it('row 31: characters outside the ABNF, empty elements, numbers past MAX_TOI', () => {
    for (const s of ['1;2', '1 ,2', 'a', '+1', '1,,2', ',1', '1,', '()', '(1=2)', '(1=2/3', '1-', '-1', '1-2-3', '4294967296', '65536']) {
      expectCode(() => list(s, s === '65536' ? 0xffff : undefined), 'CID_LIST');
    }
  });

  it('row 31: an interval with a ≥ b, TOIs not increasing, duplicates', () => {
    for (const s of ['5-5', '6-5', '3,2', '1,1', '1-5,3', '1-5,5', '10,4294967295-3', '4294967290-4294967295,0-4294967291', '2000000000,1,5']) {
      expectCode(() => list(s), 'CID_LIST');
    }
  });

  it('row 31: equivalences not at the end, out of order or repeated', () => {
    for (const s of ['(5=1/0),6', '(6=1/0),(5=2/0)', '(5=1/0),(5=1/0)']) expectCode(() => list(s), 'CID_LIST');
  });

  it('row 31: Fcast-CID-Complete ∉ {0,1}, padding after an empty list, Content-Length ≠ list length, C = 0', () => {
    const cidObj = (md: string, data?: Uint8Array): Uint8Array => {
      const metadata = text.encode(md);
      const hl = 8 + metadata.length;
      const pad = data === undefined ? 0 : (4 - (hl % 4)) % 4;
      const o = new Uint8Array(hl + pad + (data?.length ?? 0));
      o[0] = 1;
      new DataView(o.buffer).setUint32(4, hl);
      o.set(metadata, 8);
      if (data !== undefined) o.set(data, hl + pad);
      const c = internetChecksum(o.subarray(0, hl), 2);
      o[2] = c >>> 8;
      o[3] = c & 0xff;
      return o;
    };
    expectCode(() => decodeCidObject(cidObj('Fcast-CID-Complete: 2\r\n')), 'CID_LIST');
    expectCode(() => decodeCidObject(cidObj('Fcast-CID-Complete: 1\r\n', new Uint8Array(0))), 'CID_LIST');
    expect(decodeCidObject(cidObj('Fcast-CID-Complete: 1\r\n')).complete).toBe(true);
    expectCode(() => decodeCidObject(cidObj('Content-Length: 4\r\n', text.encode('1,2'))), 'CID_LIST');
    expect(decodeCidObject(cidObj('Content-Length: 3\r\n', text.encode('1,2'))).list.ranges.length).toBe(2);
    expectCode(() => decodeCidObject(encodeFcastObject({ metadata: {} }, text.encode('1'))), 'CID_LIST');
  });

  it('row 32: CIID missing while several instances are in use, or going backwards', () => {
    expectCode(() => checkCiid(undefined, undefined, true), 'CID_ID');
    expectCode(() => checkCiid(3, undefined, false), 'CID_ID');
    expectCode(() => checkCiid(3, 2, true), 'CID_ID');
    expect(() => checkCiid(undefined, undefined, false)).not.toThrow();
    expect(() => checkCiid(3, 3, true)).not.toThrow();
    expect(() => checkCiid(3, 4, true)).not.toThrow();
  });
});
