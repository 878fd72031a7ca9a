// Start-up of fcast processes as the peer harness pays it (its clock starts just before the
// sender starts), builds run alternately so load hits them alike.
// send: time from just before spawn to the first datagram on a loopback group (a listener
// here timestamps it; the sender is then stopped), for a SIZE_MB file, with when the sender
// reached each step (bench/start-probe.cjs): process origin, preload (Node bootstrapped; the
// CA bundle of NODE_EXTRA_CA_CERTS is read before this), bundle index (bin/run.js, manifest
// check), cache read, compiled (bundle + code cache), hash start (oclif, flags, our setup),
// addon (digest done), first packet.
// receive: a receiver with --timeout on a silent group: user+sys CPU-s of the whole process
// and its wall time (the timeout's idle polling included) and its steps up to the addon (the
// socket's native layer).
// Run: node bench/start-up.mjs [--cli bin/run.js,/tmp/base/bin/run.js] [--runs 10] [--size-mb 64]
//      [--mode send|receive|both] [--flags "--rate 1G --cycles 1 --n1 5"]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    cli: { type: 'string', default: 'bin/run.js' },
    runs: { type: 'string', default: '10' },
    'size-mb': { type: 'string', default: '64' },
    mode: { type: 'string', default: 'both' },
    flags: { type: 'string', default: '--rate 1G --cycles 1 --n1 5' },
  },
});
const clis = values.cli.split(',');
const runs = Number(values.runs);
const GROUP = '239.255.77.12';
const PROBE = new URL('./start-probe.cjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'fcast-start-up-'));
const file = join(dir, 'data.bin');
const fd = openSync(file, 'w');
const chunk = randomBytes(1 << 20);
const size = Number(values['size-mb']) * 1024 * 1024;
for (let off = 0; off < size; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
closeSync(fd);

const now = () => performance.timeOrigin + performance.now();
const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[(s.length - 1) >> 1];
};
const probeOut = join(dir, 'probe.json');

/** The child's steps, in ms after t0 (just before spawn). */
function steps(t0) {
  const p = JSON.parse(readFileSync(probeOut, 'utf8'));
  return { origin: p.origin - t0, ...Object.fromEntries(p.marks.map(([k, v]) => [k, p.origin + v - t0])) };
}

async function sendOnce(cli) {
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise((r) => sock.bind(port, GROUP, r));
  sock.addMembership(GROUP, '127.0.0.1');
  const args = ['-r', PROBE, cli, 'send', file, '--to', `${GROUP}:${port}`, '--iface', '127.0.0.1', '--ttl', '0', ...values.flags.split(/\s+/).filter(Boolean)];
  const env = { ...process.env, FCAST_START_PROBE: probeOut, FCAST_START_FILE: file };
  const t0 = now();
  const child = spawn('node', args, { stdio: 'ignore', env });
  const first = await new Promise((resolve) => sock.once('message', () => resolve(now() - t0)));
  sock.close();
  await new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGTERM'); // ends the session; the probe is written at exit
  });
  return { ...steps(t0), first };
}

async function receiveOnce(cli) {
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const out = join(dir, 'out');
  const args = ['-r', PROBE, cli, 'receive', `${GROUP}:${port}`, '-o', out, '--iface', '127.0.0.1', '--timeout', '1s'];
  const env = { ...process.env, FCAST_START_PROBE: probeOut };
  const t0 = now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S', 'node', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise((r) => child.once('exit', r));
  rmSync(out, { recursive: true, force: true });
  const [user, sys] = err.trim().split('\n').pop().split(' ').map(Number);
  return { ...steps(t0), end: now() - t0, cpu: (user + sys) * 1000 };
}

const SEND_KEYS = ['origin', 'preload', 'bundleIndex', 'cacheRead', 'compiled', 'hashStart', 'addon', 'first'];
const RECEIVE_KEYS = ['origin', 'preload', 'bundleIndex', 'cacheRead', 'compiled', 'addon', 'end', 'cpu'];
for (const [mode, once, keys] of [['send', sendOnce, SEND_KEYS], ['receive', receiveOnce, RECEIVE_KEYS]]) {
  if (values.mode !== 'both' && values.mode !== mode) continue;
  const rows = new Map(clis.map((c) => [c, []]));
  for (const cli of clis) await once(cli); // code caches written, files in the page cache
  for (let i = 0; i < runs; i++) for (const cli of clis) rows.get(cli).push(await once(cli));
  for (const cli of clis) {
    const r = rows.get(cli);
    console.log(`${mode} ${cli} (median of ${r.length}, ms after spawn${mode === 'receive' ? '; cpu = user+sys ms' : ''}):`);
    console.log('  ' + keys.map((k) => `${k} ${median(r.map((x) => x[k]))?.toFixed(1) ?? '-'}`).join(' | '));
    if (mode === 'send') console.log(`  first packet, each run: ${r.map((x) => x.first.toFixed(1)).join(' ')}`);
  }
}
rmSync(dir, { recursive: true, force: true });
