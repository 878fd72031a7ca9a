// The native fast path's batch call (codecs/ldpc-staircase/native-fast.ts, addon LdpcRecvFast.run)
// at its bounds: every malformed datagram (truncated, another header, bad SBN, ESI or length, an
// offset or length past the batch) is left to the TypeScript path (run stops at it), a block
// without a registered decoder too; duplicates and done blocks are counted; bad calls throw.
import { describe, expect, it } from 'vitest';
import { RecvFastTable } from '../../../codecs/ldpc-staircase/native-fast.js';
import { nativeCodec } from '../../../codecs/ldpc-staircase/native-code.js';
import { ldpcStaircase } from '../../../codecs/ldpc-staircase/scheme.js';
import type { FecOti } from '../../../codecs/types.js';
import { decodeAlcPacket, encodeAlcPacket } from '../../../src/wire/index.js';

const hasFast = typeof (nativeCodec() as unknown as Record<string, unknown> | undefined)?.['LdpcRecvFast'] === 'function';
const E = 16;
// Two blocks of k = 8 (n = 12), the second one's last symbol short (7 bytes).
const OTI: FecOti = { encodingId: 3, transferLength: 8 * E + 7 * E + 7, symbolSize: E, maxSourceBlockLength: 8, maxEncodingSymbols: 12, n1m3: 0, symbolsPerPacket: 1, seed: 7 };

function packet(sbn: number, esi: number, len = E, tsi = 7): Uint8Array {
  const buf = new Uint8Array(256);
  return buf.slice(0, encodeAlcPacket(buf, { tsi, toi: 3, codepoint: 3, fti: OTI, sbn, esi, payload: new Uint8Array(len).fill(esi + 1) }));
}

function setup(): { table: RecvFastTable; seen: Uint8Array; done: Uint8Array; header: Uint8Array } {
  const plan = ldpcStaircase.partition(OTI);
  const n = plan.blocks.map((b) => b.n);
  const done = new Uint8Array(1);
  const table = RecvFastTable.create(Uint32Array.from(n), E, done)!;
  const seen = new Uint8Array((n[0]! + 7) >>> 3);
  expect(table.hot(0, ldpcStaircase.createDecoder(plan, 0), seen)).toBe(true);
  const p = packet(0, 0);
  const header = p.slice(0, decodeAlcPacket(p, { cciLength: 4, requireToi: true }).lct.headerLength);
  return { table, seen, done, header };
}

/** The datagrams packed as recvmmsg packs them; run from 0; [stop index, record]. */
function runAll(table: RecvFastTable, header: Uint8Array, datagrams: Uint8Array[], tweak?: (offsets: Uint32Array, lengths: Uint32Array) => void): [number, number[]] {
  const offsets = new Uint32Array(datagrams.length);
  const lengths = new Uint32Array(datagrams.length);
  const data = new Uint8Array(datagrams.reduce((s, d) => s + d.length + 1, 0));
  let at = 0;
  datagrams.forEach((d, i) => {
    offsets[i] = at;
    lengths[i] = d.length;
    data.set(d, at);
    at += d.length + 1;
  });
  tweak?.(offsets, lengths);
  const stop = table.run(data, offsets, lengths, 0, datagrams.length, header, 8, 20);
  return [stop, [...table.out.subarray(0, 4 + 2 * table.out[3]! + datagrams.length)]];
}

describe.runIf(hasFast)('native fast path: bounds of the batch call', () => {
  const good = [packet(0, 1), packet(0, 2)];
  const malformed: Array<[string, Uint8Array]> = [
    ['a truncated header', packet(0, 3).subarray(0, 10)],
    ['no room for the payload ID', packet(0, 3).subarray(0, 20)],
    ['a payload one byte short', packet(0, 3).subarray(0, packet(0, 3).length - 1)],
    ['a payload one byte long', packet(0, 3, E + 1)],
    ['an empty payload', packet(0, 3, 0)],
    ['another session', packet(0, 3, E, 8)],
    ['an SBN past the blocks', packet(2, 3)],
    ['an ESI past n', packet(0, 12)],
    ['the largest ESI', packet(0, 0xfffff)],
    ['a block with no registered decoder', packet(1, 0)],
    ['the short last symbol', packet(1, 7, 7)],
  ];
  for (const [name, bad] of malformed) {
    it(`stops at ${name}, after taking what came before`, () => {
      const { table, seen, header } = setup();
      const [stop, out] = runAll(table, header, [...good, bad, packet(0, 4)]);
      expect(stop).toBe(2);
      expect(out.slice(0, 7)).toEqual([2, good[0]!.length + good[1]!.length, 0, 1, 0, 2, 1]);
      expect(out[7]).toBe(2);
      expect(seen[0]).toBe(0b110);
    });
  }

  it('stops at an offset or a length past the batch data', () => {
    const { table, header } = setup();
    expect(runAll(table, header, [...good, packet(0, 3)], (o) => { o[2] = 1 << 30; })[0]).toBe(2);
    expect(runAll(table, header, [packet(0, 5), packet(0, 6)], (_o, l) => { l[1] = l[1]! + 2; })[0]).toBe(1);
  });

  it('counts duplicates, the symbols of done blocks and of an object no longer receiving', () => {
    const { table, done, header } = setup();
    const [stop, out] = runAll(table, header, [packet(0, 1), packet(0, 1), packet(0, 9)]);
    expect(stop).toBe(3);
    expect(out.slice(0, 8)).toEqual([3, 3 * packet(0, 1).length, 1, 1, 0, 2, 1, 9]);
    done[0] = 0b10; // block 1 done: its symbols are duplicates, registered or not
    expect(runAll(table, header, [packet(1, 0)])[1].slice(0, 4)).toEqual([1, packet(1, 0).length, 1, 0]);
    table.receiving(false);
    expect(runAll(table, header, [packet(0, 3)])[1].slice(0, 4)).toEqual([1, packet(0, 3).length, 1, 0]);
    table.cold(0);
    table.receiving(true);
    expect(runAll(table, header, [packet(0, 3)])[0]).toBe(0);
  });

  it('refuses bad calls and decoders of another shape', () => {
    const { table, header } = setup();
    const d = new Uint8Array(64);
    const z = new Uint32Array(1);
    expect(() => table.run(d, z, z, 0, 1, header, header.length + 1, 20)).toThrow(/FEC_PARAMS/);
    expect(() => table.run(d, z, z, 0, 1, header, 8, 32)).toThrow(/FEC_PARAMS/);
    expect(() => table.run(d, z, z, 0, 2, header, 8, 20)).toThrow(/FEC_PARAMS/);
    expect(() => table.run(d, z, z, 2, 1, header, 8, 20)).toThrow(/FEC_PARAMS/);
    const plan = ldpcStaircase.partition(OTI);
    expect(table.hot(0, ldpcStaircase.createDecoder(plan, 0, { native: false }), new Uint8Array(2))).toBe(false);
    const other = ldpcStaircase.partition({ ...OTI, symbolSize: 8 });
    expect(table.hot(0, ldpcStaircase.createDecoder(other, 0), new Uint8Array(2))).toBe(false);
    expect(table.hot(0, ldpcStaircase.createDecoder(plan, 0), new Uint8Array(1))).toBe(false);
    expect(table.hot(5, ldpcStaircase.createDecoder(plan, 0), new Uint8Array(2))).toBe(false);
  });
});
