// `fcast send --mode on-demand --session-file` (WEBRC by default, with fcast's default parameters) to `fcast
// receive` over loopback multicast (127.0.0.1, TTL 0): the session description carries the T + 1 channels and the WEBRC parameters, the receiver joins
// the base and then wave groups as its controller says, and the file arrives byte for byte. No
// snooping on lo (every joined group arrives), so this checks the plumbing, not the rates (those
// are test/netns/webrc.test.ts). Forged datagrams whose CN does not match the group they came in
// on are counted and dropped (SPEC-NOTES §7 row 20). A receiver given the bare base GROUP:PORT
// says that it hears the base channel only and how to get the layers. An SSM session's receiver
// joins (source, group) from the description alone.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, fcast } from '../cli/cli-helpers.js';
import { groupUsers, waitForGroupUsers, waitUntil } from '../helpers/wait.js';

const work = mkdtempSync(join(tmpdir(), 'fcast-webrc-lo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function sendForged(group: string, port: number, cci: number[], count: number, from = '127.0.0.1'): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, from, r));
  s.setMulticastInterface('127.0.0.1');
  s.setMulticastTTL(0);
  // LCT version 1, C = 0, S = 1 (32-bit TSI), HDR_LEN 4 words, then the CCI and a TSI.
  const bytes = Buffer.from([0x10, 0x80, 0x04, 0x00, ...cci, 0, 0, 0, 77, 0, 0, 0, 1]);
  for (let i = 0; i < count; i++) await new Promise<void>((r) => s.send(bytes, port, group, () => r()));
  s.close();
}

describe('WEBRC over loopback', () => {
  beforeAll(async () => {
    await ensureBuilt();
  }, 180_000);

  it('send --mode on-demand (webrc by default) -> receive: layers joined, file intact, CN mismatches dropped', async () => {
    const src = join(work, 'src');
    mkdirSync(src, { recursive: true });
    // Large enough that the receive is still running when the forged datagrams come (once it has joined).
    writeFileSync(join(src, 'a.bin'), randomBytes(16_000_000));
    const session = join(work, 'session.json');
    const group = `239.255.${1 + Math.floor(Math.random() * 200)}.10`;
    const port = 20000 + Math.floor(Math.random() * 30000);
    const sender = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'send', src, '--to', `${group}:${port}`, '--iface', '127.0.0.1', '--ttl', '0',
      '--tsi', '77', '--mode', 'on-demand', '--duration', '40s', '--rate', '30M', '--code-rate', '1/3', '--session-file', session], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 300 && !existsSync(session); i++) await new Promise((r) => setTimeout(r, 50));
      const desc = JSON.parse(readFileSync(session, 'utf8')) as { channels: { cn: number; group: string }[]; rate: { control: string; params: { N: number; TSD: number; QD: number; P: number; BCR_P: number } } };
      const t = desc.channels.length - 1;
      expect(desc.rate.control).toBe('webrc');
      // FCAST_WEBRC_DEFAULTS (src/rate/params.ts).
      expect([desc.rate.params.P, desc.rate.params.TSD, desc.rate.params.QD, desc.rate.params.BCR_P]).toEqual([0.85, 1, 10, 50]);
      expect(desc.channels.find((c) => c.cn === t)?.group).toBe(group);
      const out = join(work, 'out');
      const rx = fcast(['receive', session, '-o', out, '--iface', '127.0.0.1', '--timeout', '40s', '--json'], { timeoutMs: 45_000 });
      // The bare base address instead of the description: it hears the base channel only and says so.
      const bare = fcast(['receive', `${group}:${port}`, '-o', join(work, 'bare'), '--iface', '127.0.0.1', '--timeout', '3s', '--json'], { timeoutMs: 15_000 });
      // Once the receiver has joined the base group (a fixed wait could end before a loaded machine
      // started it): datagrams on it claiming wave channel 0. It holds the base before any wave; the
      // bare receiver (out in 3 s) holds the base only, so two sockets there or one on wave 0.
      const wave0 = desc.channels.find((c) => c.cn === 0)!.group;
      await waitUntil('the receiver on the base group', () => groupUsers(group) >= 2 || groupUsers(wave0) >= 1, 20_000);
      await sendForged(group, port, [0, 0, 0, 1], 5);
      const r = await rx;
      expect(r.code, r.stderr.slice(-1000)).toBe(0);
      const summary = JSON.parse(r.stdout) as { status: string; webrc: { layers: number; maxLayers: number; joins: number; mismatched: number; received: number } };
      expect(summary.status).toBe('complete');
      expect(sha(join(out, 'src', 'a.bin'))).toBe(sha(join(src, 'a.bin')));
      expect(summary.webrc.joins).toBeGreaterThan(1);
      // Layers joined at the end, of the N waves the description gives.
      expect(summary.webrc.maxLayers).toBe(desc.rate.params.N);
      expect(summary.webrc.layers).toBeGreaterThan(0);
      expect(summary.webrc.mismatched).toBe(5);
      const b = await bare;
      expect(b.code, b.stderr).toBe(4);
      expect(b.stderr).toContain(`${group}:${port} is the base channel of a WEBRC session (T = ${t})`);
    } finally {
      sender.kill('SIGTERM');
    }
  }, 60_000);

  // Issue #5: SSM where the session says so. The description carries the sender as every
  // channel's source; the receiver, given only the description, joins (source, group) with
  // IP_ADD_SOURCE_MEMBERSHIP (IGMPv3) for the base and each wave it takes.
  it('IPv4 SSM: the receiver takes the source from the description and joins (source, group) channels', async () => {
    const src = join(work, 'ssm-src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'b.bin'), randomBytes(4_000_000));
    const session = join(work, 'ssm.json');
    const group = `232.1.${1 + Math.floor(Math.random() * 200)}.10`;
    const port = 20000 + Math.floor(Math.random() * 30000);
    const sender = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), 'send', src, '--to', `${group}:${port}`, '--iface', '127.0.0.1', '--source', '127.0.0.1',
      '--tsi', '77', '--ttl', '0', '--mode', 'on-demand', '--duration', '30s', '--rate', '20M', '--session-file', session], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 300 && !existsSync(session); i++) await new Promise((r) => setTimeout(r, 50));
      const desc = JSON.parse(readFileSync(session, 'utf8')) as { source?: string; rate: { control: string } };
      expect([desc.rate.control, desc.source]).toEqual(['webrc', '127.0.0.1']);
      const out = join(work, 'ssm-out');
      const rx = fcast(['receive', session, '-o', out, '--iface', '127.0.0.1', '--timeout', '25s', '--json'], { timeoutMs: 30_000 });
      // From another source (127.0.0.2): on the base group claiming wave channel 0. An ASM join
      // would let them in, to be counted as CN mismatches (as in the test above). Sent once the
      // receiver has joined: before it, they would be unseen whatever the join, and prove nothing.
      await waitForGroupUsers(group, 1, 20_000);
      await sendForged(group, port, [0, 0, 0, 1], 5, '127.0.0.2');
      const r = await rx;
      expect(r.code, r.stderr.slice(-1000)).toBe(0);
      const summary = JSON.parse(r.stdout) as { status: string; webrc: { layers: number; joins: number; mismatched: number } };
      expect(summary.status).toBe('complete');
      expect(sha(join(out, 'ssm-src', 'b.bin'))).toBe(sha(join(src, 'b.bin')));
      expect(summary.webrc.joins).toBeGreaterThan(1);
      expect(summary.webrc.layers).toBeGreaterThan(0);
      expect(summary.webrc.mismatched).toBe(0);
    } finally {
      sender.kill('SIGTERM');
    }
  }, 45_000);
});
