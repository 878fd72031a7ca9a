// Sender CPU per packet: one push cycle of a SIZE_MB file (LDPC-Staircase, E=1400, B=1000,
// R=2/3, the CLI defaults' shape) through sendSession (src/net/send-session.ts) to 239.255.77.7
// on 127.0.0.1 with TTL 0, paced at RATE, with one counting receiver in a child process
// (bench/send-cpu-sink.ts). Prints the sender's CPU µs per packet (process.cpuUsage, user+system)
// and packets/s over the session, and what the receiver counted.
// Run: npx vite-node bench/send-cpu.ts [SIZE_MB=64] [RATE_MBIT=2000] [ROUNDS=1]
// FCAST_NO_NATIVE=1 / FCAST_SEND_PATH=dgram select the node:dgram send path.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync, writeSync, closeSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { schemeFor } from '../codecs/index.js';
import { sendSession } from '../src/net/send-session.js';

const sizeMb = Number(process.argv[2] ?? 64);
const rateMbit = Number(process.argv[3] ?? 2000);
const rounds = Number(process.argv[4] ?? 1);
const group = '239.255.77.7';
const port = 40_000 + (process.pid % 20_000);
const path = `/tmp/fcast-send-cpu-${process.pid}.bin`;
const size = sizeMb * 1_000_000;

const fd = openSync(path, 'w');
const chunk = randomBytes(1 << 20);
for (let off = 0; off < size; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
closeSync(fd);

// Not this process's execArgv: --cpu-prof / --trace-gc are for the sender only.
const sink = spawn(process.execPath, sinkArgs(), { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: sink.stdout! })[Symbol.asyncIterator]();
function sinkArgs(): string[] {
  // Run the sink the way this script runs (vite-node puts its CLI in argv[1]).
  return [process.argv[1]!.includes('vite-node') ? process.argv[1]! : 'node_modules/.bin/vite-node', 'bench/send-cpu-sink.ts', group, String(port)];
}

try {
  if ((await lines.next()).value !== 'ready') throw new Error('sink did not start');
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const files = [{ key: 0, contentLocation: 'bench.bin', contentLength: size, contentType: 'application/octet-stream', sha256: new Uint8Array(32), mtime: 0, mode: 0o644 }];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await sendSession({
      core: { tsi: 7 + r, files, fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 0 }, schemes: schemeFor, mode: 'push', cycles: 1 },
      paths: [path],
      channels: [{ cn: 0, group, port }],
      family: 4,
      ttl: 0,
      iface: '127.0.0.1',
      bitsPerSecond: rateMbit * 1e6,
    });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const packets = res.stats.packets;
    results.push({
      packets,
      wallMs: Math.round(ms),
      cpuUsPerPacket: +((cpu.user + cpu.system) / packets).toFixed(2),
      userUs: +(cpu.user / packets).toFixed(2),
      sysUs: +(cpu.system / packets).toFixed(2),
      packetsPerS: Math.round((packets / ms) * 1000),
      mbitPerS: Math.round(res.bitsPerSecond / 1e6),
    });
  }
  await new Promise((r) => setTimeout(r, 300));
  sink.stdin!.write('\n');
  const received = JSON.parse(String((await lines.next()).value)) as { packets: number };
  console.log(JSON.stringify({ sizeMb, rateMbit, rounds: results, receiverPackets: received.packets }, null, 1));
} finally {
  unlinkSync(path);
  if (sink.exitCode === null) {
    sink.kill();
    await once(sink, 'exit');
  }
}
