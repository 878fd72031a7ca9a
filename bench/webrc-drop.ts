// Where a WEBRC receiver's loss goes when its link shrinks, in virtual time (test/unit/rate/sim.ts):
// the netns test's receiver 2 (test/netns/webrc.test.ts) on an 80M session behind a 50 Mbit/s tbf
// link with a 50 ms queue that drops to 10 Mbit/s 7 s after the receiver first reaches 70% of it
// (the test: 5 s settled + 2 start-up slots). Per parameter set, the loss at the bottleneck
// (dropped / offered) in each phase: start-up (to 2 slots after the first 70% second), settled
// before the drop, the drop transient (the test's DECAY_SLOTS after it) and settled after, and over
// the whole receive (until the receiver has the packets a 72 MB file needs, about 52 k); how many
// epochs after the drop the rate offered to the link first falls within 1.3x of it, and the packets
// lost in that time. Deterministic: no randomness.
// Run: npx vite-node bench/webrc-drop.ts [-- --sets fcast,tests --need 52000]
import { parseArgs } from 'node:util';
import { resolveWebrcParams, withFcastDefaults, type WebrcParamsInput } from '../src/rate/params.js';
import { WebrcSim, type Sample } from '../test/unit/rate/sim.js';

const { values: opt } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    sets: { type: 'string' },
    need: { type: 'string', default: '52000' },
    secs: { type: 'string', default: '120' },
  },
});

type Set = Partial<Omit<WebrcParamsInput, 'srBps' | 'packetLength'>>;
const sets: Record<string, Set | 'fcast'> = {
  fcast: 'fcast',
  tests: { p: 0.9, bcr: 5, tsd: 1, qd: 10 },
  rfc: {},
  'p.75': { p: 0.75, bcr: 50, tsd: 1, qd: 10 },
  'tsd.5': { p: 0.85, bcr: 50, tsd: 0.5, qd: 10 },
};
const chosen = opt.sets === undefined ? Object.keys(sets) : opt.sets.split(',');
const LENP = 1476;
/** Bytes a packet takes on the tbf link (IP + UDP + ALC within LENP_B, plus Ethernet). */
const WIRE = LENP + 14;
const pps = (mbit: number): number => (mbit * 1e6) / (8 * WIRE);
const mbit = (p: number): number => (p * 8 * WIRE) / 1e6;
const SAMPLE_MS = 100;

for (const name of chosen) {
  const set = sets[name];
  if (set === undefined) throw new Error(`unknown set ${name}: ${Object.keys(sets).join(', ')}`);
  const srBps = 80e6;
  const params = resolveWebrcParams(set === 'fcast' ? withFcastDefaults({ srBps, packetLength: LENP }) : { srBps, packetLength: LENP, ...set });
  const slotMs = params.tsd * 1000;
  const decayMs = (Math.ceil(Math.log(5) / Math.log(1 / params.p)) + 1) * slotMs;
  let dropAt = Infinity;
  const rate = (t: number): number => pps(t < dropAt ? 50 : 10);
  const sim = new WebrcSim(params, [{
    name: 'r2', rate, queuePackets: Math.round(pps(50) * 0.05), joinDelayMs: 12, leaveDelayMs: 2, propagationMs: 0.2,
    options: { minArtt: 0.02 },
  }], SAMPLE_MS);
  let t70: number | undefined;
  let r = sim.run(0)[0]!;
  const until = Number(opt.secs) * 1000;
  for (let t = 1000; t <= until; t += 1000) {
    r = sim.run(t)[0]!;
    const second = r.samples.filter((s) => s.t > t - 1000 && s.t <= t);
    const offered = second.reduce((a, s) => a + s.offered, 0) / Math.max(1, second.length);
    if (t70 === undefined && mbit(offered) >= 35) t70 = t - 1000;
    if (t70 !== undefined && dropAt === Infinity && t >= t70 + 5000 + 2 * slotMs) dropAt = t;
    if (r.delivered >= Number(opt.need) && dropAt !== Infinity) break;
  }
  const s = r.samples;
  const end = s.at(-1)!.t;
  const loss = (from: number, to: number): string => {
    const xs = s.filter((x) => x.t > from && x.t <= to);
    const off = xs.reduce((a, x) => a + x.offered, 0);
    const drop = xs.reduce((a, x) => a + x.dropped, 0);
    return `${off > 0 ? ((100 * drop) / off).toFixed(1) : '-'}% (${Math.round((drop * SAMPLE_MS) / 1000)} of ${Math.round((off * SAMPLE_MS) / 1000)})`;
  };
  const start = (t70 ?? 0) + 2 * slotMs;
  // First 100 ms sample after the drop whose offered rate is within 1.3x of the 10 Mbit/s link.
  const within = s.find((x: Sample) => x.t > dropAt && x.offered <= 1.3 * pps(10));
  const epochs = within === undefined ? 'never' : `${((within.t - dropAt) / (slotMs / 20)).toFixed(0)} epochs`;
  console.log(`${name.padEnd(6)} P ${params.p} BCR_P ${params.bcr} TSD ${params.tsd} N ${params.n}: 70% at ${((t70 ?? NaN) / 1000).toFixed(0)} s, drop at ${(dropAt / 1000).toFixed(0)} s, ` +
    `complete (${opt.need} packets) at ${(end / 1000).toFixed(1)} s\n` +
    `   loss: start-up ${loss(0, start)}, settled ${loss(start, dropAt)}, drop transient ${loss(dropAt, dropAt + decayMs)} [${decayMs / 1000} s], ` +
    `after ${loss(dropAt + decayMs, end)}, whole receive ${loss(0, end)}\n` +
    `   offered within 1.3x of 10 Mbit/s: ${epochs} after the drop (loss meanwhile ${within === undefined ? '-' : loss(dropAt, within.t)})`);
}
