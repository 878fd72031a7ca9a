// FCAST compound objects (RFC 6968 §2.1, §3.3), metadata and the RFC 1071 checksum: the
// Appendix A.1 example, round-trips, and SPEC-NOTES §7 rows 23-28 and 30.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  InternetChecksum,
  decodeContent,
  decodeFcastHeader,
  decodeFcastObject,
  decodeMetadata,
  encodeFcastHeader,
  encodeFcastObject,
  encodeMetadata,
  internetChecksum,
  type FcastMetadataInit,
} from '../../../src/wire/index.js';
import { expectCode, hex } from './helpers.js';

const text = new TextEncoder();

/** A compound object built by hand: first two bytes, metadata, optional data; checksum fixed (G=0 header, G=1 whole). */
function raw(b0: number, b1: number, metadata: Uint8Array | string, data?: Uint8Array, pad = 0): Uint8Array {
  const md = typeof metadata === 'string' ? text.encode(metadata) : metadata;
  const hl = 8 + md.length;
  const padding = data === undefined ? 0 : (4 - (hl % 4)) % 4;
  const out = new Uint8Array(hl + padding + (data?.length ?? 0));
  out[0] = b0;
  out[1] = b1;
  new DataView(out.buffer).setUint32(4, hl);
  out.set(md, 8);
  if (padding > 0) out[hl] = pad;
  if (data !== undefined) out.set(data, hl + padding);
  const c = internetChecksum(out.subarray(0, b0 & 2 ? out.length : hl), 2);
  out[2] = c >>> 8;
  out[3] = c & 0xff;
  return out;
}

const token = fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/);
const value = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const metadataInit: fc.Arbitrary<FcastMetadataInit> = fc.record(
  {
    contentLocation: fc.stringMatching(/^[a-z0-9_]{1,10}(\/[a-z0-9_.]{1,10}){0,3}$/),
    contentLength: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    contentType: value,
    contentEncoding: fc.constant('gzip' as const),
    digestSha256: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    digestSha1: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    slice: fc.integer({ min: 1, max: 0xffff_ffff }).chain((nb) =>
      fc.record({ nb: fc.constant(nb), idx: fc.integer({ min: 0, max: nb - 1 }), offset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) }),
    ),
    cidComplete: fc.boolean(),
    cidId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    mtime: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    extra: fc.uniqueArray(fc.record({ name: token, value }), { maxLength: 3, selector: (i) => i.name.toLowerCase() }),
  },
  { requiredKeys: [] },
);

function withExtra<T extends FcastMetadataInit>(m: T): T & { extra: readonly { name: string; value: string }[] } {
  return { ...m, extra: m.extra ?? [] };
}

