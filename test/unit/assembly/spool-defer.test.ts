// Receiver spoolDelayMs (src/assembly/receiver.ts "Spool deferral"): a hot block's symbols wait in
// its decoder and are spooled only if the block has not decoded within the delay, read back from
// the decoder (BlockDecoder.heldSymbol). Checked: the same files under loss, reordering, late
// join, a memory budget and restarts, one datagram at a time and in batches; spooled symbols are
// the received bytes (a restart decodes from them, and the digest would reject anything else);
// a clean stop (spoolAll) leaves the same resume state as spooling everything at once; and at
// 0% loss with a long delay almost nothing is spooled.
import { describe, expect, it } from 'vitest';
import { decodeAlcPacket } from '../../../src/wire/index.js';
import { bytes, simulate, type SimFile, type SimOptions } from './sim.js';
import { MIXED, expectAll } from './tree-fixture.js';

const mixed = MIXED;

// The simulator's clock advances 0.01 ms per packet: 2 ms is 200 packets, so blocks of 64
// source symbols both decode within the delay and outlast it.
const DELAY = 2;
const big: SimFile[] = [{ path: 'big.bin', data: bytes(256 * 64 * 12, 8) }];
const cases: Array<[string, SimOptions]> = [
  ['no loss', { files: mixed }],
  ['10% loss', { files: mixed, channel: { loss: 0.1 }, seed: 3 }],
  ['bursts, reordering, duplicates', { files: mixed, channel: { burstEnter: 0.08, burstLeave: 0.2, reorder: 0.1, reorderDepth: 20, duplicate: 0.1 }, seed: 5 }],
  ['No-Code at 20% loss', { files: mixed, fec: { encodingId: 0, codeRate: 1 }, channel: { loss: 0.2 }, seed: 9 }],
  ['late join', { files: mixed, channel: { joinAfter: 700, loss: 0.05 }, seed: 11 }],
  ['a crash and resume', { files: big, channel: { loss: 0.1 }, seed: 4, restartAfter: 600, downFor: 300 }],
  ['a memory budget of two hot blocks', { files: [{ path: 'big.bin', data: bytes(256 * 64 * 8, 6) }], receiver: { maxBufferedBytes: 2 * 96 * 256 }, channel: { loss: 0.05 }, seed: 2 }],
];

describe('receiver core: deferred spooling', () => {
  for (const [name, o] of cases) {
    for (const batch of [undefined, 64]) {
      it(`${name}${batch === undefined ? '' : ', batches of 64'}: the same files`, () => {
        const r = simulate({ ...o, batch, receiver: { ...o.receiver, spoolDelayMs: DELAY } });
        expect(r.complete).toBe(true);
        expectAll(o.files, r.files);
      });
    }
  }

  it('a restart decodes from symbols spooled out of decoders (every block spooled before the crash)', () => {
    // Loss high enough that no block decodes within the delay before the restart: every symbol
    // the resumed receiver restores was spooled from a decoder, and the digest checks the file.
    const o: SimOptions = { files: big, channel: { loss: 0.3 }, seed: 7, restartAfter: 900, downFor: 100, batch: 64 };
    const r = simulate({ ...o, receiver: { spoolDelayMs: DELAY } });
    expect(r.complete).toBe(true);
    expectAll(o.files, r.files);
    expect(r.receiver.receiverStats().restored).toBeGreaterThan(200);
  });

  for (const batch of [undefined, 64]) {
    it(`a clean stop leaves what spooling at once leaves${batch === undefined ? '' : ' (batches)'}`, () => {
      const o: SimOptions = { files: big, channel: { loss: 0.1 }, seed: 12, restartAfter: 500, downFor: 50, restartClean: true, batch };
      const atOnce = simulate(o);
      const deferred = simulate({ ...o, receiver: { spoolDelayMs: 1e9 } });
      expect(deferred.complete).toBe(true);
      expectAll(o.files, deferred.files);
      // LDPC: a symbol that peeling knew before it came is not held by the decoder, nor spooled.
      const restored = (x: typeof atOnce): number => x.receiver.receiverStats().restored;
      expect(restored(deferred)).toBeGreaterThan(0.95 * restored(atOnce));
      expect(restored(deferred)).toBeLessThanOrEqual(restored(atOnce));
    });
  }

  it('at 0% loss with a long delay, only what comes before the header is known is spooled', () => {
    const o: SimOptions = { files: big, sender: { mode: 'push', cycles: 1 }, batch: 64 };
    const atOnce = simulate(o);
    const deferred = simulate({ ...o, receiver: { spoolDelayMs: 1e9 } });
    expect(deferred.complete).toBe(true);
    expectAll(o.files, deferred.files);
    expect(atOnce.spooled).toBe(atOnce.receiver.receiverStats().symbols);
    // The short last symbol is never deferred (the native decoder keeps it to itself).
    expect(deferred.spooled).toBeLessThan(0.01 * atOnce.spooled);
  });

  it('blocks decoded before a late header: their source symbols are spooled once the delay passes', () => {
    // Block 0 (the FCAST header) of the file is lost for the first 3000 packets: the other blocks
    // decode and wait in memory; after the delay their symbols are spooled from the decoded bytes,
    // so a crash at packet 2500 restores them (the resumed receiver decodes them from the spool).
    const blockZeroLate = (i: number, d: Uint8Array): Uint8Array[] => {
      if (i > 3000) return [d];
      try {
        const p = decodeAlcPacket(d, { cciLength: 4, requireToi: true });
        return p.lct.toi !== 0 && p.payloadId?.sbn === 0 ? [] : [d];
      } catch {
        return [d];
      }
    };
    const o: SimOptions = { files: big, seed: 3, inject: blockZeroLate, restartAfter: 2500, downFor: 0, batch: 64 };
    const kept = simulate({ ...o, receiver: { spoolDelayMs: DELAY } });
    expect(kept.complete).toBe(true);
    expectAll(o.files, kept.files);
    // All but block 0 had decoded before the crash: what the resumed receiver restored is theirs.
    expect(kept.receiver.receiverStats().restored).toBeGreaterThan(10 * 64);
  });
});
