// The on-demand carousel's cost and what a receiver on part of its packets pays (issue 5
// follow-up; src/carousel/sender.ts "Transmission order"), on the netns WEBRC test's session:
// a 48 MB file, k = 1000, code rate 1/4, WEBRC at 80 Mbit/s, TSD 1 s, QD 10 s, BCR 5, P 0.9.
// 1. Receivers on base + the lowest L waves (virtual time, real LDPC decoders, symbols of 16
//    bytes with the memory budget scaled to match): packets received / source symbols,
//    duplicates, for each --rounds value (onDemandRounds; "default" = the sender's choice).
// 2. Sender core CPU per packet at E = 1400 (no sockets): the default budget (rounds) against a
//    budget that holds every block (one round), interleaved --runs times.
// Run: npx vite-node bench/webrc-carousel.ts -- [--rounds default,4,8] [--layers 27,41,46] [--runs 2]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { schemeFor } from '../codecs/index.js';
import { CarouselSender, type SenderConfig } from '../src/carousel/sender.js';
import { resolveWebrcParams } from '../src/rate/index.js';
import { onLayers, runOverhead } from '../test/unit/rate/carousel-sim.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: 'default' }, layers: { type: 'string', default: '27,41,46' }, runs: { type: 'string', default: '2' } },
});
const params = resolveWebrcParams({ srBps: 80e6, packetLength: 1450, tsd: 1, qd: 10, bcr: 5, p: 0.9 });
const E = 16;
const budget = Math.round((128 * 2 ** 20 * E) / 1400);
console.log(`load average ${loadavg()[0]!.toFixed(1)}`);
for (const rounds of values.rounds.split(',')) {
  for (const layers of values.layers.split(',').map(Number)) {
    const sender: Partial<SenderConfig> = { memoryBudget: budget, ...(rounds === 'default' ? {} : { onDemandRounds: Number(rounds) }) };
    const r = runOverhead({ fileBytes: 34_286 * E, fec: { encodingId: 3, symbolSize: E, maxSourceBlockLength: 1000, codeRate: 1 / 4, n1m3: 2 }, webrc: params, sender, maxPackets: 3_000_000, accept: onLayers(params, layers) });
    console.log(`rounds ${rounds}, base + ${layers} of ${params.n} waves: ${r.ratio.toFixed(3)} k received, duplicates ${(r.duplicates / r.sourceSymbols).toFixed(3)} k, complete after ${(r.sentUntilComplete / r.cyclePackets).toFixed(2)} cycles`);
  }
}

const size = 48_000_000;
const data = new Uint8Array(size);
for (let i = 0; i < size; i++) data[i] = Math.imul(i, 2654435761) >>> 24;
for (let run = 0; run < Number(values.runs); run++) {
  for (const [label, memoryBudget] of [['default budget', undefined], ['budget holds every block', 400 * 2 ** 20]] as const) {
    const s = new CarouselSender({
      tsi: 1,
      files: [{ key: 0, contentLocation: 'f', contentLength: size, contentType: 'application/octet-stream', sha256: new Uint8Array(32), mtime: 0, mode: 0o644 }],
      fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 1 / 4, n1m3: 2 },
      schemes: schemeFor,
      mode: 'on-demand',
      deadline: 1e9,
      reuseDatagramBuffer: true,
      ...(memoryBudget === undefined ? {} : { memoryBudget }),
    });
    const before = process.cpuUsage();
    let packets = 0;
    while (packets < 140_000) {
      const o = s.poll(1);
      if (o.kind === 'read') {
        o.target.set(data.subarray(o.fileOffset, o.fileOffset + o.target.length));
        s.readDone(o.id);
      } else if (o.kind === 'transmit') packets++;
    }
    const u = process.cpuUsage(before);
    console.log(`${label} (${JSON.stringify(s.onDemandPlan())}): ${((u.user + u.system) / packets).toFixed(2)} us CPU per packet, load ${loadavg()[0]!.toFixed(1)}`);
  }
}
