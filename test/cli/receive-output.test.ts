// What `fcast receive` prints (issue 4): the --json summary names the receive path (recvmmsg or
// node:dgram, as `fcast doctor` does), and progress is drawn by listr2 only on a terminal that
// can show it: on a pty with a width, one progress block redrawn in place (not every update kept
// and redrawn below the last); on a pty of 0 columns, or with stdout redirected, plain lines.
// Loopback only (127.0.0.1, TTL 0); the terminal is a pty from util-linux `script`.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recvPath } from '../../src/net/mcast-recv.js';
import { waitForGroupUsers } from '../helpers/wait.js';
import { ROOT, ensureBuilt } from './cli-helpers.js';

const RUN = join(ROOT, 'bin', 'run.js');
const work = mkdtempSync(join(tmpdir(), 'fcast-rx-out-'));
const hasScript = ((): boolean => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function group(): string {
  return `239.255.${100 + randomInt(100)}.${1 + randomInt(250)}:${20_000 + randomInt(30_000)}`;
}

/** Run a shell command line under a pty (`script`); resolves with what the terminal got. */
function onPty(command: string, log: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('script', ['-qec', command, log], { timeout: 30_000 }, (err) => {
      // Exit 4 (the receive's --timeout) is expected here.
      if (err !== null && (err as { code?: unknown }).code !== 4) reject(err);
      else resolve(readFileSync(log, 'utf8'));
    });
  });
}

beforeAll(async () => {
  await ensureBuilt();
  writeFileSync(join(work, 'a.txt'), 'hello\n');
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('fcast receive output', () => {
  it('--json names the receive path, and the plain summary line ends with it', async () => {
    const to = group();
    const rx = spawn(process.execPath, [RUN, 'receive', to, '-o', join(work, 'out-json'), '--iface', '127.0.0.1', '--timeout', '20s', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    rx.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => rx.on('exit', r));
    // The whole send takes a few milliseconds: it must come after the receiver's join, not after a
    // guess at how long a loaded machine takes to start it.
    await waitForGroupUsers(to.split(':')[0]!, 1, 15_000);
    execFileSync(process.execPath, [RUN, 'send', join(work, 'a.txt'), '--to', to, '--iface', '127.0.0.1', '--ttl', '0', '--cycles', '3', '--rate', '10M'], { stdio: 'ignore', timeout: 20_000 });
    expect(await exited).toBe(0);
    const summary = JSON.parse(stdout) as { status: string; recvPath: string };
    expect(summary.status).toBe('complete');
    // The same rule as the receive loop: IPv4 joined on an address uses the addon when it loads.
    expect(summary.recvPath).toBe(recvPath());

  }, 40_000);

  it('--iface by interface name for an IPv4 group joins on its address (it failed with addMembership EINVAL)', async () => {
    const to = group();
    const rx = spawn(process.execPath, [RUN, 'receive', to, '-o', join(work, 'out-name'), '--iface', 'lo', '--timeout', '20s', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    rx.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => rx.on('exit', r));
    await waitForGroupUsers(to.split(':')[0]!, 1, 15_000);
    execFileSync(process.execPath, [RUN, 'send', join(work, 'a.txt'), '--to', to, '--iface', 'lo', '--ttl', '0', '--cycles', '3', '--rate', '10M'], { stdio: 'ignore', timeout: 20_000 });
    expect(await exited, stdout).toBe(0);
    expect((JSON.parse(stdout) as { status: string; recvPath: string }).recvPath).toBe(recvPath());
    const bad = runQuiet([RUN, 'receive', to, '-o', join(work, 'out-bad'), '--iface', 'no-such-if0', '--timeout', '1s']);
    expect(bad.code).toBe(2);
  }, 40_000);

  it('without a sender, plain lines end with the receive path after --timeout (exit 4)', () => {
    const r = runQuiet([RUN, 'receive', group(), '-o', join(work, 'out-plain'), '--iface', '127.0.0.1', '--timeout', '1s']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(new RegExp(`^timeout: 0 files verified, 0 packets, 0\\.0 MB in [0-9.]+ s via ${recvPath()}$`, 'm'));
  });
});

describe.skipIf(!hasScript)(`fcast receive progress on a terminal${hasScript ? '' : ' (skipped: no util-linux script)'}`, () => {
  const receive = (dir: string, cols: number, redirect = ''): string =>
    `stty cols ${cols} rows 40; '${process.execPath}' '${RUN}' receive ${group()} -o '${join(work, dir)}' --iface 127.0.0.1 --timeout 2s${redirect}`;

  it('redraws one progress block in place (each frame holds one progress line, not all of them so far)', async () => {
    const tty = await onPty(receive('out-tty', 100), join(work, 'tty.log'));
    // listr2 (log-update) erases the last frame and returns to column 1 (ESC [G) before each redraw.
    const frames = tty.split('\x1b[G').slice(1);
    expect(frames.filter((f) => f.includes('objects verified')).length).toBeGreaterThan(3);
    const most = Math.max(...frames.map((f) => f.split('objects verified').length - 1));
    expect(most).toBe(1);
    expect(tty).toContain('Receive timeout in');
  }, 40_000);

  it('prints plain lines on a pty without columns and when stdout is redirected', async () => {
    const narrow = await onPty(receive('out-narrow', 0), join(work, 'narrow.log'));
    expect(narrow).not.toContain('Receiving into');
    expect(narrow).toMatch(/timeout: 0 files verified/);
    const file = join(work, 'redirected.txt');
    await onPty(receive('out-redir', 100, ` > '${file}'`), join(work, 'redir.log'));
    const out = readFileSync(file, 'utf8');
    expect(out).not.toContain('Receiving into');
    expect(out).not.toContain('\x1b[');
    expect(out).toMatch(/^timeout: 0 files verified/m);
  }, 40_000);
});

function runQuiet(args: string[]): { code: number | null; stdout: string } {
  try {
    return { code: 0, stdout: execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }) };
  } catch (e) {
    const x = e as { status: number | null; stdout: string };
    return { code: x.status, stdout: x.stdout };
  }
}
