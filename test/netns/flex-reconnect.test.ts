// Flexicast receivers that outlive their control connection (task G), as real processes on a
// namespaced network: `fcast receive fcast://...` started 2 s before `fcast send --flexicast`,
// one taking the sealed flow, one with no multicast at all (no multicast route, so its join
// fails with ENODEV, and the groups dropped on its link): it takes everything by unicast. Mid-transfer the flow receiver's QUIC port is dropped both ways for 7 s
// (nftables in its namespace, UDP to/from the sender's QUIC port only, so multicast still
// arrives): past the 5 s idle timeout the connection dies, the sender drops the member and
// rotates the flow key away from it, the receiver dials with backoff until the path is back,
// re-joins with its progress and completes. A restarted sender would be a new session by design,
// hence the cut rather than a restart. Root only; bounded (< 30 s); the network is removed after.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/cli-helpers.js';
import { writeKey, type KeyFile } from '../helpers/keys.js';
import { treeDigests } from '../helpers/loop-sender.js';
import { TestNet, netnsUnavailable, waitForJoin, type NetProcess } from '../helpers/netns.js';

const skip = netnsUnavailable();
const RUN = join(ROOT, 'bin', 'run.js');
const CUT_MS = 7000;

interface Control { state: string; attempts: number; connects: number; connectedMs: number; firstConnectMs: number; lastError?: string }
interface RxJson {
  status: string;
  flexicast: { pathsUsed: string; mode: string; flowPackets: number; copyPackets: number; unicastBytes: number; flowDropped: Record<string, number>; flowDuplicates: number; control: Control; timeline: { startedAt: number } };
}
interface TxJson {
  flexicast: { controller: { rotations: number }; receivers: Array<{ key: string; completed: number; unicastBytes: number; connected: boolean }> };
}

