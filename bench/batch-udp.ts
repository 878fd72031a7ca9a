// FC-msg replication rate: one 1400-byte packet to 32 loopback receivers, sendmmsg (native) vs
// a node:dgram send loop. Receivers run in a child process so they do not share the sender's
// event loop. Prints copies handed to the kernel per second, sender CPU per copy, and copies the
// receivers actually read (loopback receive queues overflow at these rates; that is the kernel's
// limit on this box, not the sender's).
// Run: npx vite-node bench/batch-udp.ts [packets] [receivers]
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { openBatchSender } from '../src/net/batch-udp.js';

const packets = Number(process.argv[2] ?? 20_000);
const n = Number(process.argv[3] ?? 32);

const child = `
const dgram = require('node:dgram');
const socks = []; let count = 0; let ready = 0;
for (let i = 0; i < ${n}; i++) {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  s.on('message', () => { count++; });
  s.bind(0, '127.0.0.1', () => { if (++ready === ${n}) process.stdout.write(JSON.stringify(socks.map((x) => x.address().port)) + '\\n'); });
  socks.push(s);
}
process.stdin.on('data', () => { process.stdout.write(JSON.stringify({ count }) + '\\n'); count = 0; });
`;

const rx = spawn(process.execPath, ['-e', child], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines: string[] = [];
let waiting: ((l: string) => void) | undefined;
let buf = '';
rx.stdout.on('data', (d: Buffer) => {
  buf += d.toString();
  for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (waiting) { const w = waiting; waiting = undefined; w(line); } else lines.push(line);
  }
});
const nextLine = () => new Promise<string>((r) => { const l = lines.shift(); if (l !== undefined) r(l); else waiting = r; });

const ports = JSON.parse(await nextLine()) as number[];
const packet = new Uint8Array(1400).fill(0xab);
console.log(`FC-msg replication: ${packets} packets x ${n} receivers, ${packet.length} bytes, loopback`);
for (const forceDgram of [false, true]) {
  const s = await openBatchSender({ bindAddress: '127.0.0.1', forceDgram });
  s.setDestinations(ports.map((port) => ({ address: '127.0.0.1', port })));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < packets; i++) {
    s.sendCopies(packet);
    // Let node:dgram's queued sends drain now and then, as a real sender loop would.
    if (forceDgram && i % 256 === 255) await new Promise((r) => setImmediate(r));
  }
  if (forceDgram) await new Promise((r) => setTimeout(r, 0));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 300));
  rx.stdin.write('x');
  const { count } = JSON.parse(await nextLine()) as { count: number };
  const copies = s.stats().sent;
  const cpuUs = cpu.user + cpu.system;
  // On a shared box wall time mostly measures the other processes; CPU per copy is the figure.
  console.log(`${s.path.padEnd(8)}: ${(cpuUs / copies).toFixed(2)} us sender CPU/copy = ${(copies / (cpuUs / 1e6) / 1000).toFixed(0)}k copies per CPU-second (wall ${(copies / secs / 1000).toFixed(0)}k/s), ${count} of ${packets * n} read by receivers`);
  s.close();
}
rx.kill();
