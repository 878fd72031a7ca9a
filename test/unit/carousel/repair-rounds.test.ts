// The first push cycle's repair pass (src/carousel/sender.ts, repairWindowBlocks and
// repairRounds): a receiver that lost 10% of the packets of a 48-block object completes when the
// block that lacks most has had its share of repair, so the pass serves every block at the same
// pace: all of them in one window when the memory budget holds them (one round, no block read
// or encoded twice), else window by window in rounds. Virtual time, the real sender and
// receiver cores (sim.ts).
import { describe, expect, it } from 'vitest';
import { CarouselSender, type SenderConfig } from '../../../src/carousel/sender.js';
import type { FecSettings } from '../../../src/carousel/plan.js';
import { schemeFor } from '../../../codecs/index.js';
import { bytes, simulate } from '../assembly/sim.js';

const FILE = { path: 'big.bin', data: bytes(48 * 1000 * 16, 5) };
const FEC: FecSettings = { encodingId: 3, symbolSize: 16, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 };
type Order = Partial<Pick<SenderConfig, 'repairWindowBlocks' | 'repairRounds'>>;

function finishAt(order: Order, seed: number, loss = 0.1): { fraction: number; complete: boolean } {
  const r = simulate({
    files: [FILE],
    fec: FEC,
    sender: { mode: 'push', cycles: 1, maxActiveBlocks: 16, ...order },
    channel: { loss },
    seed,
    maxPackets: 100_000,
  });
  // 48 blocks of n = 1500: the cycle's data packets (CID packets are few and counted too).
  return { fraction: r.sent / (48 * 1500), complete: r.complete };
}

describe('carousel: the push repair pass', () => {
  it('a receiver at 10% loss completes by ~0.78 of the cycle with every block in one repair window', () => {
    for (const seed of [1, 2]) {
      const now = finishAt({}, seed);
      const rounds = finishAt({ repairWindowBlocks: 16, repairRounds: 3 }, seed);
      const windowed = finishAt({ repairWindowBlocks: 16, repairRounds: 1 }, seed);
      process.stderr.write(`seed ${seed}: one window ${now.fraction.toFixed(3)}, W 16 x 3 rounds ${rounds.fraction.toFixed(3)}, W 16 x 1 round ${windowed.fraction.toFixed(3)}\n`);
      expect(now.complete && rounds.complete && windowed.complete).toBe(true);
      expect(now.fraction).toBeLessThan(0.795);
      expect(now.fraction).toBeLessThan(rounds.fraction);
      expect(rounds.fraction).toBeLessThan(0.83);
      // One round window by window: the last 16 blocks get their first repair only near the end.
      expect(windowed.fraction).toBeGreaterThan(0.88);
    }
  });

  it('a receiver without loss is done after the source pass, whatever the repair order', () => {
    expect(finishAt({}, 3, 0).fraction).toBeLessThan(0.67);
  });

  it('one window and one round when the budget holds every block, rounds when it does not', () => {
    // 128 MiB budget / (k·E source + (n − k)·E repair) = 64 blocks of 2.09 MB, less 4 read ahead.
    const small = new CarouselSender({ tsi: 1, files: [fileOf(64e6)], fec: LDPC_1400, schemes: schemeFor, mode: 'push' });
    expect(small.planned()[1]!.plan.blocks.length).toBe(46);
    expect(small.repairPlan()).toEqual({ windowBlocks: 60, rounds: 1 });
    expect(small.windowSize()).toBe(16);
    const big = new CarouselSender({ tsi: 1, files: [fileOf(4e9)], fec: LDPC_1400, schemes: schemeFor, mode: 'push' });
    expect(big.repairPlan()).toEqual({ windowBlocks: 59, rounds: 3 });
    const capped = new CarouselSender({ tsi: 1, files: [fileOf(64e6)], fec: LDPC_1400, schemes: schemeFor, mode: 'push', repairWindowBlocks: 8 });
    expect(capped.repairPlan()).toEqual({ windowBlocks: 8, rounds: 3 });
  });

  it('every repair symbol of the cycle goes out once, whatever the window and rounds', () => {
    const sent = (order: Order): number => {
      const r = simulate({ files: [FILE], fec: FEC, sender: { mode: 'push', cycles: 1, ...order }, channel: { loss: 1 }, seed: 4, maxPackets: 100_000 });
      return r.sent;
    };
    const all = sent({});
    expect(sent({ repairWindowBlocks: 16, repairRounds: 3 })).toBe(all);
    expect(sent({ repairWindowBlocks: 5, repairRounds: 7 })).toBe(all);
  });
});