function definedOnly(o: object): object {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

describe('FCAST compound object', () => {
  it('RFC 6968 A.1: Content-Location: example_1.txt gives 00 00 E6 28 00 00 00 29, data at 44', () => {
    const data = text.encode('hello');
    const obj = encodeFcastObject({ metadata: { contentLocation: 'example_1.txt' } }, data);
    expect(obj.subarray(0, 8)).toEqual(hex('00 00 E6 28 00 00 00 29'));
    expect(new TextDecoder().decode(obj.subarray(8, 41))).toBe('Content-Location: example_1.txt\r\n');
    expect([...obj.subarray(41, 44)]).toEqual([0, 0, 0]);
    const { header, data: d } = decodeFcastObject(obj);
    expect(header).toMatchObject({ version: 0, global: false, cid: false, headerLength: 41, dataOffset: 44, dataLength: 5, checksum: 0xe628, checksumVerified: true });
    expect(header.metadata.contentLocation).toBe('example_1.txt');
    expect(d).toEqual(data);
  });

  it('round-trips metadata, flags, MDEnc and data (property)', () => {
    fc.assert(
      fc.property(metadataInit, fc.boolean(), fc.boolean(), fc.constantFrom<0 | 1>(0, 1), fc.uint8Array({ maxLength: 50 }), (metadata, global, cid, mdEnc, data) => {
        const obj = encodeFcastObject({ metadata, global, cid, mdEnc }, data);
        const { header, data: d } = decodeFcastObject(obj);
        expect(header).toMatchObject({ global, cid, mdEnc, dataLength: data.length, checksumVerified: true });
        expect(header.dataOffset % 4 === 0 || data.length === 0).toBe(true);
        expect(definedOnly(header.metadata)).toEqual(definedOnly(withExtra(metadata)));
        expect(d).toEqual(data);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes the header from a prefix; G=1 is left to the streaming checksum until the whole object is there', () => {
    const data = new Uint8Array(1000).map((_, i) => i * 7);
    const obj = encodeFcastObject({ metadata: { contentLocation: 'a/b.bin', contentLength: 1000 }, global: true }, data);
    const h = decodeFcastHeader(obj.subarray(0, 100), obj.length);
    expect(h).toMatchObject({ global: true, checksumVerified: false, dataLength: 1000 });
    expectCode(() => decodeFcastHeader(obj.subarray(0, 20), obj.length), 'WIRE_TRUNCATED');
    // The receiver streams the object in odd-sized chunks.
    const c = new InternetChecksum();
    for (let i = 0; i < obj.length; i += 37) c.update(obj.subarray(i, i + 37));
    expect(c.verify()).toBe(true);
    obj[500] ^= 1;
    const bad = new InternetChecksum().update(obj);
    expect(bad.verify()).toBe(false);
  });

  it('encodeFcastHeader with a data summary equals encodeFcastObject (streaming sender)', () => {
    const data = new Uint8Array(333).map((_, i) => (i * 31) & 0xff);
    for (const global of [false, true]) {
      const init = { metadata: { contentLocation: 'x' }, global };
      const header = encodeFcastHeader(init, { length: data.length, sum: new InternetChecksum().update(data).partialSum });
      expect(encodeFcastObject(init, data).subarray(0, header.length)).toEqual(header);
    }
  });

  it('an object without data has no padding', () => {
    const obj = encodeFcastObject({ metadata: { contentLocation: 'empty.txt', contentLength: 0 } });
    expect(obj.length).toBe(8 + 'Content-Location: empty.txt\r\nContent-Length: 0\r\n'.length);
    expect(decodeFcastObject(obj).header.dataLength).toBe(0);
  });
});

describe('Internet checksum (RFC 1071)', () => {
  it('matches the RFC 1071 §3 example sum', () => {
    // 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (one's complement sum), checksum 220d.
    const c = new InternetChecksum().update(hex('0001f203f4f5f6f7'));
    expect(c.partialSum).toBe(0xddf2);
    expect(c.digest()).toBe(0x220d);
  });

  it('is independent of how the bytes are chunked (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 6 }), (bytes, cuts) => {
        const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
        const c = new InternetChecksum();
        let from = 0;
        for (const p of [...points, bytes.length]) {
          c.update(bytes.subarray(from, p));
          from = p;
        }
        expect(c.digest()).toBe(internetChecksum(bytes));
      }),
    );
  });
});

