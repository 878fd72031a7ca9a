// The product end to end on a real (namespaced) network: `fcast send` in one namespace, three
// `fcast receive` in others, on a Linux bridge; one receiver drops 10% of its packets at
// ingress (nftables `numgen random mod 10000 < 1000 drop`). Everyone must finish with every file
// byte for byte; the lossy receiver has no feedback channel at all (FEC and the carousel only).
// Root only (skipped with the reason otherwise); bounded; the network is torn down even on failure.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/cli-helpers.js';
import { treeDigests } from '../helpers/loop-sender.js';
import { TestNet, netnsUnavailable, waitForJoin, type NetProcess } from '../helpers/netns.js';

const skip = netnsUnavailable();
const RUN = join(ROOT, 'bin', 'run.js');

describe.skipIf(skip !== undefined)(`fcast send/receive across network namespaces${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNet | undefined;
  const work = mkdtempSync(join(tmpdir(), 'fcast-netns-e2e-'));

  beforeAll(async () => {
    await ensureBuilt();
    net = await TestNet.create({ receivers: 3, subnet: 41 });
  }, 180_000);

  afterAll(async () => {
    await net?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('3 receivers, 10% random loss on one, no feedback: all complete, byte for byte', async () => {
    const n = net!;
    const src = join(work, 'tree');
    mkdirSync(join(src, 'pkgs/sub'), { recursive: true });
    writeFileSync(join(src, 'pkgs/image.bin'), randomBytes(24_000_000));
    writeFileSync(join(src, 'pkgs/sub/small.txt'), randomBytes(3000));
    writeFileSync(join(src, 'pkgs/empty'), '');
    const group = `${n.groupBase}.9`;
    await n.setLoss(2, 10);
    const outs = n.receivers.map((r) => join(work, `out${r.index}`));
    const rx: NetProcess[] = n.receivers.map((r) =>
      n.spawn(r.index, [process.execPath, RUN, 'receive', `${group}:4700`, '-o', outs[r.index]!, '--iface', r.ip, '--timeout', '100s', '--json']),
    );
    // Receivers join before the first packet: waited for on each link (node and oclif start in
    // about a second, longer on a loaded machine; no feedback here, so a late joiner's loss counts).
    for (const r of n.receivers) await waitForJoin(n, r.index, group, 20_000);
    const sent = await n.exec('sender', [process.execPath, RUN, 'send', join(src, 'pkgs'), '--to', `${group}:4700`, '--iface', n.sender.ip, '--ttl', '1', '--rate', '150M', '--cycles', '3', '--json'], { timeoutMs: 110_000 });
    expect(sent.code, sent.stderr).toBe(0);
    const results = await Promise.all(rx.map((p) => p.exited));
    const want = treeDigests(src);
    for (const [i, r] of results.entries()) {
      expect(r.code, `receiver ${i}: ${r.stderr.slice(-1000)}`).toBe(0);
      const summary = JSON.parse(r.stdout) as { status: string; missing: unknown[]; packets: number };
      expect(summary.status).toBe('complete');
      expect(summary.missing).toEqual([]);
      expect(treeDigests(outs[i]!)).toEqual(want);
    }
    // The loss rule really dropped packets on receiver 2 (about 10% of what reached it). In
    // bytes: the rule drops the sender's UDP GSO buffers whole, one counted packet each.
    const dropped = await n.droppedBytes(2);
    const got = (JSON.parse(results[2]!.stdout) as { bytes: number }).bytes;
    expect(dropped).toBeGreaterThan(0.05 * (dropped + got));
  }, 200_000);
});
