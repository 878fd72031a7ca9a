// Sender CPU per delivered GB (issue 6 Speed; the seed's Figure 5 comparison scaled to this
// machine): N receivers served by (a) plain multicast of the sealed flow (one copy reaches all
// N; sent through the carousel's own socket, src/net/batch-send.ts: sendmmsg batches with UDP
// GSO), (b) FC-msg replication (one sealed packet, N unicast copies by sendmmsg), (c) unicast
// fallback over QUIC (per receiver: fresh symbols from the block encoder, each as an ALC packet
// in a DATA frame on a QUIC stream, as src/net/flex-sender.ts grants them). Receivers run in a
// child process (bench/flexicast-sink.ts). CPU is this process's user+system time
// (process.cpuUsage: quinn's threads included). All on 127.0.0.1; the box is shared.
// Run: npx vite-node bench/flexicast-cpu.ts [MB delivered per run, default 64]
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { schemeFor } from '../codecs/index.js';
import { planFec } from '../src/carousel/index.js';
import { FlowSealer, deriveFlowKey } from '../src/flexicast/index.js';
import { openBatchSender } from '../src/net/batch-udp.js';
import { openMulticastSender, sendPath } from '../src/net/batch-send.js';
import { createQuicEndpoint, type QuicConnection } from '../src/net/quic.js';
import { sendDataStream } from '../src/net/quic-control.js';
import { identityFromPem, publicKeyText } from '../src/net/quic-identity.js';
import { alcHeaderSize, encodeAlcPacket, type AlcPacketInit } from '../src/wire/index.js';
import type { DataMessage } from '../src/wire/flexicast.js';

const MB = Number(process.argv[2] ?? 64);
const E = 1400;
const K = 1000;
const fec = { encodingId: 3 as const, symbolSize: E, maxSourceBlockLength: K, codeRate: 2 / 3, n1m3: 0 };
const { oti, plan, scheme } = planFec(K * E, fec, schemeFor, 7);
const encoder = scheme.createEncoder(plan, 0, randomBytes(K * E));
const n = plan.blocks[0]!.n;
const packet = (esi: number): Uint8Array => {
  const payload = encoder.symbol(esi);
  const init: AlcPacketInit = { tsi: 1, toi: 2, codepoint: 3, fti: oti, sbn: 0, esi, payload };
  const out = new Uint8Array(alcHeaderSize(init) + payload.length);
  encodeAlcPacket(out, init);
  return out;
};
const sealer = new FlowSealer(deriveFlowKey(1, 0, new Uint8Array(randomBytes(32))));

function sink(args: string[]) {
  const c = spawn(process.execPath, [new URL('../node_modules/vite-node/vite-node.mjs', import.meta.url).pathname, new URL('./flexicast-sink.ts', import.meta.url).pathname, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  const waiters: Array<(l: string) => void> = [];
  c.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiters.shift()?.(line);
    }
  });
  const line = () => new Promise<string>((r) => waiters.push(r));
  return { line, counts: async () => { const l = line(); c.stdin.write('x\n'); return JSON.parse(await l) as { packets: number; bytes: number }; }, kill: () => c.kill() };
}

const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
interface Row { mode: string; n: number; deliveredMB: number; cpuMs: number; wallMs: number; received: number }
const rows: Row[] = [];

async function multicast(nr: number): Promise<void> {
  // One copy per packet whatever N; delivered = copies × N (loopback multicast, TTL 0).
  const s = await openMulticastSender({ family: 4, ttl: 0, iface: '127.0.0.1' });
  const copies = Math.ceil((MB * 1e6) / E / nr);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < copies; i++) {
    const wait = s.send(sealer.seal(packet(i % n)), '239.255.99.1', 47999);
    if (wait !== undefined) await wait;
    // The send loop yields to the pacer at least this often; partial batches go out then.
    if (i % 64 === 63) await new Promise((r) => setImmediate(r));
  }
  await s.close();
  rows.push({ mode: `multicast (${sendPath(4)})`, n: nr, deliveredMB: (copies * E * nr) / 1e6, cpuMs: cpuMs(process.cpuUsage(c0)), wallMs: performance.now() - t0, received: NaN });
}

