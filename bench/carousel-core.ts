// Carousel core speed (src/carousel): packets/s the sans-IO sender produces for one file of
// SIZE_MB (LDPC-Staircase, E=1400, B=1000, R=2/3, one push cycle), reads served at once from a
// zero buffer, no sockets. This is the ceiling the send shell (pacing + node:dgram) works under.
// Run: npx vite-node bench/carousel-core.ts [SIZE_MB] [ROUNDS]
import { schemeFor } from '../codecs/index.js';
import { CarouselSender } from '../src/carousel/index.js';

const sizeMb = Number(process.argv[2] ?? 64);
const rounds = Number(process.argv[3] ?? 3);
const files = [{ key: 0, contentLocation: 'bench.bin', contentLength: sizeMb * 1_000_000, contentType: 'application/octet-stream', sha256: new Uint8Array(32), mtime: 0, mode: 0o644 }];
const results: { packets: number; ms: number; pps: number; mbitPerS: number }[] = [];
for (let r = 0; r < rounds; r++) {
  const s = new CarouselSender({ tsi: 1, files, fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 0 }, schemes: schemeFor, mode: 'push', cycles: 1 });
  let packets = 0;
  let bytes = 0;
  const t0 = performance.now();
  for (;;) {
    const o = s.poll(performance.now());
    if (o.kind === 'done') break;
    if (o.kind === 'read') s.readDone(o.id);
    else if (o.kind === 'transmit') {
      packets++;
      bytes += o.bytes.length;
    }
  }
  const ms = performance.now() - t0;
  results.push({ packets, ms: Math.round(ms), pps: Math.round((packets / ms) * 1000), mbitPerS: Math.round((bytes * 8) / ms / 1000) });
}
const best = results.reduce((a, b) => (b.pps > a.pps ? b : a));
console.log(JSON.stringify({ sizeMb, rounds: results, best }, null, 1));
