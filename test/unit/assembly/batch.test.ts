// Receiver.handleBatch (a recvmmsg batch in one call, symbols spooled as runs and pushed into
// each block's decoder at once) against handleDatagram one by one: the same files under loss,
// bursts, reordering, duplicates, late join, resume and bad packets; and the first datagram of a
// session, which waits for the shell's `session` event instead of being dropped.
import { describe, expect, it } from 'vitest';
import type { FecOti } from '../../../codecs/types.js';
import { Receiver, type AssemblyEvent } from '../../../src/assembly/index.js';
import { encodeAlcPacket } from '../../../src/wire/index.js';
import { SCHEMES, TSI, bytes, simulate, type SimOptions } from './sim.js';
import { MIXED, expectAll } from './tree-fixture.js';

const mixed = MIXED;

const cases: Array<[string, Omit<SimOptions, 'batch'>]> = [
  ['no loss', { files: mixed }],
  ['10% loss', { files: mixed, channel: { loss: 0.1 }, seed: 3 }],
  ['bursts, reordering, duplicates', { files: mixed, channel: { burstEnter: 0.08, burstLeave: 0.2, reorder: 0.1, reorderDepth: 20, duplicate: 0.1 }, seed: 5 }],
  ['No-Code at 20% loss', { files: mixed, fec: { encodingId: 0, codeRate: 1 }, channel: { loss: 0.2 }, seed: 9 }],
  ['late join', { files: mixed, channel: { joinAfter: 700, loss: 0.05 }, seed: 11 }],
  ['many small files', { files: Array.from({ length: 60 }, (_, i) => ({ path: `many/f${i}.dat`, data: bytes(i * 37, 100 + i) })), channel: { loss: 0.1 }, seed: 21 }],
  ['a restart (resume from the spool)', { files: [{ path: 'big.bin', data: bytes(256 * 64 * 12, 8) }], seed: 4, restartAfter: 400, downFor: 300 }],
  ['a memory budget of two hot blocks (cold decodes from the spool)', { files: [{ path: 'big.bin', data: bytes(256 * 64 * 8, 6) }], receiver: { maxBufferedBytes: 2 * 96 * 256 }, channel: { loss: 0.05 }, seed: 2 }],
];