describe('FCAST bad input (SPEC-NOTES §7)', () => {
  const md = 'Content-Location: a.txt\r\n';

  it('row 23: Ver ≠ 0, MDFmt ≠ 0, MDEnc ∉ {0,1} reject the object', () => {
    expectCode(() => decodeFcastObject(raw(0x20, 0, md)), 'FCAST_VERSION');
    expectCode(() => decodeFcastObject(raw(0xe0, 0, md)), 'FCAST_VERSION');
    expectCode(() => decodeFcastObject(raw(0, 0x10, md)), 'FCAST_FORMAT');
    expectCode(() => decodeFcastObject(raw(0, 0x02, md)), 'FCAST_FORMAT');
    // Resvd bits are ignored.
    expect(decodeFcastObject(raw(0x1c, 0, md)).header.metadata.contentLocation).toBe('a.txt');
  });

  it('row 24: HL < 8, HL > transfer length, a transfer length inside the padding, non-zero padding', () => {
    const obj = raw(0, 0, md, text.encode('data'));
    const hlAt = (hl: number): Uint8Array => {
      const o = obj.slice();
      new DataView(o.buffer).setUint32(4, hl);
      return o;
    };
    expectCode(() => decodeFcastHeader(hlAt(7), obj.length), 'FCAST_HEADER_LENGTH');
    expectCode(() => decodeFcastHeader(hlAt(obj.length + 1), obj.length), 'FCAST_HEADER_LENGTH');
    expectCode(() => decodeFcastHeader(obj, 6), 'FCAST_HEADER_LENGTH');
    // HL = 33: padding is 3 bytes, so a transfer length of 34 or 35 ends inside it; 36 has padding but no data.
    expectCode(() => decodeFcastHeader(obj, 34), 'FCAST_HEADER_LENGTH');
    expectCode(() => decodeFcastHeader(obj, 36), 'FCAST_PADDING');
    expectCode(() => decodeFcastObject(raw(0, 0, md, text.encode('data'), 7)), 'FCAST_PADDING');
    expectCode(() => decodeFcastHeader(obj, obj.length, { maxHeaderLength: 16 }), 'FCAST_HEADER_LENGTH');
  });

  it('row 25: a checksum mismatch rejects the object (header for G=0, whole object for G=1)', () => {
    const g0 = raw(0, 0, md, text.encode('data'));
    g0[10] ^= 0x20;
    expectCode(() => decodeFcastObject(g0), 'FCAST_CHECKSUM');
    const g0data = raw(0, 0, md, text.encode('data'));
    g0data[g0data.length - 1] ^= 1;
    expect(decodeFcastObject(g0data).header.checksumVerified).toBe(true);
    const g1 = raw(2, 0, md, text.encode('data'));
    expect(decodeFcastObject(g1).header.checksumVerified).toBe(true);
    g1[g1.length - 1] ^= 1;
    expectCode(() => decodeFcastObject(g1), 'FCAST_CHECKSUM');
  });

  it('row 26: gzip that will not inflate, non-UTF-8, a line without ":" or CRLF, bad numbers', () => {
    expectCode(() => decodeFcastObject(raw(0, 1, hex('1f8b0800deadbeef'))), 'FCAST_METADATA');
    expect(decodeFcastObject(raw(0, 1, gzipSync(text.encode(md)))).header.metadata.contentLocation).toBe('a.txt');
    expectCode(() => decodeFcastObject(raw(0, 0, hex('436f6e74656e742d547970653a20ff0d0a'))), 'FCAST_METADATA');
    expectCode(() => decodeFcastObject(raw(0, 0, 'Content-Location a.txt\r\n')), 'FCAST_METADATA');
    expectCode(() => decodeFcastObject(raw(0, 0, 'Content-Location: a.txt\n')), 'FCAST_METADATA');
    expectCode(() => decodeFcastObject(raw(0, 0, 'Content-Location: a.txt')), 'FCAST_METADATA');
    expectCode(() => decodeFcastObject(raw(0, 0, 'Content-Location: a\rb\r\n')), 'FCAST_METADATA');
    for (const n of ['-1', '1e3', '0x10', '', '99999999999999999999', '1 2']) {
      expectCode(() => decodeFcastObject(raw(0, 0, `Content-Length: ${n}\r\n`)), 'FCAST_METADATA');
    }
    expectCode(() => decodeFcastObject(raw(0, 0, 'Fcast-Obj-Slice-Nb: 2\r\nFcast-Obj-Slice-Idx: x\r\nFcast-Obj-Slice-Offset: 0\r\n')), 'FCAST_METADATA');
    expectCode(() => decodeFcastObject(raw(0, 0, 'Content-Type: a\r\ncontent-type: b\r\n')), 'FCAST_METADATA');
    expectCode(() => decodeFcastObject(raw(0, 0, 'Fcast-Obj-Digest-SHA256: AAAA\r\n')), 'FCAST_METADATA');
    expectCode(() => decodeFcastObject(raw(0, 0, 'Fcast-Obj-Mode: 0999\r\n')), 'FCAST_METADATA');
  });

  it('row 26: gzip metadata that inflates beyond the cap is rejected, not allocated', () => {
    const bomb = gzipSync(text.encode(`X-Pad: ${'a'.repeat(3 << 20)}\r\n`));
    expect(bomb.length).toBeLessThan(10_000);
    expectCode(() => decodeFcastObject(raw(0, 1, bomb)), 'FCAST_METADATA');
  });

  it('row 27: unknown Content-Encoding, a gzip body that fails, Content-Length ≠ decoded length', () => {
    expectCode(() => decodeFcastObject(raw(0, 0, 'Content-Encoding: br\r\n')), 'FCAST_CONTENT_ENCODING');
    const body = text.encode('0123456789');
    const gz = gzipSync(body);
    const m = decodeMetadata(text.encode(`Content-Encoding: gzip\r\nContent-Length: ${body.length}\r\n`));
    expect(decodeContent(m, gz, 1 << 20)).toEqual(new Uint8Array(body));
    expectCode(() => decodeContent(m, gz.subarray(0, gz.length - 3), 1 << 20), 'FCAST_CONTENT_ENCODING');
    expectCode(() => decodeContent(decodeMetadata(text.encode('Content-Length: 9\r\n')), body, 1 << 20), 'FCAST_CONTENT_LENGTH');
    // A gzip body larger than Content-Length says is stopped at the cap.
    expectCode(() => decodeContent(decodeMetadata(text.encode('Content-Encoding: gzip\r\nContent-Length: 5\r\n')), gz, 1 << 20), 'FCAST_CONTENT_ENCODING');
  });

  it('row 28: digests are decoded for the receiver to compare; a malformed one is rejected here', () => {
    const sha = new Uint8Array(32).fill(7);
    const m = decodeMetadata(encodeMetadata({ digestSha256: sha, digestSha1: new Uint8Array(20) }));
    expect(m.digestSha256).toEqual(sha);
    expectCode(() => decodeMetadata(text.encode('Fcast-Obj-Digest-SHA1: !!!!\r\n')), 'FCAST_METADATA');
  });

  it('row 30: slice items partly present, or Idx ≥ Nb', () => {
    expectCode(() => decodeMetadata(text.encode('Fcast-Obj-Slice-Nb: 2\r\n')), 'FCAST_SLICE');
    expectCode(() => decodeMetadata(text.encode('Fcast-Obj-Slice-Nb: 2\r\nFcast-Obj-Slice-Idx: 2\r\nFcast-Obj-Slice-Offset: 0\r\n')), 'FCAST_SLICE');
    expect(decodeMetadata(text.encode('fcast-obj-slice-nb: 2\r\nFcast-Obj-Slice-Idx: 1\r\nFcast-Obj-Slice-Offset: 10\r\n')).slice).toEqual({ nb: 2, idx: 1, offset: 10 });
  });

  it('keeps unknown items in order and our mtime/mode items typed', () => {
    const m = decodeMetadata(text.encode('X-B: 2\r\nFcast-Obj-Mtime: 1700000000\r\nX-A:1\r\nFcast-Obj-Mode: 644\r\n'));
    expect(m.extra).toEqual([{ name: 'X-B', value: '2' }, { name: 'X-A', value: '1' }]);
    expect(m.mtime).toBe(1_700_000_000);
    expect(m.mode).toBe(0o644);
  });

  it('the encoder refuses values that would break the line format', () => {
    expectCode(() => encodeMetadata({ contentType: 'a\r\nContent-Location: /etc/passwd' }), 'WIRE_VALUE');
    expectCode(() => encodeMetadata({ extra: [{ name: 'Content-Length', value: '1' }] }), 'WIRE_VALUE');
    expectCode(() => encodeMetadata({ extra: [{ name: 'Bad Name', value: '1' }] }), 'WIRE_VALUE');
  });
});
