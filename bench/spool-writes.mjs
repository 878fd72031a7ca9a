#!/usr/bin/env node
// What a receiver writes besides the file it receives: one file over loopback multicast
// (127.0.0.1, TTL 0), `fcast receive GROUP:PORT` run under /usr/bin/time (user + system CPU
// seconds, minor page faults, peak RSS), its resume spool's size and its write(2) bytes
// (/proc/PID/io wchar: output file + spool + journal) sampled every 20 ms, and the MB the disks
// took over the run (/proc/diskstats: everyone's; a spool unlinked before writeback never gets
// there). Several checkouts run in turn within each round, so a
// loaded shared machine hits them alike. A benchmark, not a test (each checkout needs
// `npm run build` first). --receivers N runs N receivers at once (as in bench/peers.sh) and adds
// the machine's busy CPU seconds over the run (/proc/stat: everyone's, kernel writeback included).
//
//   node bench/spool-writes.mjs [--size-mb 64] [--rate 200M] [--rounds 3] [--receivers 1] [--cli DIR,DIR...]
import { spawnCollect } from './proc.mjs';
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '64' },
    rate: { type: 'string', default: '200M' },
    rounds: { type: 'string', default: '3' },
    receivers: { type: 'string', default: '1' },
    cli: { type: 'string', default: ROOT },
  },
});
const size = Math.round(Number(values['size-mb']) * 1e6);
const checkouts = values.cli.split(',').map((d) => resolve(d));
const work = mkdtempSync('/tmp/fcast-spoolw-');
const file = join(work, 'big.bin');

/** The node process /usr/bin/time started (its only child). */
function nodePid(timePid) {
  try {
    return Number(readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim().split(/\s+/)[0]) || undefined;
  } catch {
    return undefined;
  }
}

function wchar(pid) {
  try {
    return Number(/^wchar: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function spoolBytes(out) {
  let n = 0;
  try {
    for (const name of readdirSync(join(out, '.fcast'))) if (name.endsWith('.spool')) n += statSync(join(out, '.fcast', name)).size;
  } catch {
    // not there yet, or removed at the end
  }
  return n;
}

/** Busy CPU seconds of the whole machine so far (user + nice + system + irq + softirq). */
function busySeconds() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6]) / 100;
}

/** MB written to block devices so far (/proc/diskstats, whole disks: everyone's writes). */
function diskWrittenMB() {
  let sectors = 0;
  for (const l of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f.length > 9 && /^(vd[a-z]+|sd[a-z]+|nvme\d+n\d+)$/.test(f[2])) sectors += Number(f[9]);
  }
  return (sectors * 512) / 1e6;
}

async function once(checkout, round) {
  const runJs = join(checkout, 'bin', 'run.js');
  const group = `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`;
  const port = randomInt(20000, 60000);
  const busy0 = busySeconds();
  const disk0 = diskWrittenMB();
  const all = await Promise.all(Array.from({ length: Number(values.receivers) }, (_, i) => receiver(runJs, join(work, `out-${round}-${checkouts.indexOf(checkout)}-${i}`), group, port)));
  const rx = all.map((r) => r.result);
  const load = loadavg()[0];
  const tx = spawnCollect(process.execPath, [runJs, 'send', file, '--to', `${group}:${port}`, '--iface', '127.0.0.1', '--ttl', '0', '--rate', values.rate, '--cycles', '3', '--json']);
  const results = await Promise.all(rx);
  tx.child.kill('SIGINT');
  await tx.done;
  const sum = (k) => Number(results.reduce((a, r) => a + (r[k] ?? 0), 0).toFixed(2));
  return {
    checkout,
    round,
    receivers: results.length,
    complete: results.filter((r) => r.status === 'complete' && r.identical).length,
    cpuS: results.map((r) => r.cpuS),
    cpuSumS: sum('cpuS'),
    sysSumS: sum('sysS'),
    minorFaults: results.map((r) => r.minorFaults),
    maxRssMB: results.map((r) => r.maxRssMB),
    wallS: Math.max(...results.map((r) => r.wallS ?? 0)),
    spoolMB: results.map((r) => r.spoolMB),
    wcharMB: results.map((r) => r.wcharMB),
    machineBusyS: Number((busySeconds() - busy0).toFixed(2)),
    diskWrittenMB: Number((diskWrittenMB() - disk0).toFixed(1)),
    load1: Number(load.toFixed(2)),
  };
}

/** Start one receiver; `result` settles when it ends (after the caller starts the sender). */
async function receiver(runJs, out, group, port) {
  const rx = spawnCollect('/usr/bin/time', ['-f', 'TIME %U %S %e %R %M', process.execPath, runJs, 'receive', `${group}:${port}`, '-o', out, '--iface', '127.0.0.1', '--timeout', '120s', '--json']);
  let maxSpool = 0;
  let maxW = 0;
  let pid;
  const sampler = setInterval(() => {
    pid ??= nodePid(rx.child.pid);
    if (pid !== undefined) maxW = Math.max(maxW, wchar(pid));
    maxSpool = Math.max(maxSpool, spoolBytes(out));
  }, 20);
  await new Promise((r) => setTimeout(r, 1500));
  return { result: finish(rx, out, sampler, () => ({ maxSpool, maxW })) };
}

async function finish(rx, out, sampler, sampled) {
  const r = await rx.done;
  clearInterval(sampler);
  const { maxSpool, maxW } = sampled();
  const t = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(r.stderr);
  let summary = { status: `no result (exit ${r.code})` };
  try {
    summary = JSON.parse(r.stdout);
  } catch {
    // a receiver that died prints no JSON: reported by its status
  }
  let same = false;
  try {
    same = readFileSync(join(out, 'big.bin')).equals(readFileSync(file));
  } catch {
    same = false;
  }
  rmSync(out, { recursive: true, force: true });
  return {
    status: summary.status,
    identical: same,
    cpuS: t ? Number((Number(t[1]) + Number(t[2])).toFixed(2)) : undefined,
    userS: t ? Number(t[1]) : undefined,
    sysS: t ? Number(t[2]) : undefined,
    wallS: t ? Number(t[3]) : undefined,
    minorFaults: t ? Number(t[4]) : undefined,
    maxRssMB: t ? Number((Number(t[5]) / 1024).toFixed(1)) : undefined,
    spoolMB: Number((maxSpool / 1e6).toFixed(2)),
    wcharMB: Number((maxW / 1e6).toFixed(2)),
  };
}

try {
  const chunk = randomBytes(Math.min(size, 16 << 20));
  const fd = openSync(file, 'w');
  for (let off = 0; off < size; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
  closeSync(fd);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const c of checkouts) console.log(JSON.stringify(await once(c, round)));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
