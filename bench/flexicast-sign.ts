// What per-sender authenticity of flow packets would cost (issue 6; research/quic.md §3.4): today
// every admitted receiver holds the flow key, so one of them could forge flow packets to the
// others. Compared, per flow packet of E = 1400 symbol bytes (1427 sealed bytes), in CPU time of
// this process (the box is shared: run it alone, note the load):
//   seal / open   the AES-256-GCM every flow packet already costs (the flow's AEAD, native if built)
//   ed25519/pkt   an Ed25519 signature on every packet (node:crypto, OpenSSL): sign at the sender,
//                 verify at each receiver, +64 bytes per packet
//   amortized/B   one signature per B packets over their SHA-256 digests (the seed's "per stream"
//                 idea, TESLA-free): the sender hashes each packet and signs once per B; a
//                 receiver hashes each packet and verifies once per B, holding B packets back
// Printed: us per packet and CPU seconds per GB of flow (sender; each receiver).
// Run: npx vite-node bench/flexicast-sign.ts [packets per measurement, default 20000]
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { FLOW_OVERHEAD, FlowOpener, FlowSealer, deriveFlowKey, flowAead } from '../src/flexicast/index.js';

const PACKETS = Number(process.argv[2] ?? 20_000);
const E = 1400;
const ALC = E + 44; // ALC header with EXT_FTI, as the carousel sends it
const packetsPerGb = 1e9 / E;
const plain = Array.from({ length: 256 }, () => new Uint8Array(randomBytes(ALC)));
const secret = new Uint8Array(randomBytes(32));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');

/** CPU microseconds per iteration of `fn` over `count` iterations (user + system of this process). */
function cpuUs(count: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(2000, count); i++) fn(i); // warm-up
  const c0 = process.cpuUsage();
  for (let i = 0; i < count; i++) fn(i);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / count;
}

const sealer = new FlowSealer(deriveFlowKey(1, 0, secret));
const sealed = plain.map((p) => sealer.seal(p));
const opener = new FlowOpener(3, 1 << 20);
opener.install(deriveFlowKey(1, 0, secret));
const fresh = new FlowSealer(deriveFlowKey(1, 0, secret));
const stream = Array.from({ length: PACKETS + 2000 }, (_, i) => fresh.seal(plain[i % plain.length]!));

const rows: Array<{ what: string; senderUs: number; receiverUs: number; bytes: number }> = [];
const seal = cpuUs(PACKETS, (i) => sealer.seal(plain[i % plain.length]!));
let next = 0;
const open = cpuUs(PACKETS, () => opener.open(stream[next++]!));
rows.push({ what: `AES-GCM seal/open (${flowAead().name})`, senderUs: seal, receiverUs: open, bytes: FLOW_OVERHEAD });

const sigs = sealed.map((p) => sign(null, p, privateKey));
const signUs = cpuUs(Math.min(PACKETS, 5000), (i) => sign(null, sealed[i % sealed.length]!, privateKey));
const verifyUs = cpuUs(Math.min(PACKETS, 5000), (i) => {
  if (!verify(null, sealed[i % sealed.length]!, publicKey, sigs[i % sealed.length]!)) throw new Error('verify');
});
rows.push({ what: 'Ed25519 per packet', senderUs: signUs, receiverUs: verifyUs, bytes: 64 });

const hashUs = cpuUs(PACKETS, (i) => createHash('sha256').update(sealed[i % sealed.length]!).digest());
for (const b of [16, 64, 256]) {
  // One signed digest list per B packets: B × 16-byte truncated digests + 64-byte signature.
  rows.push({ what: `amortized, 1 sig / ${b} pkts`, senderUs: hashUs + signUs / b, receiverUs: hashUs + verifyUs / b, bytes: (16 * b + 64 + FLOW_OVERHEAD) / b });
}

console.log(`flow packet authenticity cost, E = ${E}, ${PACKETS} packets per measurement, CPU of this process`);
console.log('what                              sender us/pkt  receiver us/pkt  sender s/GB  receiver s/GB  bytes/pkt');
for (const r of rows) {
  console.log(`${r.what.padEnd(33)} ${r.senderUs.toFixed(2).padStart(13)}  ${r.receiverUs.toFixed(2).padStart(15)}  ${((r.senderUs * packetsPerGb) / 1e6).toFixed(2).padStart(11)}  ${((r.receiverUs * packetsPerGb) / 1e6).toFixed(2).padStart(13)}  ${r.bytes.toFixed(1).padStart(9)}`);
}