async function fcMsg(nr: number): Promise<void> {
  const k = sink(['udp', String(nr)]);
  const ports = JSON.parse(await k.line()) as number[];
  const b = await openBatchSender({ bindAddress: '127.0.0.1', sendBufferBytes: 8 << 20 });
  b.setDestinations(ports.map((port) => ({ address: '127.0.0.1', port })));
  const packets = Math.ceil((MB * 1e6) / E / nr);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let sent = 0;
  for (let i = 0; i < packets; i++) {
    sent += b.sendCopies(sealer.seal(packet(i % n)));
    // Let the child read: loopback queues overflow otherwise (the kernel's limit, not ours).
    if (i % 64 === 63) await new Promise((r) => setTimeout(r, 1));
  }
  const cpu = cpuMs(process.cpuUsage(c0));
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  const got = await k.counts();
  rows.push({ mode: `fc-msg (${b.path})`, n: nr, deliveredMB: (sent * E) / 1e6, cpuMs: cpu, wallMs: wall, received: got.packets / Math.max(1, sent) });
  b.close();
  k.kill();
}

async function quic(nr: number): Promise<void> {
  const id = identityFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const ep = await createQuicEndpoint(id);
  const listener = await ep.listen('127.0.0.1', 0, () => true);
  const conns: QuicConnection[] = [];
  void (async () => { for (let c = await listener.accept(); c !== undefined; c = await listener.accept()) conns.push(c); })();
  const k = sink(['quic', String(nr), String(listener.port), publicKeyText(id.publicKey)]);
  await k.line();
  while (conns.length < nr) await new Promise((r) => setTimeout(r, 5));
  const perReceiver = Math.ceil((MB * 1e6) / E / nr);
  const grant = 32;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(conns.map(async (conn, r) => {
    for (let done = 0; done < perReceiver; done += grant) {
      const frames: DataMessage[] = [];
      for (let i = 0; i < grant; i++) frames.push({ kind: 'data', toi: 2, sbn: 0, esi: (r + done + i) % n, symbol: packet((r + done + i) % n) });
      await sendDataStream(conn, frames);
    }
  }));
  const cpu = cpuMs(process.cpuUsage(c0));
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 300));
  const got = await k.counts();
  const sentBytes = perReceiver * nr * E;
  rows.push({ mode: 'QUIC unicast', n: nr, deliveredMB: sentBytes / 1e6, cpuMs: cpu, wallMs: wall, received: got.bytes / Math.max(1, sentBytes) });
  k.kill();
  await listener.close();
  ep.close();
}

// Warm-up (JIT, sockets), not reported.
await multicast(8);
await fcMsg(8);
rows.length = 0;
for (const nr of [1, 8, 32]) {
  await multicast(nr);
  await fcMsg(nr);
  await quic(nr);
}
console.log(`sender CPU per delivered GB, ${MB} MB of symbols delivered per run, E = ${E} (received: bytes the sinks read per symbol byte sent; QUIC adds ALC and frame headers, < 1 = loss)`);
console.log('mode                 N   delivered MB  CPU s/GB  wall s/GB  received');
for (const r of rows) {
  const gb = r.deliveredMB / 1000;
  console.log(`${r.mode.padEnd(20)} ${String(r.n).padStart(2)}  ${r.deliveredMB.toFixed(0).padStart(12)}  ${(r.cpuMs / 1000 / gb).toFixed(2).padStart(8)}  ${(r.wallMs / 1000 / gb).toFixed(2).padStart(9)}  ${Number.isNaN(r.received) ? '    -' : r.received.toFixed(2).padStart(8)}`);
}
process.exit(0);
