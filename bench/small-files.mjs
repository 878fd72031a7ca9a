#!/usr/bin/env node
// Many small files over loopback multicast (127.0.0.1, TTL 0): `fcast receive GROUP:PORT` and
// `fcast send TREE` as two processes, the tree made of --files files of 1-4 KB in directories of
// 100. Measures the receiver's time from the sender's start to its exit, its CPU time (from
// /proc), the kernel's UDP RcvbufErrors delta, and checks every file byte for byte. A benchmark,
// not a test: run by hand after `npm run build`.
//
//   node bench/small-files.mjs [--files 2000] [--rate 100M] [--rounds 1] [--work /tmp] [--cli A,B]
//
// --cli: bin/run.js of one or more fcast checkouts (default this one); each round runs each of
// them in turn on the same tree, so that machine load hits them alike (before/after figures).
import { spawnCollect, rcvbufErrors } from './proc.mjs';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUN = join(ROOT, 'bin', 'run.js');
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '100M' },
    rounds: { type: 'string', default: '1' },
    work: { type: 'string', default: '/tmp' },
    cli: { type: 'string' },
  },
});
const count = Number(values.files);
const work = mkdtempSync(join(values.work, 'fcast-small-'));
const tree = join(work, 'tree');
const CLK_TCK = 100;

function makeTree() {
  for (let i = 0; i < count; i++) {
    const dir = join(tree, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.bin`), randomBytes(1024 + randomInt(0, 3073)));
  }
}

function digests(root) {
  const m = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.fcast') walk(p);
      } else m.set(relative(root, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return m;
}

/** utime + stime of a live process, seconds. */
function cpuOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** RX_NODE_FLAGS / TX_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") go to the receiver's / sender's node only. */
function run(cli, args) {
  const env = args[0] === 'receive' ? process.env.RX_NODE_FLAGS : process.env.TX_NODE_FLAGS;
  const flags = env ? env.split(' ') : [];
  return spawnCollect(process.execPath, [...flags, cli, ...args]);
}

async function round(cli, want) {
  const out = join(work, 'out');
  rmSync(out, { recursive: true, force: true });
  const group = `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`;
  const port = randomInt(20000, 60000);
  const rx = run(cli, ['receive', `${group}:${port}`, '-o', out, '--iface', '127.0.0.1', '--timeout', '120s', '--json']);
  let cpu = 0;
  const sampler = setInterval(() => (cpu = cpuOf(rx.child.pid) ?? cpu), 100);
  await new Promise((r) => setTimeout(r, 1500));
  const load = loadavg()[0];
  const drops0 = rcvbufErrors();
  const t0 = performance.now();
  const tx = run(cli, ['send', tree, '--to', `${group}:${port}`, '--iface', '127.0.0.1', '--ttl', '0', '--rate', values.rate, '--cycles', '3', '--json']);
  const r = await rx.done; if (process.env.SHOW_RX_ERR) process.stderr.write(r.stderr + r.stdout.slice(0, 600));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  tx.child.kill('SIGINT');
  const sent = await tx.done;
  const txSummary = sent.stdout.trim().startsWith('{') ? JSON.parse(sent.stdout) : {};
  const summary = r.stdout.trim().startsWith('{') ? JSON.parse(r.stdout) : { status: `exit ${r.code}: ${r.stderr.slice(-300)}` };
  // `fcast send DIR` names files relative to DIR's parent (tree/d0/f0.bin).
  const got = digests(join(out, 'tree'));
  let same = 0;
  for (const [k, v] of want) if (got.get(k) === v) same++;
  return {
    cli,
    files: count,
    rate: values.rate,
    status: summary.status,
    identical: same,
    seconds: Number(seconds.toFixed(2)),
    receiverCpuSeconds: Number(cpu.toFixed(2)),
    packets: summary.packets,
    senderSeconds: txSummary.durationSeconds,
    kernelRcvbufDrops: rcvbufErrors() - drops0,
    load1: Number(load.toFixed(2)),
  };
}

try {
  makeTree();
  const want = digests(tree);
  const clis = values.cli === undefined ? [RUN] : values.cli.split(',');
  for (let i = 0; i < Number(values.rounds); i++) for (const cli of clis) console.log(JSON.stringify(await round(cli, want)));
} finally {
  rmSync(work, { recursive: true, force: true });
}
