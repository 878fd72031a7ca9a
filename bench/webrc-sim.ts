// WEBRC convergence figures in virtual time (RFC 3738; issue 5): per scenario, the bottleneck,
// what the receiver ends up subscribed to (nominal rate of its joined channels), what arrives,
// its target rate TRATE, the loss at the bottleneck and how many epochs it takes to settle.
// Run: npx vite-node bench/webrc-sim.ts
// Settled = the per-slot mean subscribed rate enters [0.7, 1.1]·bottleneck and stays there.
import { resolveWebrcParams, type WebrcParams } from '../src/rate/params.js';
import { WebrcSim, lossShare, mean, settleTime, type SimReceiverSpec } from '../test/unit/rate/sim.js';

const short = resolveWebrcParams({ srBps: 1000 * 8 * 1000, packetLength: 1000, tsd: 2, qd: 20, bcr: 5 });
const rfc = resolveWebrcParams({ srBps: 300 * 8 * 1000, packetLength: 1000 });

function link(name: string, rate: (t: number) => number): SimReceiverSpec {
  return { name, rate, queuePackets: 20, joinDelayMs: 20, leaveDelayMs: 20, propagationMs: 10 };
}

/** A LAN-like path as in the netns tests: 2 ms join latency, ~50 ms of queue, 1,400-byte packets. */
function lan(name: string, mbit: (t: number) => number, minArtt: number): SimReceiverSpec {
  const pps = (t: number): number => (mbit(t) * 1e6) / (8 * 1400);
  return { name, rate: pps, queuePackets: Math.round(pps(0) * 0.05), joinDelayMs: 2, leaveDelayMs: 2, propagationMs: 0.2, options: { minArtt } };
}

interface Phase {
  readonly from: number;
  readonly to: number;
  readonly bottleneck: number;
}

function report(label: string, params: WebrcParams, specs: SimReceiverSpec[], phases: Phase[][], until: number): void {
  const wall = performance.now();
  const results = new WebrcSim(params, specs).run(until);
  const slotMs = params.tsd * 1000;
  const elMs = slotMs / 20;
  console.log(`\n${label}: TSD ${params.tsd} s, QD ${params.qd} s, BCR_P ${params.bcr}, N ${params.n}, SR_P ${params.srP} pkt/s ` +
    `(${(performance.now() - wall).toFixed(0)} ms wall for ${until / 1000} s virtual)`);
  results.forEach((r, i) => {
    for (const { from, to, bottleneck: bn } of phases[i]) {
      const tail = Math.max(from, to - 10 * slotMs);
      const sub = mean(r.samples, 'subscribed', tail, to);
      const dlv = mean(r.samples, 'delivered', tail, to);
      const trate = mean(r.samples, 'targetRate', tail, to);
      const nwc = mean(r.samples, 'nwc', tail, to);
      const settle = settleTime(r.samples, from, to, 0.7 * bn, 1.1 * bn, slotMs);
      console.log(
        `  ${r.spec.name.padEnd(5)} bottleneck ${String(bn).padStart(4)} pkt/s | last ${(to - tail) / 1000} s: subscribed ${sub.toFixed(1)} ` +
          `(${((100 * sub) / bn).toFixed(0)}%), delivered ${dlv.toFixed(1)}, TRATE ${trate.toFixed(1)}, NWC ${nwc.toFixed(1)}, ` +
          `loss ${(100 * lossShare(r.samples, tail, to)).toFixed(2)}% | settled after ${settle === undefined ? 'never' : `${settle / 1000} s = ${settle / elMs} epochs`}`,
      );
    }
  });
}

report('single receiver, bottleneck halves at 60 s', short, [link('a', (t) => (t < 60_000 ? 150 : 75))],
  [[{ from: 0, to: 60_000, bottleneck: 150 }, { from: 60_000, to: 120_000, bottleneck: 75 }]], 120_000);
report('two receivers', short, [link('slow', () => 60), link('fast', () => 300)],
  [[{ from: 0, to: 80_000, bottleneck: 60 }], [{ from: 0, to: 80_000, bottleneck: 300 }]], 80_000);
report('RFC defaults, bottleneck halves at 400 s', rfc, [link('a', (t) => (t < 400_000 ? 100 : 50))],
  [[{ from: 0, to: 400_000, bottleneck: 100 }, { from: 400_000, to: 800_000, bottleneck: 50 }]], 800_000);

// The netns scale of issue 5 (10 and 50 Mbit/s links, the 50 dropping to 10), with RFC 3738's
// ARTT as measured (floor 1 ms) and with a 20 ms floor (ReceiverOptions.minArtt).
const netns = resolveWebrcParams({ srBps: 80e6, packetLength: 1400, tsd: 2, qd: 20, bcr: 5 });
const tenMbit = (10e6 / (8 * 1400));
const fiftyMbit = (50e6 / (8 * 1400));
for (const minArtt of [0.001, 0.02]) {
  report(`netns scale, ARTT floor ${minArtt * 1000} ms`, netns,
    [lan('10M', () => 10, minArtt), lan('50M', (t) => (t < 60_000 ? 50 : 10), minArtt)],
    [[{ from: 0, to: 120_000, bottleneck: Math.round(tenMbit) }],
      [{ from: 0, to: 60_000, bottleneck: Math.round(fiftyMbit) }, { from: 60_000, to: 120_000, bottleneck: Math.round(tenMbit) }]],
    120_000);
}
