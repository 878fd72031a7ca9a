// When does a lossy receiver of a one-cycle push complete, per code rate? Virtual time, the real
// carousel sender and receiver cores (test/unit/assembly/sim.ts), 48 blocks of k = 1000 (E = 16:
// the schedule does not depend on E), LDPC-Staircase N1 = 5 as in the peer harness's template.
// Loss: iid per packet, or whole groups of 16 consecutive packets (what the harness's nftables
// rule does to the sender's 16-packet UDP GSO buffers, which cross the veths and the bridge whole).
// Prints, per code rate and loss model, the packets sent when the receiver completed (median of
// the seeds), as a fraction of the R = 2/3 cycle (72,000 data packets: the harness's clock is
// roughly proportional to packets sent), and how many seeds completed within the cycle.
// Run: npx vite-node bench/carousel-schedule.ts -- [--seeds 4] [--loss 0.1] [--rates 0.6667,0.75,0.8]
import { parseArgs } from 'node:util';
import { bytes, simulate } from '../test/unit/assembly/sim.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '4' },
    loss: { type: 'string', default: '0.1' },
    rates: { type: 'string', default: '0.6667,0.7,0.75,0.8' },
    n1: { type: 'string', default: '5' },
  },
});
const seeds = Number(values.seeds);
const loss = Number(values.loss);
const BLOCKS = 48;
const K = 1000;
const FILE = { path: 'big.bin', data: bytes(BLOCKS * K * 16, 5) };
const CYCLE_23 = BLOCKS * 1500;

/** Drop whole groups of `size` consecutive packets, each with probability `p` (seeded). */
function groupLoss(p: number, size: number, seed: number): (i: number, b: Uint8Array) => Uint8Array[] {
  const dropped = new Map<number, boolean>();
  let a = (seed * 2654435761) >>> 0;
  const random = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (i, b) => {
    const g = Math.floor((i - 1) / size);
    let d = dropped.get(g);
    if (d === undefined) {
      d = random() < p;
      dropped.set(g, d);
    }
    return d ? [] : [b];
  };
}

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
console.log(`48 blocks, k = ${K}, N1 = ${values.n1}, loss ${loss}, seeds 1..${seeds}; packets sent at completion / R = 2/3 cycle (${CYCLE_23})`);
for (const rate of values.rates!.split(',').map(Number)) {
  const n = Math.ceil(K / rate);
  for (const model of ['iid', 'groups of 16'] as const) {
    const at: number[] = [];
    let complete = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const r = simulate({
        files: [FILE],
        fec: { encodingId: 3, symbolSize: 16, maxSourceBlockLength: K, codeRate: rate, n1m3: Number(values.n1) - 3 },
        sender: { mode: 'push', cycles: 1, maxActiveBlocks: 16 },
        ...(model === 'iid' ? { channel: { loss } } : { inject: groupLoss(loss, 16, seed) }),
        seed,
        maxPackets: BLOCKS * n + 1000,
      });
      if (r.complete) complete++;
      at.push(r.complete ? r.sent : Infinity);
    }
    const m = median(at);
    console.log(
      `R ${rate.toFixed(3)} (n ${n}, cycle ${(BLOCKS * n / CYCLE_23).toFixed(3)} of 2/3's) ${model.padEnd(12)}: complete ${complete}/${seeds}, median ${Number.isFinite(m) ? (m / CYCLE_23).toFixed(3) : 'never'} (${at.map((x) => (Number.isFinite(x) ? (x / CYCLE_23).toFixed(3) : '-')).join(' ')})`,
    );
  }
}