describe.skipIf(skip !== undefined)(`flexicast control connection lost and regained${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNet | undefined;
  const work = mkdtempSync(join(tmpdir(), 'fcast-netns-flexrc-'));
  const key = (name: string): KeyFile => writeKey(work, name);

  beforeAll(async () => {
    await ensureBuilt();
    net = await TestNet.create({ receivers: 2, subnet: 58 });
  }, 180_000);

  afterAll(async () => {
    await net?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('receivers started 2 s before the sender complete; the flow receiver\'s QUIC port cut for 7 s mid-transfer: it reconnects, re-joins and completes', async () => {
    const n = net!;
    const src = join(work, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'image.bin'), randomBytes(4_000_000));
    const sender = key('sender');
    const rxKeys = [key('rx0'), key('rx1')];
    const port = 47590;
    const group = `${n.groupBase}.58`;
    const url = `fcast://${n.sender.ip}:${port}/rc?key=${sender.pub}`;
    await n.blockMulticast(1, true);
    // Receiver 1 has no multicast at all: no route for 224.0.0.0/4 (its join fails with ENODEV) and the groups' packets dropped on its link.
    await n.exec(1, ['ip', 'route', 'del', '224.0.0.0/4', 'dev', 'eth0']);
    const rx: NetProcess[] = [0, 1].map((i) => n.spawn(i, [
      process.execPath, RUN, 'receive', url, '-o', join(work, `out${i}`), '--key', rxKeys[i]!.file, ...(i === 1 ? [] : ['--iface', n.receivers[i]!.ip]), '--timeout', '27s', '--json',
    ]));
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = Date.now();
    // 4 MB at 4 Mbit/s: source symbols for ~8 s, the cycle ~12 s; the session ends once both receivers reported complete.
    const sending = n.exec('sender', [
      process.execPath, RUN, 'send', src, '--to', `${group}:4800`, '--iface', n.sender.ip, '--ttl', '1', '--rate', '4M', '--cycles', '1',
      '--flexicast', `${n.sender.ip}:${port}`, '--key', sender.file, '--allow', ...rxKeys.map((k) => `ed25519:${k.pub}`),
      '--report-interval', '250ms', '--fallback-delay', '1000ms', '--linger', '20s', '--expect-receivers', '2', '--json',
    ], { timeoutMs: 28_000, check: false });
    // The flow receiver joins the group once it holds ANNOUNCE and KEY: connected.
    await waitForJoin(n, 0, group, 8000);
    const joinedAt = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 1000));
    const nft = (cmd: string) => n.exec(0, ['nft', '-f', '-'], { input: cmd });
    const cutAt = Date.now() - t0;
    await nft(`table inet fcastrc { chain in { type filter hook input priority 0; udp sport ${port} drop; }; chain out { type filter hook output priority 0; udp dport ${port} drop; }; }`);
    await new Promise((r) => setTimeout(r, CUT_MS));
    await nft('delete table inet fcastrc');
    const repairAt = Date.now() - t0;
    const results = await Promise.all(rx.map((p) => p.exited));
    const sent = await sending;
    const doneAt = Date.now() - t0;
    for (const [i, r] of results.entries()) {
      expect(r.code, `receiver ${i}: ${r.stderr.slice(-1500)} ${r.stdout.slice(0, 2000)}`).toBe(0);
      expect(treeDigests(join(work, `out${i}`, 'src'))).toEqual(treeDigests(src));
    }
    expect(sent.code, sent.stderr.slice(-1500)).toBe(0);
    const [flow, uni] = results.map((r) => JSON.parse(r.stdout) as RxJson);
    const c = flow!.flexicast.control;
    console.log(`flexicast reconnect: receivers started 2 s early (first connect ${c.firstConnectMs} / ${uni!.flexicast.control.firstConnectMs} ms after start); receiver 0 joined at ${joinedAt} ms, QUIC cut ${cutAt}..${repairAt} ms, all done at ${doneAt} ms; receiver 0: ${c.attempts} attempts, ${c.connects} connections, connected ${c.connectedMs} ms, flow ${flow!.flexicast.flowPackets} packets, unicast ${flow!.flexicast.unicastBytes} B, copies ${flow!.flexicast.copyPackets}, dropped ${JSON.stringify(flow!.flexicast.flowDropped)}, duplicates ${flow!.flexicast.flowDuplicates}; stderr: ${results[0]!.stderr.trim().split('\n').join(' | ')}`);
    expect(c.connects).toBe(2);
    // While its reports could not reach the sender, it got the FC-msg copies beside multicast:
    // each packet twice, the second a duplicate, not a replay (1,844 duplicates, no FLEX_REPLAY).
    expect(flow!.flexicast.flowDropped.FLEX_REPLAY).toBeUndefined();
    expect(c.attempts).toBeGreaterThan(2);
    // From the receiver's own start: its start stamp plus firstConnectMs is when it connected, after
    // the sender was spawned (t0). Not 'at least 1900 ms': that reads the receiver's start from this
    // test's clock, and the receivers' own start-up (node, oclif) shifts it on a loaded machine.
    expect(flow!.flexicast.timeline.startedAt + c.firstConnectMs).toBeGreaterThanOrEqual(t0);
    expect(results[0]!.stderr).toMatch(/lost the control connection .*reconnecting/);
    expect(results[0]!.stderr).toMatch(/reconnected to /);
    // By QUIC DATA, and by FC-msg copies of the flow once the sender finds no multicast anywhere (never from a group).
    expect(uni!.flexicast.unicastBytes).toBeGreaterThan(0);
    expect(uni!.flexicast.flowPackets).toBe(uni!.flexicast.copyPackets);
    expect(results[1]!.stderr).toMatch(/cannot join the flow's multicast groups \(.*ENODEV\): taking everything by unicast/);
    expect(uni!.flexicast.control.connects).toBe(1);
    // The sender took the re-joined receiver as the same one: one entry per key, both complete.
    const tx = JSON.parse(sent.stdout) as TxJson;
    expect(tx.flexicast.receivers.map((r) => r.key).sort()).toEqual(rxKeys.map((k) => k.pub).sort());
    for (const r of tx.flexicast.receivers) expect(r.completed).toBeGreaterThan(0);
  }, 30_000);
});
