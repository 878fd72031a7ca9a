// Seal/open throughput of the shared flexicast flow at 1400-byte ALC packets.
// Run: npx vite-node bench/flow-crypto.ts [packets]
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { FlowOpener, FlowSealer, deriveFlowKey } from '../src/flexicast/flow-crypto.js';

const packets = Number(process.argv[2] ?? 200_000);
const size = 1400;
const secret = randomBytes(32);
const sealer = new FlowSealer(deriveFlowKey(1, 0, secret));
const opener = new FlowOpener(3, 1 << 20 >= packets ? 1 << 20 : packets);
opener.install(deriveFlowKey(1, 0, secret));
const payload = randomBytes(size);
const sealed: Uint8Array[] = new Array(packets);

let t = performance.now();
for (let i = 0; i < packets; i++) sealed[i] = sealer.seal(payload);
const sealMs = performance.now() - t;
t = performance.now();
for (let i = 0; i < packets; i++) if (opener.open(sealed[i]!) === undefined) throw new Error(`packet ${i} did not open`);
const openMs = performance.now() - t;

const mb = (packets * size) / 1e6;
console.log(`flow crypto, ${packets} packets of ${size} bytes (AES-256-GCM, node ${process.version})`);
console.log(`seal: ${(mb / (sealMs / 1000)).toFixed(0)} MB/s, ${((sealMs * 1000) / packets).toFixed(2)} us/packet`);
console.log(`open: ${(mb / (openMs / 1000)).toFixed(0)} MB/s, ${((openMs * 1000) / packets).toFixed(2)} us/packet (incl. replay window)`);
