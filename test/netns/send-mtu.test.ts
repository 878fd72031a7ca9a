// `fcast send` and the outgoing interface's MTU (issue 4), in a network namespace of our own whose
// loopback has a 1400-byte MTU: an explicit --symbol-size whose packets would not fit is a usage
// error (exit 2) naming the interface and the largest size that fits; the default is lowered to
// fit; --allow-fragments overrides. Root only; no traffic leaves the namespace; torn down always.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ROOT, ensureBuilt } from '../cli/cli-helpers.js';
import { netnsUnavailable } from '../helpers/netns.js';

const skip = netnsUnavailable();
const NS = `fcast-mtu-${process.pid}`;
const MTU = 1400;

function send(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync('ip', ['netns', 'exec', NS, process.execPath, join(ROOT, 'bin', 'run.js'), 'send', ...args], {
      encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, stdout: x.stdout, stderr: x.stderr };
  }
}

describe.skipIf(skip !== undefined)(`fcast send vs the interface MTU${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'fcast-mtu-'));
  const file = join(work, 'small.bin');
  const common = ['--to', '239.255.77.1:40777', '--iface', '127.0.0.1', '--ttl', '0', '--cycles', '1', '--rate', '20M', '--json'];

  beforeAll(async () => {
    await ensureBuilt();
    writeFileSync(file, Buffer.alloc(20_000, 7));
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'mtu', String(MTU), 'up']);
  }, 120_000);

  afterAll(() => {
    execFileSync('ip', ['netns', 'del', NS]);
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses --symbol-size 1400 (1468-byte packets on a 1400-byte MTU) with exit 2 and says what fits', () => {
    const r = send([file, ...common, '--symbol-size', '1400']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr + r.stdout).toMatch(/MTU of lo \(MTU 1400\).*--symbol-size 1332 or less, or --allow-fragments/);
  });

  it('lowers the default symbol size to fit, and reports the path MTU in --json', () => {
    const r = send([file, ...common]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { symbolSize: number; pathMtu: { iface: string; mtu: number; largestSymbol: number } };
    expect(out.pathMtu).toEqual({ iface: 'lo', mtu: MTU, largestSymbol: 1332 });
    expect(out.symbolSize).toBe(1332);
  });

  it('--allow-fragments sends the larger symbols anyway', () => {
    const r = send([file, ...common, '--symbol-size', '1400', '--allow-fragments']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { symbolSize: number; sendPath: string };
    expect(out.symbolSize).toBe(1400);
    // The report names the send path; fragments went out singly (a GSO run above the MTU is refused by the kernel).
    expect(['sendmmsg+GSO', 'sendmmsg', 'dgram']).toContain(out.sendPath);
  });
});
