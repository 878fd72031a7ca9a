// Carousel core speed (src/carousel): packets/s the sans-IO sender produces for one file of
// SIZE_MB (LDPC-Staircase, E=1400, B=1000, R=2/3, one push cycle), reads served at once from a
// zero buffer, no sockets. This is the ceiling the send shell (pacing + socket) works under.
// REUSE=1 writes every packet into one buffer (reuseDatagramBuffer, as with the native socket).
// Run: npx vite-node bench/carousel-core.ts [SIZE_MB] [ROUNDS] [N1]
import { schemeFor } from '../codecs/index.js';
import { CarouselSender } from '../src/carousel/index.js';

const sizeMb = Number(process.argv[2] ?? 64);
const rounds = Number(process.argv[3] ?? 3);
const n1 = Number(process.argv[4] ?? 5);
const reuseDatagramBuffer = process.env.REUSE === '1';
const files = [{ key: 0, contentLocation: 'bench.bin', contentLength: sizeMb * 1_000_000, contentType: 'application/octet-stream', sha256: new Uint8Array(32), mtime: 0, mode: 0o644 }];
const results: { packets: number; ms: number; pps: number; mbitPerS: number; cpuUsPerPacket: number }[] = [];
for (let r = 0; r < rounds; r++) {
  const s = new CarouselSender({ tsi: 1, files, fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: n1 - 3 }, schemes: schemeFor, mode: 'push', cycles: 1, reuseDatagramBuffer });
  let packets = 0;
  let bytes = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  results.push({ packets, ms: Math.round(ms), pps: Math.round((packets / ms) * 1000), mbitPerS: Math.round((bytes * 8) / ms / 1000), cpuUsPerPacket: +((cpu.user + cpu.system) / packets).toFixed(2) });
}
const best = results.reduce((a, b) => (b.pps > a.pps ? b : a));
console.log(JSON.stringify({ sizeMb, n1, reuseDatagramBuffer, rounds: results, best }, null, 1));
