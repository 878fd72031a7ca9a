// Seal/open throughput of the shared flexicast flow at 1400-byte ALC packets, for both AEAD
// paths (native OpenSSL through the addon, and node:crypto).
// Run: npx vite-node bench/flow-crypto.ts [packets]
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { deriveFlowKey, nativeAead, nodeAead, openFlowPacket, sealFlowPacket, type FlowAead } from '../src/flexicast/flow-crypto.js';

const packets = Number(process.argv[2] ?? 200_000);
const size = 1400;
const key = deriveFlowKey(1, 0, randomBytes(32));
const payload = randomBytes(size);
const mb = (packets * size) / 1e6;

console.log(`flow crypto, ${packets} packets of ${size} bytes, AES-256-GCM, node ${process.version}`);
// Wall time suffers when other processes share the CPUs; CPU time of this process is the steadier
// figure, so both are printed (MB/s per CPU-second = throughput on an idle core).
for (const impl of [nativeAead(), nodeAead].filter((x): x is FlowAead => x !== undefined)) {
  const sealed: Uint8Array[] = new Array(packets);
  const time = (f: () => void) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    const c = process.cpuUsage(c0);
    return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
  };
  const seal = time(() => { for (let i = 0; i < packets; i++) sealed[i] = sealFlowPacket(key, i, payload, impl); });
  const open = time(() => { for (let i = 0; i < packets; i++) openFlowPacket(key, sealed[i]!, impl); });
  const line = (what: string, t: { wall: number; cpu: number }) =>
    `${what} ${(mb / (t.cpu / 1000)).toFixed(0)} MB/CPU-s (${((t.cpu * 1000) / packets).toFixed(2)} us CPU/packet; wall ${(mb / (t.wall / 1000)).toFixed(0)} MB/s)`;
  console.log(`${impl.name.padEnd(11)}: ${line('seal', seal)}, ${line('open', open)}`);
}
