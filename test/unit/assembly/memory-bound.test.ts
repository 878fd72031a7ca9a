// The receiver core's memory stays bounded (issue 4) when a block stays incomplete while the
// rest of a multi-block object keeps arriving, and when loss comes in long bursts (what a
// CPU-starved receiver sees: its socket buffer overflows). Virtual time, real carousel core.
import { describe, expect, it } from 'vitest';
import { decodeAlcPacket } from '../../../src/wire/index.js';
import { bytes, simulate, type SimFile } from './sim.js';

// E = 512, B = 256, code rate 2/3: n = 384 symbols, a 192 KiB arena per block (pooled size).
const E = 512;
const B = 256;
const ARENA = 384 * E;
const BUDGET = 6 * ARENA;
const big: SimFile = { path: 'big.bin', data: bytes(30 * B * E - 100, 7) };
const fec = { symbolSize: E, maxSourceBlockLength: B };

/** Drop the symbols of the file's block 0 (TOI 2, after the CID's TOI 1) until packet `until`. */
function withholdBlock0(until: number): (i: number, d: Uint8Array) => Uint8Array[] {
  return (i, d) => {
    if (i >= until) return [d];
    const p = decodeAlcPacket(d, { cciLength: 4, requireToi: true });
    return p.lct.toi !== 1 && p.payloadId?.sbn === 0 ? [] : [d];
  };
}

function expectBounded(r: ReturnType<typeof simulate>): void {
  expect(r.complete).toBe(true);
  expect(Buffer.from(r.files.get('big.bin')!).equals(Buffer.from(big.data))).toBe(true);
  const m = r.receiver.memory();
  // Hot decoders and decoded blocks waiting for the header stay within the budget; the leading
  // block that holds the FCAST header may come on top of it.
  expect(m.peakBufferedBytes).toBeLessThanOrEqual(BUDGET + ARENA);
  // Arenas: that, one cold decode and one block being written; reused, not one per block.
  expect(m.arenas.peakBytes).toBeLessThanOrEqual(BUDGET + 3 * ARENA);
  expect(m.arenas.allocated).toBeLessThanOrEqual(BUDGET / ARENA + 4);
  expect(m.hotBlocks).toBe(0);
  expect(m.bufferedBytes).toBe(0);
}

describe('receiver memory bound', () => {
  it('block 0 (the FCAST header) missing for a whole cycle: 30 blocks wait in the spool, not in memory', () => {
    const r = simulate({ files: [big], fec, receiver: { maxBufferedBytes: BUDGET }, inject: withholdBlock0(12_000), maxPackets: 60_000 });
    expectBounded(r);
    const o = r.receiver.allObjectStats().find((x) => x.path === 'big.bin')!;
    expect(o.blocks).toBeGreaterThanOrEqual(30);
    // The withheld block held up the others: most of them were decoded from the spool afterwards.
    expect(r.events.filter((k) => k === 'decode-request').length).toBeGreaterThan(10);
  });

  it('burst loss (~30%, bursts of ~20 packets) and a late join: bounded the same way', () => {
    const r = simulate({
      files: [big],
      fec,
      receiver: { maxBufferedBytes: BUDGET },
      channel: { burstEnter: 0.02, burstLeave: 0.05, joinAfter: 3000 },
      seed: 17,
      maxPackets: 80_000,
    });
    expectBounded(r);
  });

  it('without the budget the same run would hold every block: the bound is what keeps it small', () => {
    const r = simulate({ files: [big], fec, receiver: { maxBufferedBytes: 64 * ARENA }, inject: withholdBlock0(12_000), maxPackets: 60_000 });
    expect(r.complete).toBe(true);
    expect(r.receiver.memory().peakBufferedBytes).toBeGreaterThan(20 * ARENA);
  });
});

// The default hot budget (128 MiB of n·E) is the sender's default repair window (128 MiB of
// n·E): every block the sender puts on the air at once stays hot at a lossy receiver, none is
// read back from the spool. Scaled down here: a 30-block object in one sender window.
describe('receiver hot budget against the sender repair window', () => {
  const oneWindow = { memoryBudget: 40 * ARENA, cycles: 1 };
  const coldDecodes = (r: ReturnType<typeof simulate>): number => r.events.filter((k) => k === 'decode-request').length;

  it('a budget of the window bytes: 10% loss, no cold decode', () => {
    const r = simulate({ files: [big], fec, sender: oneWindow, receiver: { maxBufferedBytes: 40 * ARENA }, channel: { loss: 0.1 }, seed: 5, maxPackets: 60_000 });
    expect(r.complete).toBe(true);
    expect(Buffer.from(r.files.get('big.bin')!).equals(Buffer.from(big.data))).toBe(true);
    expect(coldDecodes(r)).toBe(0);
    expect(r.receiver.memory().peakBufferedBytes).toBeLessThanOrEqual(40 * ARENA);
  });

  it('half of it: the blocks over the budget are read back from the spool', () => {
    const r = simulate({ files: [big], fec, sender: oneWindow, receiver: { maxBufferedBytes: 16 * ARENA }, channel: { loss: 0.1 }, seed: 5, maxPackets: 60_000 });
    expect(r.complete).toBe(true);
    expect(coldDecodes(r)).toBeGreaterThan(5);
    expect(r.receiver.memory().peakBufferedBytes).toBeLessThanOrEqual(16 * ARENA + ARENA);
  });

  it('an object of many sender windows (a 4 GB push, scaled): still within the budget of one window', () => {
    const manyWindows = { memoryBudget: 12 * ARENA, cycles: 1 };
    const r = simulate({ files: [big], fec, sender: manyWindows, receiver: { maxBufferedBytes: 12 * ARENA }, channel: { loss: 0.1 }, seed: 6, maxPackets: 80_000 });
    expect(r.complete).toBe(true);
    expect(Buffer.from(r.files.get('big.bin')!).equals(Buffer.from(big.data))).toBe(true);
    const m = r.receiver.memory();
    expect(m.peakBufferedBytes).toBeLessThanOrEqual(12 * ARENA + ARENA);
    expect(m.arenas.peakBytes).toBeLessThanOrEqual(12 * ARENA + 3 * ARENA);
    // Blocks past the budget waited in the spool: the bound held, not a small object.
    expect(coldDecodes(r)).toBeGreaterThan(0);
  });
});
