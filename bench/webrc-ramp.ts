// Time for one WEBRC receiver on a fast, unlimited path to reach 50% and 90% of SR_P, in virtual
// time (test/unit/rate/sim.ts), for several parameter sets at 100 Mbit/s and 1 Gbit/s: the
// figures behind the default set (src/rate/params.ts, fcast-send(1) WEBRC). A path like a LAN:
// 2 ms join latency, ARTT floor 20 ms (fcast receive's --webrc-min-artt default), LENP_B 1476.
// `--stall MS` also makes the receiver's event loop busy for MS ms once, across an epoch boundary
// in start-up (packets queue in the socket buffer meanwhile), as when push blocks complete.
// Run: npx vite-node bench/webrc-ramp.ts [-- --rates 100e6,1e9 --stall 40 --secs 20]
import { parseArgs } from 'node:util';
import { resolveWebrcParams, withFcastDefaults, type WebrcParamsInput } from '../src/rate/params.js';
import type { TraceEvent } from '../src/rate/receiver.js';
import { WebrcSim } from '../test/unit/rate/sim.js';

const { values: opt } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    rates: { type: 'string', default: '100e6,1e9' },
    stall: { type: 'string' },
    'stall-at': { type: 'string', default: '1475' },
    secs: { type: 'string', default: '20' },
    sets: { type: 'string' },
  },
});

type Set = Partial<Omit<WebrcParamsInput, 'srBps' | 'packetLength'>>;
// 'fcast' is fcast send's default set (FCAST_WEBRC_DEFAULTS); the others are the RFC's and candidates.
const sets: Record<string, Set | 'fcast'> = {
  fcast: 'fcast',
  rfc: {},
  tests: { p: 0.9, bcr: 5, tsd: 1, qd: 10 },
  'p.75-b20-t2': { p: 0.75, bcr: 20, tsd: 2, qd: 10 },
  'p.75-b20-t1': { p: 0.75, bcr: 20, tsd: 1, qd: 10 },
  'p.8-b20-t1': { p: 0.8, bcr: 20, tsd: 1, qd: 10 },
  'p.85-b20-t1': { p: 0.85, bcr: 20, tsd: 1, qd: 10 },
  'p.9-b20-t1': { p: 0.9, bcr: 20, tsd: 1, qd: 10 },
  'p.8-b50-t1': { p: 0.8, bcr: 50, tsd: 1, qd: 10 },
  'p.85-b50-t1': { p: 0.85, bcr: 50, tsd: 1, qd: 10 },
  'p.9-b50-t1': { p: 0.9, bcr: 50, tsd: 1, qd: 10 },
  'p.8-b100-t1': { p: 0.8, bcr: 100, tsd: 1, qd: 10 },
};
const chosen = opt.sets === undefined ? Object.keys(sets) : opt.sets.split(',');
const until = Number(opt.secs) * 1000;
const stall = opt.stall === undefined ? undefined : { at: Number(opt['stall-at']), ms: Number(opt.stall) };

for (const srBps of opt.rates!.split(',').map(Number)) {
  for (const name of chosen) {
    const set = sets[name];
    if (set === undefined) throw new Error(`unknown set ${name}: ${Object.keys(sets).join(', ')}`);
    const params = resolveWebrcParams(set === 'fcast' ? withFcastDefaults({ srBps, packetLength: 1476 }) : { srBps, packetLength: 1476, ...set });
    let merged = 0;
    const exits: Array<{ rule: string; t: number; share: number }> = [];
    const trace = (e: TraceEvent): void => {
      if (e.kind === 'slow-start-exit') exits.push({ rule: e.rule, t: e.t, share: e.trr / params.srP });
      if (e.kind === 'epoch' && e.span > 1) merged += e.span - 1;
    };
    const [r] = new WebrcSim(params, [{
      name: 'rx', rate: () => 1e7, queuePackets: 1e6, joinDelayMs: 2, leaveDelayMs: 2, propagationMs: 0.1,
      options: { minArtt: 0.02, trace }, stalls: stall === undefined ? undefined : [stall],
    }], 100).run(until);
    // Per 100 ms sample of delivered packets; 90% = the first sample at or above 0.9·SR_P.
    const at = (f: number): string => {
      const s = r.samples.find((x) => x.delivered >= f * params.srP);
      return s === undefined ? '-' : (s.t / 1000).toFixed(1);
    };
    const rx = r.receiver;
    const exit = exits[0];
    console.log(`${(srBps / 1e6).toFixed(0).padStart(5)}M ${name.padEnd(12)} P ${params.p} BCR_P ${params.bcr} TSD ${params.tsd} N ${String(params.n).padStart(3)} ` +
      `base ${((params.bcr * params.packetLength * 8) / 1e3).toFixed(0).padStart(4)} kbit/s: 50% ${at(0.5).padStart(5)} s, 90% ${at(0.9).padStart(5)} s, ` +
      `join timeouts ${rx?.stats.joinTimeouts}, epochs merged ${merged}, start-up exit ${exit === undefined ? 'none' : `${exit.rule} at ${(exit.t / 1000).toFixed(1)} s, ${(100 * exit.share).toFixed(0)}%`}`);
  }
}
