// The first push cycle's repair pass in rounds over all blocks (src/carousel/sender.ts,
// repairRounds): a receiver that lost 10% of the packets of a 48-block object completes well
// before the end of the cycle, where one round left the last window of blocks without repair
// until the last ninth of it. Virtual time, the real sender and receiver cores (sim.ts).
import { describe, expect, it } from 'vitest';
import { bytes, simulate } from '../assembly/sim.js';

const FILE = { path: 'big.bin', data: bytes(48 * 1000 * 16, 5) };

function finishAt(rounds: number, seed: number): { fraction: number; complete: boolean } {
  const r = simulate({
    files: [FILE],
    fec: { encodingId: 3, symbolSize: 16, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 },
    sender: { mode: 'push', cycles: 1, repairRounds: rounds, maxActiveBlocks: 16 },
    channel: { loss: 0.1 },
    seed,
    maxPackets: 100_000,
  });
  // 48 blocks of n = 1500: the cycle's data packets (CID packets are few and counted too).
  return { fraction: r.sent / (48 * 1500), complete: r.complete };
}

describe('carousel: repair pass in rounds', () => {
  it('a receiver at 10% loss completes by ~0.8 of a push cycle with 3 rounds (at its very end with 1)', () => {
    for (const seed of [1, 2]) {
      const one = finishAt(1, seed);
      const three = finishAt(3, seed);
      process.stderr.write(`seed ${seed}: 1 round ${one.fraction.toFixed(3)}, 3 rounds ${three.fraction.toFixed(3)}\n`);
      expect(one.complete && three.complete).toBe(true);
      expect(three.fraction).toBeLessThan(0.83);
      expect(one.fraction).toBeGreaterThan(0.88);
    }
  });

  it('every repair symbol of the cycle goes out once, whatever the rounds', () => {
    const sent = (rounds: number): number => {
      const r = simulate({
        files: [FILE],
        fec: { encodingId: 3, symbolSize: 16, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 },
        sender: { mode: 'push', cycles: 1, repairRounds: rounds },
        channel: { loss: 1 },
        seed: 4,
        maxPackets: 100_000,
      });
      return r.sent;
    };
    expect(sent(3)).toBe(sent(1));
    expect(sent(7)).toBe(sent(1));
  });
});
