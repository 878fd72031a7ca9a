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
for (const impl of [nativeAead(), nodeAead].filter((x): x is FlowAead => x !== undefined)) {
  const sealed: Uint8Array[] = new Array(packets);
  let t = performance.now();
  for (let i = 0; i < packets; i++) sealed[i] = sealFlowPacket(key, i, payload, impl);
  const sealMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < packets; i++) openFlowPacket(key, sealed[i]!, impl);
  const openMs = performance.now() - t;
  const line = (what: string, ms: number) => `${what} ${(mb / (ms / 1000)).toFixed(0)} MB/s (${((ms * 1000) / packets).toFixed(2)} us/packet)`;
  console.log(`${impl.name.padEnd(11)}: ${line('seal', sealMs)}, ${line('open', openMs)}`);
}
