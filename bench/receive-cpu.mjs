#!/usr/bin/env node
// A receiver's CPU seconds for one file over loopback multicast (127.0.0.1, TTL 0), several
// checkouts side by side: per round, each checkout's `fcast receive GROUP:PORT` runs alone under
// wait4 accounting (user and system CPU, wall, peak RSS) against the same sender (--sender, one
// checkout for all, so only the receivers differ), and the same receiver's start-up alone
// (`--timeout 0.01s`, nobody sending) is measured next to it. The bench/peers.sh settings:
// push, one cycle, N1 5, 400 Mbit/s. A benchmark, not a test (`npm run build` in each checkout).
//
//   node bench/receive-cpu.mjs [--size-mb 64] [--rate 400M] [--rounds 5] [--cli DIR[,DIR...]] [--sender DIR]
//     a DIR ending in ":nobundle" runs that checkout with FCAST_NO_BUNDLE=1 (oclif's ordinary start)
import { spawnCollect } from './proc.mjs';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '64' },
    rate: { type: 'string', default: '400M' },
    rounds: { type: 'string', default: '5' },
    cli: { type: 'string', default: ROOT },
    sender: { type: 'string' },
  },
});
const size = Math.round(Number(values['size-mb']) * 1e6);
const checkouts = values.cli.split(',').map((c) => {
  const nobundle = c.endsWith(':nobundle');
  return { label: c, dir: resolve(nobundle ? c.slice(0, -':nobundle'.length) : c), nobundle };
});
const sender = join(resolve(values.sender ?? checkouts[0].dir), 'bin', 'run.js');
const work = mkdtempSync('/tmp/fcast-rxcpu-');
const file = join(work, 'big.bin');

/** `cmd` under /usr/bin/time: user, system, wall seconds and peak RSS. */
function timed(c, args) {
  const env = c.nobundle ? 'FCAST_NO_BUNDLE=1' : 'FCAST_NO_BUNDLE=';
  return spawnCollect('/usr/bin/env', [env, '/usr/bin/time', '-f', 'TIME %U %S %e %M', process.execPath, join(c.dir, 'bin', 'run.js'), ...args]);
}

function times(stderr) {
  const t = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  return t === null ? undefined : { user: Number(t[1]), sys: Number(t[2]), wall: Number(t[3]), rssMB: Math.round(Number(t[4]) / 1024) };
}

async function startupOnly(c, round) {
  const out = join(work, `start-${round}`);
  const r = await timed(c, ['receive', `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}:${randomInt(20000, 60000)}`, '--iface', '127.0.0.1', '-o', out, '--timeout', '0.01s']).done;
  rmSync(out, { recursive: true, force: true });
  const t = times(r.stderr);
  return t === undefined ? undefined : Number((t.user + t.sys).toFixed(3));
}

async function once(c, round, digest) {
  const group = `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`;
  const port = randomInt(20000, 60000);
  const out = join(work, `out-${round}`);
  const rx = timed(c, ['receive', `${group}:${port}`, '--iface', '127.0.0.1', '-o', out, '--timeout', '60s', '--json']);
  await new Promise((r) => setTimeout(r, 1500)); // joined and idle before the first packet
  const load = loadavg()[0];
  const tx = spawnCollect(process.execPath, [sender, 'send', file, '--to', `${group}:${port}`, '--iface', '127.0.0.1', '--ttl', '0', '--rate', values.rate, '--cycles', '1', '--n1', '5']);
  const r = await rx.done;
  await tx.done;
  let status = `exit ${r.code}`;
  try {
    status = JSON.parse(r.stdout).status;
  } catch {
    // no JSON: the exit status says what happened
  }
  let same = false;
  try {
    same = createHash('sha256').update(readFileSync(join(out, 'big.bin'))).digest('hex') === digest;
  } catch {
    same = false;
  }
  rmSync(out, { recursive: true, force: true });
  const t = times(r.stderr);
  return { cli: c.label, round, status, identical: same, ...t, cpu: t === undefined ? undefined : Number((t.user + t.sys).toFixed(3)), startupCpu: await startupOnly(c, round), load1: Number(load.toFixed(2)) };
}

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[s.length >> 1];
};

try {
  const data = randomBytes(size);
  const fd = openSync(file, 'w');
  writeSync(fd, data);
  closeSync(fd);
  const digest = createHash('sha256').update(data).digest('hex');
  const all = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const c of checkouts) {
      const r = await once(c, round, digest);
      all.push(r);
      console.log(JSON.stringify(r));
    }
  }
  for (const c of checkouts) {
    const rs = all.filter((r) => r.cli === c.label);
    const ok = rs.filter((r) => r.status === 'complete' && r.identical).length;
    const m = (k) => median(rs.map((r) => r[k]));
    console.log(`${c.label}: ${ok}/${rs.length} complete; medians: cpu ${m('cpu')} s (user ${m('user')}, sys ${m('sys')}), start-up alone ${m('startupCpu')} s, wall ${m('wall')} s, peak RSS ${m('rssMB')} MB; load ${Math.min(...rs.map((r) => r.load1))}-${Math.max(...rs.map((r) => r.load1))}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