describe('receiver core: handleBatch', () => {
  for (const [name, o] of cases) {
    for (const batch of [64, 7]) {
      it(`${name}: batches of ${batch} rebuild the same files as one datagram at a time`, () => {
        const one = simulate(o);
        const r = simulate({ ...o, batch });
        expect(one.complete).toBe(true);
        expect(r.complete).toBe(true);
        expectAll(o.files, r.files);
        // Symbols stored stay what one datagram at a time stores, give or take the symbols of a
        // batch that came after their block decoded (counted before the batch's decodes run).
        const stored = (x: typeof r): number => x.receiver.receiverStats().symbols;
        expect(stored(r)).toBeGreaterThanOrEqual(stored(one) - batch);
        expect(stored(r)).toBeLessThanOrEqual(stored(one) * 1.15 + batch);
      });
    }
  }

  it('a batch across the edge of two sender windows holds no more decoders than one datagram at a time', () => {
    // Push, one cycle: the source pass goes a window of blocks at a time, and a window's blocks
    // all complete within its last packets, just before the next window's first ones.
    const o: SimOptions = { files: [{ path: 'big.bin', data: bytes(256 * 64 * 40, 8) }], sender: { mode: 'push', cycles: 1 } };
    const one = simulate(o).receiver.memory().peakBufferedBytes;
    for (const batch of [64, 500]) {
      const r = simulate({ ...o, batch });
      expect(r.complete).toBe(true);
      expect(r.receiver.memory().peakBufferedBytes).toBe(one);
    }
  });

  it('bad packets inside a batch are counted by the same codes and the rest of the batch still counts', () => {
    const oti: FecOti = { encodingId: 0, transferLength: 100, symbolSize: 16, maxSourceBlockLength: 4 };
    const buf = new Uint8Array(128);
    const pkt = (p: Parameters<typeof encodeAlcPacket>[1]): Uint8Array => buf.slice(0, encodeAlcPacket(buf, p));
    const good = (sbn: number, esi: number): Uint8Array => pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn, esi, payload: new Uint8Array(16).fill(esi) });
    const datagrams = [
      good(0, 0),
      new Uint8Array([1, 2]),
      good(0, 1),
      pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 99, esi: 0, payload: new Uint8Array(16) }),
      pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi: 9, payload: new Uint8Array(16) }),
      pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi: 2, payload: new Uint8Array(15) }),
      pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: { ...oti, symbolSize: 32 }, sbn: 0, esi: 2, payload: new Uint8Array(16) }),
      good(0, 1),
      good(0, 2),
      pkt({ tsi: TSI + 1, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi: 3, payload: new Uint8Array(16) }),
      good(1, 0),
    ];
    const spooled = (rx: Receiver): string[] => {
      const out: string[] = [];
      for (let ev: AssemblyEvent | undefined = rx.poll(); ev !== undefined; ev = rx.poll()) {
        if (ev.kind === 'spool') out.push(`${ev.record}:${ev.sbn}/${ev.esi}`);
        if (ev.kind === 'spool-run') for (let i = 0; i < ev.count; i++) out.push(`${ev.record + i}:${ev.sbns[i]}/${ev.esis[i]}`);
      }
      return out;
    };
    const one = new Receiver({ schemes: SCHEMES, tsi: TSI, cciLength: 4 });
    for (const d of datagrams) one.handleDatagram(0, d, '10.0.0.1');
    const batched = new Receiver({ schemes: SCHEMES, tsi: TSI, cciLength: 4 });
    const data = new Uint8Array(datagrams.length * 128);
    const offsets = new Uint32Array(datagrams.map((_, i) => i * 128));
    const lengths = new Uint32Array(datagrams.map((d) => d.length));
    datagrams.forEach((d, i) => data.set(d, i * 128));
    batched.handleBatch(0, data, offsets, lengths, datagrams.length, '10.0.0.1');
    expect(spooled(batched)).toEqual(spooled(one));
    expect(batched.receiverStats()).toEqual(one.receiverStats());
    expect(batched.receiverStats().dropped).toEqual({ WIRE_TRUNCATED: 1, FEC_SBN: 1, FEC_ESI: 1, FEC_SYMBOL_SIZE: 1, FTI_CONFLICT: 1 });
  });

  it('the datagram that picks the session, and the rest of its batch, wait for the session event and then count', () => {
    const oti: FecOti = { encodingId: 0, transferLength: 160, symbolSize: 16, maxSourceBlockLength: 4 };
    const buf = new Uint8Array(128);
    const data = new Uint8Array(4 * 128);
    for (let esi = 0; esi < 4; esi++) data.set(buf.subarray(0, encodeAlcPacket(buf, { tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi, payload: new Uint8Array(16).fill(esi) })), esi * 128);
    const offsets = new Uint32Array([0, 128, 256, 384]);
    const lengths = new Uint32Array(4).fill(encodeAlcPacket(buf, { tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi: 0, payload: new Uint8Array(16) }));
    const rx = new Receiver({ schemes: SCHEMES, cciLength: 4 });
    rx.handleBatch(0, data, offsets, lengths, 4, '10.0.0.1');
    data.fill(0); // the receive buffer is reused: what waits must be a copy
    expect(rx.poll()).toEqual({ kind: 'session', tsi: TSI, source: '10.0.0.1' });
    // The shell loads resume state here: an earlier run had ESI 1 of block 0 in its spool.
    rx.restoreObject(0, 5, oti, [], undefined, false);
    rx.restoreSymbol(5, 0, 0, 1);
    rx.restoreEnd(0, 5, 1);
    // Its block is asked for to become hot again; nothing of the held batch is counted yet.
    const before: string[] = [];
    for (let ev = rx.poll(); ev !== undefined; ev = rx.poll()) {
      before.push(ev.kind);
      if (ev.kind === 'decode-request') rx.decodeBlock(0, 5, 0, [{ esi: 1, symbol: new Uint8Array(16).fill(1) }]);
    }
    expect(before).toEqual(['decode-request']);
    expect(rx.receiverStats().symbols).toBe(0);
    rx.releaseHeld();
    const after: string[] = [];
    for (let ev = rx.poll(); ev !== undefined; ev = rx.poll()) {
      if (ev.kind === 'spool') {
        after.push(`spool ${ev.record}:${ev.esi}`);
        expect(ev.symbol).toEqual(new Uint8Array(16).fill(ev.esi));
      } else {
        after.push(ev.kind);
      }
    }
    // Records after the restored one; ESI 1 was held already: a duplicate. Block 0 (k = 4) fills
    // and decodes (its bytes are no FCAST header: the object is rejected, which is beside the point).
    expect(after).toEqual(['spool 1:0', 'spool 2:2', 'spool 3:3', 'object-rejected']);
    expect(rx.objectStats(5)?.blocksDone).toBe(1);
    const st = rx.receiverStats();
    expect(st.packets).toBe(4);
    expect(st.duplicates).toBe(1);
    expect(st.symbols).toBe(3);
  });

  it('without releaseHeld, the next datagram brings the held ones in first, in order', () => {
    const oti: FecOti = { encodingId: 0, transferLength: 160, symbolSize: 16, maxSourceBlockLength: 4 };
    const buf = new Uint8Array(128);
    const pkt = (esi: number): Uint8Array => buf.slice(0, encodeAlcPacket(buf, { tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi, payload: new Uint8Array(16) }));
    const rx = new Receiver({ schemes: SCHEMES, cciLength: 4 });
    rx.handleDatagram(0, pkt(2), '10.0.0.1');
    expect(rx.poll()?.kind).toBe('session');
    expect(rx.poll()).toBeUndefined();
    rx.handleDatagram(0, pkt(0), '10.0.0.1');
    const spooled: number[] = [];
    for (let ev = rx.poll(); ev !== undefined; ev = rx.poll()) if (ev.kind === 'spool') spooled.push(ev.esi);
    expect(spooled).toEqual([2, 0]);
    expect(rx.receiverStats().packets).toBe(2);
  });
});
