#!/usr/bin/env node
// Receiver memory and speed on one large file, over loopback multicast (127.0.0.1, TTL 0):
// `fcast send FILE` and `fcast receive GROUP:PORT` as two processes; the receiver's resident set
// (VmRSS, and the kernel's peak VmHWM) is sampled from /proc every 200 ms. Prints one JSON line
// and a summary. A benchmark, not a test: run it by hand (needs `npm run build` first).
//
//   node bench/receive-memory.mjs [--size-gb 2] [--rate 300M] [--work /tmp] [--fec ldpc|nocode]
//
// Disk: the source file, the received file, and the receiver's spool (up to ~1.5x the file while
// it is received) must fit under --work.
import { spawnCollect, rcvbufErrors } from './proc.mjs';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUN = join(ROOT, 'bin', 'run.js');
const { values } = parseArgs({
  options: { 'size-gb': { type: 'string', default: '2' }, rate: { type: 'string', default: '300M' }, work: { type: 'string', default: '/tmp' }, fec: { type: 'string', default: 'ldpc' } },
});
const size = Math.round(Number(values['size-gb']) * 1e9);
const work = mkdtempSync(join(values.work, 'fcast-rxmem-'));
const file = join(work, 'big.bin');
const out = join(work, 'out');

function makeFile() {
  // 64 MiB of random bytes repeated: incompressible enough for FEC, fast to write.
  const chunk = randomBytes(64 << 20);
  const fd = openSync(file, 'w');
  for (let off = 0; off < size; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
  closeSync(fd);
}

async function sha256(path) {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 << 20 })) h.update(c);
  return h.digest('hex');
}

function memOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
  } catch {
    return undefined;
  }
}

function run(args) {
  return spawnCollect(process.execPath, [RUN, ...args]);
}

try {
  process.stderr.write(`writing ${(size / 1e9).toFixed(2)} GB source file...\n`);
  makeFile();
  const group = `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`;
  const port = randomInt(20000, 60000);
  const rx = run(['receive', `${group}:${port}`, '-o', out, '--iface', '127.0.0.1', '--timeout', '60m', '--json']);
  let peakRss = 0;
  let hwm = 0;
  const sampler = setInterval(() => {
    const m = memOf(rx.child.pid);
    if (m !== undefined) {
      peakRss = Math.max(peakRss, m.rss);
      hwm = Math.max(hwm, m.hwm);
    }
  }, 200);
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = performance.now();
  const drops0 = rcvbufErrors();
  const tx = run(['send', file, '--to', `${group}:${port}`, '--iface', '127.0.0.1', '--ttl', '0', '--rate', values.rate, '--fec', values.fec, '--cycles', '3', '--json']);
  const r = await rx.done;
  const seconds = (performance.now() - t0) / 1000;
  const kernelDrops = rcvbufErrors() - drops0;
  clearInterval(sampler);
  tx.child.kill('SIGINT');
  await tx.done;
  const summary = JSON.parse(r.stdout);
  const same = summary.status === 'complete' && (await sha256(file)) === (await sha256(join(out, 'big.bin')));
  const o = summary.objects.find((x) => x.path === 'big.bin') ?? {};
  const result = {
    sizeBytes: size,
    rate: values.rate,
    fec: values.fec,
    status: summary.status,
    identical: same,
    seconds: Number(seconds.toFixed(1)),
    goodputMbps: Number(((size * 8) / seconds / 1e6).toFixed(1)),
    peakRssMB: Number((peakRss / 2 ** 20).toFixed(1)),
    vmHwmMB: Number((hwm / 2 ** 20).toFixed(1)),
    packets: summary.packets,
    symbolsOverK: o.k ? Number((o.symbols / o.k).toFixed(4)) : undefined,
    dropped: summary.dropped,
    kernelRcvbufDrops: kernelDrops,
    recvBufferSize: summary.recvBufferSize,
  };
  console.log(JSON.stringify(result));
  process.stderr.write(`${result.identical ? 'identical' : 'NOT identical'}: ${(size / 1e9).toFixed(2)} GB in ${result.seconds} s (${result.goodputMbps} Mbit/s goodput), receiver peak RSS ${result.peakRssMB} MB (VmHWM ${result.vmHwmMB} MB)\n`);
  process.exitCode = result.identical ? 0 : 3;
} finally {
  rmSync(work, { recursive: true, force: true });
}
