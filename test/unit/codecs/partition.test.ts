// RFC 5052 §9.1 partitioning and RFC 5170 §5.5 n-algorithm (SPEC-NOTES §3.2 and §4.2 examples).
import { describe, expect, it } from 'vitest';
import { divCeil, divFloor, ldpcBlockN, partitionBlocks, partitionCounts } from '../../../codecs/partition.js';
import { createOti, ldpcStaircase, noCode } from '../../../codecs/index.js';

describe('RFC 5052 §9.1 partitioning', () => {
  it('SPEC-NOTES §3.2 worked example: L=1,000,000, E=1400, B=300', () => {
    expect(partitionCounts(1_000_000, 1400, 300)).toEqual({ symbols: 715, blockCount: 3, largeK: 239, smallK: 238, largeCount: 1 });
    const blocks = noCode.partition({ encodingId: 0, transferLength: 1_000_000, symbolSize: 1400, maxSourceBlockLength: 300 }).blocks;
    expect(blocks.map((b) => [b.sbn, b.k, b.offset, b.length])).toEqual([
      [0, 239, 0, 334_600],
      [1, 238, 334_600, 333_200],
      [2, 238, 667_800, 332_200],
    ]);
    // The last symbol is 400 bytes.
    expect(blocks[2]!.length - 237 * 1400).toBe(400);
  });

  it('SPEC-NOTES §4.2: CR = 2/3, max_n = 450 gives n = 358, 357, 357', () => {
    const oti = createOti(1_000_000, { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 300, codeRate: 2 / 3 });
    expect(oti.maxEncodingSymbols).toBe(450);
    expect(ldpcStaircase.partition(oti).blocks.map((b) => [b.k, b.n])).toEqual([[239, 358], [238, 357], [238, 357]]);
    expect(ldpcBlockN(239, 450, 300)).toBe(358);
  });

  it('L = 0 gives no blocks; L < E one short symbol; exact multiples have no short symbol', () => {
    expect(partitionCounts(0, 1024, 10).blockCount).toBe(0);
    const tiny = partitionBlocks({ encodingId: 0, transferLength: 5, symbolSize: 1024, maxSourceBlockLength: 10 }, (k) => k);
    expect(tiny).toEqual([{ sbn: 0, k: 1, n: 1, offset: 0, length: 5 }]);
    const exact = partitionBlocks({ encodingId: 0, transferLength: 3 * 10 * 64, symbolSize: 64, maxSourceBlockLength: 10 }, (k) => k);
    expect(exact.map((b) => [b.k, b.offset, b.length])).toEqual([[10, 0, 640], [10, 640, 640], [10, 1280, 640]]);
    const oneMore = partitionCounts(3 * 10 * 64 + 1, 64, 10);
    expect(oneMore).toEqual({ symbols: 31, blockCount: 4, largeK: 8, smallK: 7, largeCount: 3 });
  });

  it('stays exact up to L = 2^48 − 1', () => {
    const l = 2 ** 48 - 1;
    for (const [e, b] of [[1, 1 << 20], [65535, 1 << 20], [1400, 999_983], [3, 7]] as const) {
      const p = partitionCounts(l, e, b);
      const t = (BigInt(l) + BigInt(e) - 1n) / BigInt(e);
      const n = (t + BigInt(b) - 1n) / BigInt(b);
      expect(BigInt(p.symbols)).toBe(t);
      expect(BigInt(p.blockCount)).toBe(n);
      expect(BigInt(p.smallK)).toBe(t / n);
      expect(BigInt(p.largeCount)).toBe(t - (t / n) * n);
    }
    expect(divFloor(2 ** 53 - 1, 3)).toBe(Number((2n ** 53n - 1n) / 3n));
    expect(divCeil(2 ** 52 + 1, 2)).toBe(2 ** 51 + 1);
  });
});

describe('LDPC OTI validation (SPEC-NOTES §7 row 19)', () => {
  const good = { encodingId: 3, transferLength: 1_000_000, symbolSize: 1024, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, n1m3: 0, symbolsPerPacket: 1, seed: 1 } as const;
  const cases: [string, Record<string, number | undefined>, RegExp][] = [
    ['N1m3 > 7', { n1m3: 8 }, /N1m3/],
    ['G = 0', { symbolsPerPacket: 0 }, /G=0/],
    ['G = 32', { symbolsPerPacket: 32 }, /G=32/],
    ['G > 1 (not supported)', { symbolsPerPacket: 2 }, /not supported/],
    ['seed 0', { seed: 0 }, /seed/],
    ['seed 2^31 − 1', { seed: 0x7fffffff }, /seed/],
    ['max_n > 2^20', { maxEncodingSymbols: 2 ** 20 + 1 }, /max_n/],
    ['max_n < B', { maxEncodingSymbols: 999 }, /max_n/],
    ['B = 0', { maxSourceBlockLength: 0 }, /B=0/],
    ['E = 0', { symbolSize: 0 }, /E=0/],
    ['L > 2^12·B·E', { transferLength: 2 ** 12 * 1000 * 1024 + 1 }, /exceeds/],
    ['more than 4096 blocks', { maxSourceBlockLength: 10, maxEncodingSymbols: 20, symbolSize: 1, transferLength: 4097 * 10 }, /4096/],
    ['a block with fewer than N1 repair symbols', { transferLength: 3 * 1024 }, /fewer than N1/],
    ['a block larger than the codec memory limit', { symbolSize: 65535, maxSourceBlockLength: 10000, maxEncodingSymbols: 15000, transferLength: 2 ** 40 }, /codec limit/],
  ];
  it.each(cases)('%s is rejected with FEC_PARAMS', (_name, patch, reason) => {
    expect(() => ldpcStaircase.validate({ ...good, ...patch } as typeof good)).toThrow(reason);
    try {
      ldpcStaircase.validate({ ...good, ...patch } as typeof good);
    } catch (e) {
      expect((e as { code: string }).code).toBe('FEC_PARAMS');
    }
  });

  it('accepts the good OTI and n = k blocks (no repair)', () => {
    expect(() => ldpcStaircase.validate(good)).not.toThrow();
    const noRepair = { ...good, maxEncodingSymbols: 1000 };
    const block = ldpcStaircase.partition(noRepair).blocks[0]!;
    expect([block.k, block.n]).toEqual([977, 977]);
  });

  it('No-Code refuses blocks over the memory limit and more than 2^16 blocks', () => {
    const base = { encodingId: 0, transferLength: 2 ** 40, symbolSize: 65535, maxSourceBlockLength: 65536 } as const;
    expect(() => noCode.validate(base)).toThrow(/codec limit/);
    expect(() => noCode.validate({ ...base, symbolSize: 1, maxSourceBlockLength: 1, transferLength: 65537 })).toThrow(/65536/);
    expect(() => noCode.validate({ ...base, transferLength: 0, symbolSize: 0, maxSourceBlockLength: 0 })).not.toThrow();
  });

  it('createOti picks No-Code for objects too small for an LDPC code', () => {
    expect(createOti(3 * 1024).encodingId).toBe(0);
    expect(createOti(100 * 1024).encodingId).toBe(3);
    expect(createOti(0).encodingId).toBe(3);
  });
});
