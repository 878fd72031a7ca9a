// Sender CPU of whole `fcast send` processes, as the peer harness counts it (bench/peers.sh:
// /usr/bin/time around the sender): start-up, hashing, the JIT warming up and one push cycle of a
// SIZE_MB file to 239.255.77.8 on 127.0.0.1 with TTL 0 (no receiver: the kernel drops the
// datagrams at the group's empty socket list, so the system time is the sender's own). Builds
// A and B (e.g. HEAD and a base built under /tmp) run alternately, RUNS times each, so the load
// of a shared machine hits both alike; prints user / sys / total CPU-s per run and the medians.
// bench/send-cpu.ts measures the warm per-packet cost inside one process instead.
// Run: npx vite-node bench/send-cpu-cli.ts -- [--a bin/run.js] [--b /tmp/base/bin/run.js] [--runs 5] [--size-mb 64] [--flags "--rate 1G --cycles 1 --n1 5"]
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    a: { type: 'string', default: 'bin/run.js' },
    b: { type: 'string' },
    runs: { type: 'string', default: '5' },
    'size-mb': { type: 'string', default: '64' },
    flags: { type: 'string', default: '--rate 1G --cycles 1 --n1 5' },
  },
});
const runs = Number(values.runs);
const size = Number(values['size-mb']) * 1024 * 1024;
const path = `/tmp/fcast-send-cpu-cli-${process.pid}.bin`;
const fd = openSync(path, 'w');
const chunk = randomBytes(1 << 20);
for (let off = 0; off < size; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
closeSync(fd);

interface Run {
  readonly user: number;
  readonly sys: number;
  readonly wall: number;
}

/** One sender process under /usr/bin/time (user and system CPU-s of the process and its threads). */
function once(cli: string): Run {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const args = ['-f', '%e %U %S', 'node', cli, 'send', path, '--to', `239.255.77.8:${port}`, '--iface', '127.0.0.1', '--ttl', '0', ...values.flags!.split(/\s+/).filter(Boolean)];
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cli} send failed: ${r.stderr}`);
  const [wall, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
  return { user, sys, wall };
}

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const builds = values.b === undefined ? { A: values.a! } : { A: values.a!, B: values.b };
const results: Record<string, Run[]> = {};
try {
  for (let i = 0; i < runs; i++) {
    for (const [name, cli] of Object.entries(builds)) (results[name] ??= []).push(once(cli));
  }
} finally {
  unlinkSync(path);
}
for (const [name, rs] of Object.entries(results)) {
  const total = rs.map((r) => r.user + r.sys);
  console.log(
    `${name} ${builds[name as 'A']}: cpu s ${total.map((t) => t.toFixed(2)).join(' ')} | median user ${median(rs.map((r) => r.user)).toFixed(2)} sys ${median(rs.map((r) => r.sys)).toFixed(2)} total ${median(total).toFixed(2)} wall ${median(rs.map((r) => r.wall)).toFixed(2)}`,
  );
}
