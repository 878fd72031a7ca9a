// `fcast send` without --iface checks the symbol size against the MTU of the interface the kernel
// routes the group through (src/cli/path-mtu.ts). With several ff00::/8 routes the first one read
// from /proc was taken, whatever its metric or table. Here, in a namespace of our own with two
// veth pairs of different MTUs (a0 1400, a1 1300; packets stay inside it), the interface in
// `--json`'s pathMtu must be the one `ip route get` names in each case: equal metrics, a lower
// metric on a1, and a longer prefix on a0 in the main table, which loses to the local table's
// ff00::/8 routes (policy rule 0 before rule 32766); and for IPv4 a policy rule that sends the
// group through another table, which fcast doctor's route check must follow too. Root only; torn
// down always.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeGetInterface, routeInterface6 } from '../../src/cli/path-mtu.js';
import { ROOT, ensureBuilt } from '../cli/cli-helpers.js';
import { netnsUnavailable } from '../helpers/netns.js';

const skip = netnsUnavailable();
const NS = `fcast-rmtu-${process.pid}`;
const GROUP = 'ff15::4d7';
const MTU: Record<string, number> = { a0: 1400, a1: 1300 };

function ip(...args: string[]): string {
  return execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8', timeout: 10_000 });
}

/** `fcast ARGS --json` inside the namespace. */
function fcastJson<T>(args: string[]): T {
  const out = execFileSync('ip', ['netns', 'exec', NS, process.execPath, join(ROOT, 'bin', 'run.js'), ...args, '--json'], {
    encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' },
  });
  return JSON.parse(out) as T;
}

/** The interface and MTU `fcast send --json` reported, without --iface. */
function sendPathMtu(file: string, to = `[${GROUP}]:40778`): { iface: string; mtu: number } {
  const r = fcastJson<{ pathMtu: { iface: string; mtu: number } }>(['send', file, '--to', to, '--ttl', '0', '--cycles', '1', '--rate', '20M']);
  return { iface: r.pathMtu.iface, mtu: r.pathMtu.mtu };
}

describe.skipIf(skip !== undefined)(`send and doctor: the kernel's route to a group${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'fcast-rmtu-'));
  const file = join(work, 'small.bin');

  beforeAll(async () => {
    await ensureBuilt();
    writeFileSync(file, Buffer.alloc(5_000, 3));
    execFileSync('ip', ['netns', 'add', NS]);
    // No duplicate address detection: the link-local source is usable at once.
    execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
    ip('link', 'set', 'lo', 'up');
    for (const [a, b] of [['a0', 'p0'], ['a1', 'p1']] as const) {
      ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
      ip('link', 'set', a, 'mtu', String(MTU[a]), 'up');
      ip('link', 'set', b, 'mtu', '9000', 'up');
    }
    // The peers' own ff00::/8 routes would compete too: only a0 and a1 carry multicast.
    for (const b of ['p0', 'p1']) ip('-6', 'route', 'del', 'multicast', 'ff00::/8', 'dev', b, 'table', 'local');
  }, 120_000);

  afterAll(() => {
    execFileSync('ip', ['netns', 'del', NS]);
    rmSync(work, { recursive: true, force: true });
  });

  const kernel = (): string => routeGetInterface(ip('-o', '-6', 'route', 'get', GROUP))!;

  it('equal metrics: the route the kernel takes (the first)', () => {
    expect(sendPathMtu(file)).toEqual({ iface: kernel(), mtu: MTU[kernel()] });
  });

  it('a lower metric on a1 wins', () => {
    ip('-6', 'route', 'add', 'multicast', 'ff00::/8', 'dev', 'a1', 'table', 'local', 'metric', '100');
    expect(kernel()).toBe('a1');
    expect(routeInterface6(GROUP, execFileSync('ip', ['netns', 'exec', NS, 'cat', '/proc/net/ipv6_route'], { encoding: 'utf8' }))).toBe('a1');
    expect(sendPathMtu(file)).toEqual({ iface: 'a1', mtu: 1300 });
  });

  it('IPv4: a policy rule sends the group through another table; send and doctor follow the kernel, not /proc/net/route', () => {
    const g4 = '239.255.4.7';
    ip('addr', 'add', '10.88.0.1/24', 'dev', 'a0');
    ip('addr', 'add', '10.88.1.1/24', 'dev', 'a1');
    ip('route', 'add', '224.0.0.0/4', 'dev', 'a0');
    const kernel4 = (): string => routeGetInterface(ip('-o', '-4', 'route', 'get', g4))!;
    expect(kernel4()).toBe('a0');
    ip('rule', 'add', 'to', '239.255.0.0/16', 'lookup', '100', 'pref', '100');
    ip('route', 'add', '224.0.0.0/4', 'dev', 'a1', 'table', '100');
    expect(kernel4()).toBe('a1');
    expect(sendPathMtu(file, `${g4}:40779`)).toEqual({ iface: 'a1', mtu: 1300 });
    const doctor = fcastJson<{ checks: { check: string; ok: boolean; detail: string; data: { iface: string } }[] }>(['doctor']);
    const route = doctor.checks.find((c) => c.check === 'multicast-route')!;
    expect(route.data.iface).toBe('a1');
    expect(route.detail).toBe('groups without --iface go through a1 (a route outside the main table)');
  });

  it('a longer prefix in the main table loses to the local table, as in the kernel (which /proc cannot tell)', () => {
    ip('-6', 'route', 'add', 'ff15::/16', 'dev', 'a0', 'table', 'main');
    expect(kernel()).toBe('a1');
    expect(routeInterface6(GROUP, execFileSync('ip', ['netns', 'exec', NS, 'cat', '/proc/net/ipv6_route'], { encoding: 'utf8' }))).toBe('a0');
    expect(sendPathMtu(file)).toEqual({ iface: 'a1', mtu: 1300 });
  });
});