const LDPC_1400: FecSettings = { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 };

function fileOf(size: number): SenderConfig['files'][number] {
  return { key: 0, contentLocation: 'f.bin', contentLength: size, contentType: 'application/octet-stream', sha256: new Uint8Array(32), mtime: 0, mode: 0o644 };
}

describe('carousel: reads in flight', () => {
  it('a repair window of hundreds of small blocks never has more than 20 reads outstanding', () => {
    const files = Array.from({ length: 300 }, (_, i) => ({ ...fileOf(200_000), key: i, contentLocation: `f${i}.bin` }));
    const s = new CarouselSender({ tsi: 1, files, fec: LDPC_1400, schemes: schemeFor, mode: 'push', cycles: 1 });
    expect(s.repairPlan().windowBlocks).toBeGreaterThan(300);
    const pending: number[] = [];
    let most = 0;
    let packets = 0;
    for (let now = 0; packets < 500_000; now++) {
      const o = s.poll(now);
      if (o.kind === 'done') break;
      if (o.kind === 'read') pending.push(o.id);
      else if (o.kind === 'transmit') packets++;
      // Reads complete in bunches, late: the core keeps asking while they are out.
      if (o.kind !== 'read' || pending.length >= 30) while (pending.length > 0) s.readDone(pending.shift()!);
      most = Math.max(most, s.stats().pendingReads);
    }
    expect(most).toBe(20);
    expect(s.stats().cycle).toBe(1);
  });
});

describe('carousel: the repair pass starts with every block', () => {
  /**
   * One push cycle whose reads complete `lag` transmits after they are asked for: the shell's
   * read callbacks run only when its send pump yields, which a CPU-bound pump rarely does. When
   * the core waits, the shell sleeps until one read completes.
   */
  function run(lag: number): { blocks: number; repair: number; reads: number; firstRepair: Map<number, number>; lastRepair: Map<number, number>; repairPackets: number } {
    // 46 blocks of 2.1 MB (source and repair): the default budget's repair window holds them all (60).
    const s = new CarouselSender({ tsi: 1, files: [fileOf(64e6)], fec: LDPC_1400, schemes: schemeFor, mode: 'push', cycles: 1, reuseDatagramBuffer: true });
    const blocks = s.planned()[1]!.plan.blocks;
    const pending: Array<{ id: number; at: number }> = [];
    const firstRepair = new Map<number, number>();
    const lastRepair = new Map<number, number>();
    let reads = 0;
    let sent = 0;
    let repairPackets = 0;
    for (let now = 0; now < 1e6; now++) {
      while (pending.length > 0 && pending[0]!.at <= sent) s.readDone(pending.shift()!.id);
      const o = s.poll(now);
      if (o.kind === 'done') break;
      if (o.kind === 'read') {
        reads++;
        pending.push({ id: o.id, at: sent + lag });
      } else if (o.kind === 'transmit') {
        sent++;
        if (o.toi !== 2 || o.esi < blocks[o.sbn]!.k) continue;
        firstRepair.set(o.sbn, firstRepair.get(o.sbn) ?? repairPackets);
        lastRepair.set(o.sbn, repairPackets++);
      } else if (o.kind === 'wait' && pending.length > 0) {
        s.readDone(pending.shift()!.id); // the shell sleeps until one read completes
      }
    }
    return { blocks: blocks.length, repair: blocks.reduce((a, b) => a + b.n - b.k, 0), reads, firstRepair, lastRepair, repairPackets };
  }

  it('every block is on the air from the repair pass start to its end, however slow the reads', () => {
    for (const lag of [0, 3000]) {
      const r = run(lag);
      expect(r.blocks).toBe(46);
      expect(r.reads).toBe(2 * r.blocks); // once per pass
      expect(r.repairPackets).toBe(r.repair);
      expect(r.firstRepair.size).toBe(r.blocks);
      for (const [sbn, first] of r.firstRepair) {
        expect(first).toBeLessThan(r.blocks);
        expect(r.lastRepair.get(sbn)!).toBeGreaterThanOrEqual(r.repairPackets - r.blocks);
      }
    }
  });
});
