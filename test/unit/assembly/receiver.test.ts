// Receiver core against the real carousel core in virtual time (test/unit/assembly/sim.ts):
// loss, bursts, reordering, duplicates, late join, block shapes, bad packets, paths.
import { describe, expect, it } from 'vitest';
import { Receiver } from '../../../src/assembly/index.js';
import { encodeAlcPacket, encodeFcastObject } from '../../../src/wire/index.js';
import { SCHEMES, TSI, bytes, simulate } from './sim.js';
import { MIXED, expectAll } from './tree-fixture.js';

const mixed = MIXED;

describe('receiver core, virtual clock', () => {
  it('rebuilds a mixed tree with no loss, restoring mtime and mode', () => {
    const r = simulate({ files: mixed });
    expect(r.complete).toBe(true);
    expectAll(mixed, r.files);
    expect(r.meta.get('dir/sub/multi.bin')).toEqual({ mtime: 1_600_000_000, mode: 0o755 });
    const multi = r.receiver.allObjectStats().find((o) => o.path === 'dir/sub/multi.bin')!;
    expect(multi.blocks).toBeGreaterThan(1);
    expect(r.receiver.missing()).toEqual([]);
  });

  for (const loss of [0.1, 0.3]) {
    it(`completes under ${loss * 100}% random loss (LDPC)`, () => {
      const r = simulate({ files: mixed, channel: { loss }, seed: 3 });
      expect(r.complete).toBe(true);
      expectAll(mixed, r.files);
    });
  }

  it('completes under burst loss (~30%, mean burst 5) with reordering and duplicates', () => {
    const r = simulate({ files: mixed, channel: { burstEnter: 0.08, burstLeave: 0.2, reorder: 0.1, reorderDepth: 20, duplicate: 0.1 }, seed: 5 });
    expect(r.complete).toBe(true);
    expectAll(mixed, r.files);
    expect(r.receiver.receiverStats().duplicates).toBeGreaterThan(0);
  });

  it('No-Code: completes under 20% loss through the carousel repeating symbols', () => {
    const r = simulate({ files: mixed, fec: { encodingId: 0, codeRate: 1 }, channel: { loss: 0.2 }, seed: 9 });
    expect(r.complete).toBe(true);
    expectAll(mixed, r.files);
  });

  it('late join: starts mid-cycle, learns OTI and object list in band, completes', () => {
    const r = simulate({ files: mixed, channel: { joinAfter: 700, loss: 0.05 }, seed: 11 });
    expect(r.complete).toBe(true);
    expectAll(mixed, r.files);
    // Blocks after the header block decode as they fill, not when block 0 comes round again:
    // a late joiner stores about what any receiver does.
    const multi = r.receiver.allObjectStats().find((o) => o.path === 'dir/sub/multi.bin')!;
    expect(multi.symbols / multi.k).toBeLessThan(1.3);
  });

  it('many small files', () => {
    const files = Array.from({ length: 120 }, (_, i) => ({ path: `many/f${i}.dat`, data: bytes(i * 37, 100 + i) }));
    const r = simulate({ files, channel: { loss: 0.1 }, seed: 21 });
    expect(r.complete).toBe(true);
    expectAll(files, r.files);
  });

  it('LDPC overhead: symbols stored per object stay close to k at no loss', () => {
    const files = [{ path: 'big.bin', data: bytes(256 * 64 * 8, 7) }];
    const r = simulate({ files });
    const o = r.receiver.allObjectStats().find((s) => s.path === 'big.bin')!;
    expect(o.symbols / o.k).toBeLessThan(1.2);
  });

  it('resume: a restarted receiver restores the spool and fetches only what it lacks', () => {
    const files = [{ path: 'big.bin', data: bytes(256 * 64 * 12, 8) }, { path: 'small', data: bytes(500, 9) }];
    const once = simulate({ files, seed: 4 });
    const single = once.receiver.allObjectStats().find((s) => s.path === 'big.bin')!.symbols;
    const r = simulate({ files, seed: 4, restartAfter: 400, downFor: 300 });
    expect(r.complete).toBe(true);
    expectAll(files, r.files);
    const big = r.receiver.allObjectStats().find((s) => s.path === 'big.bin')!;
    expect(big.restored).toBeGreaterThan(0);
    expect(r.storedBeforeRestart).toBeGreaterThan(300);
    // Stored before + fetched after ≈ what one uninterrupted run stores.
    const total = r.storedBeforeRestart + (big.symbols - big.restored);
    process.stderr.write(`resume sim: single ${single}, total ${total}, k ${big.k}, before ${r.storedBeforeRestart}, restored ${big.restored}\n`);
    expect(total).toBeLessThan(single * 1.1);
  });

  it('follows only the first session heard; other TSIs are counted and ignored', () => {
    const other = new Uint8Array(64);
    const n = encodeAlcPacket(other, { tsi: TSI + 1, toi: 9, codepoint: 0, sbn: 0, esi: 0, payload: new Uint8Array(8) });
    const r = simulate({ files: mixed.slice(0, 2), inject: (i, b) => (i % 3 === 0 ? [b, other.subarray(0, n)] : [b]) });
    expect(r.complete).toBe(true);
    expect(r.receiver.session()?.tsi).toBe(TSI);
    expect(r.receiver.receiverStats().otherSession).toBeGreaterThan(0);
  });

  it('counts bad packets by code and never throws', () => {
    const rx = new Receiver({ schemes: SCHEMES, tsi: TSI, cciLength: 4 });
    const good = new Uint8Array(128);
    const oti = { encodingId: 0 as const, transferLength: 100, symbolSize: 16, maxSourceBlockLength: 4 };
    const len = encodeAlcPacket(good, { tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi: 0, payload: new Uint8Array(16) });
    const feed = (b: Uint8Array): void => rx.handleDatagram(0, b, '10.0.0.1');
    feed(new Uint8Array([1, 2])); // truncated
    const v2 = good.slice(0, len);
    v2[0] = 0x20;
    feed(v2); // version 2
    const pkt = (p: Parameters<typeof encodeAlcPacket>[1]): Uint8Array => good.slice(0, encodeAlcPacket(good, p));
    feed(pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 99, esi: 0, payload: new Uint8Array(16) })); // SBN out of range
    feed(pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi: 9, payload: new Uint8Array(16) })); // ESI ≥ k
    feed(pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi: 1, payload: new Uint8Array(15) })); // short symbol
    feed(pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: { ...oti, symbolSize: 32 }, sbn: 0, esi: 1, payload: new Uint8Array(16) })); // OTI conflict
    feed(pkt({ tsi: TSI, toi: 6, codepoint: 0, sbn: 0, esi: 1, payload: new Uint8Array(16) })); // no OTI known
    feed(pkt({ tsi: TSI, toi: 7, codepoint: 0, fti: { ...oti, symbolSize: 0 }, sbn: 0, esi: 0, payload: new Uint8Array(0) })); // bad OTI
    const d = rx.receiverStats().dropped;
    expect(d.WIRE_TRUNCATED).toBe(1);
    expect(d.LCT_BAD_VERSION).toBe(1);
    expect(d.FEC_SBN).toBe(1);
    expect(d.FEC_ESI).toBe(1);
    expect(d.FEC_SYMBOL_SIZE).toBe(1);
    expect(d.FTI_CONFLICT).toBe(1);
    expect(d.FEC_UNSUPPORTED).toBe(1);
    expect(d.FEC_PARAMS).toBe(1);
  });

  it('rejects objects whose path would leave the output directory', () => {
    const rx = new Receiver({ schemes: SCHEMES, tsi: TSI, cciLength: 4 });
    const rejected: string[] = [];
    for (const [toi, loc] of [[2, '../evil'], [3, '/etc/passwd'], [4, 'a/%2e%2e/%2e%2e/x'], [5, '.fcast/0.json']] as const) {
      const obj = encodeFcastObject({ metadata: { contentLocation: loc, contentLength: 3 } }, new Uint8Array([1, 2, 3]));
      const oti = { encodingId: 0 as const, transferLength: obj.length, symbolSize: obj.length, maxSourceBlockLength: 1 };
      const buf = new Uint8Array(512);
      const n = encodeAlcPacket(buf, { tsi: TSI, toi, codepoint: 0, fti: oti, sbn: 0, esi: 0, payload: obj });
      rx.handleDatagram(0, buf.subarray(0, n), '10.0.0.1');
      for (let ev = rx.poll(); ev !== undefined; ev = rx.poll()) {
        if (ev.kind === 'decode-request') rx.decodeBlock(0, ev.toi, ev.sbn, [{ esi: 0, symbol: obj }]);
        if (ev.kind === 'object-rejected') rejected.push(ev.code);
        expect(ev.kind).not.toBe('object-decoded');
      }
    }
    expect(rejected).toEqual(['FCAST_PATH', 'FCAST_PATH', 'FCAST_PATH', 'FCAST_PATH']);
    expect(rx.missing().map((m) => m.rejectCode)).toEqual(['FCAST_PATH', 'FCAST_PATH', 'FCAST_PATH', 'FCAST_PATH']);
  });

  it('caps open objects (ASSEMBLY_LIMIT) and keeps the ones it has', () => {
    const files = Array.from({ length: 6 }, (_, i) => ({ path: `f${i}`, data: bytes(3000, i) }));
    const r = simulate({ files, receiver: { maxOpenObjects: 2 }, maxPackets: 3000 });
    expect(r.receiver.receiverStats().dropped.ASSEMBLY_LIMIT).toBeGreaterThan(0);
  });
});
