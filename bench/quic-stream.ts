// QUIC adapter figures on 127.0.0.1 (src/net/quic.ts over libp2p-quic): MB/s of one stream
// (sender -> receiver, 1 MiB writes) and the time for N concurrent handshakes.
// Run: npx vite-node bench/quic-stream.ts [MiB] [handshakes]
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createQuicEndpoint, type QuicConnection } from '../src/net/quic.js';
import { identityFromPem } from '../src/net/quic-identity.js';

const mib = Number(process.argv[2] ?? 200);
const handshakes = Number(process.argv[3] ?? 50);
const id = () => identityFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const sender = id();
const receiver = id();
const sep = await createQuicEndpoint(sender);
const listener = await sep.listen('127.0.0.1', 0, () => true);
const accepted: QuicConnection[] = [];
void (async () => { for (let c = await listener.accept(); c !== undefined; c = await listener.accept()) accepted.push(c); })();

const rep = await createQuicEndpoint(receiver);
for (let run = 0; run < 3; run++) {
  const conn = await rep.connect('127.0.0.1', listener.port, sender.publicKey);
  while (accepted.length === 0) await new Promise((r) => setTimeout(r, 1));
  const server = accepted.shift()!;
  const chunk = new Uint8Array(1 << 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sending = (async () => {
    const s = await server.openUni();
    for (let i = 0; i < mib; i++) await s.write(chunk);
    await s.finish();
  })();
  const a = await conn.acceptStream();
  let got = 0;
  for (let c = await a!.stream.read(); c !== undefined; c = await a!.stream.read()) got += c.length;
  await sending;
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(`stream: ${mib} MiB in ${secs.toFixed(2)} s = ${(got / 1e6 / secs).toFixed(0)} MB/s (both ends' CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s)`);
  conn.close();
}

const reps = await Promise.all(Array.from({ length: handshakes }, () => createQuicEndpoint(receiver)));
const t0 = performance.now();
const conns = await Promise.all(reps.map((r) => r.connect('127.0.0.1', listener.port, sender.publicKey)));
console.log(`handshakes: ${handshakes} concurrent in ${(performance.now() - t0).toFixed(0)} ms`);
for (const c of conns) c.close();
for (const r of reps) r.close();
rep.close();
await listener.close();
sep.close();
