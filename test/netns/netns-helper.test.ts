// Self-test of the shared test network (test/helpers/netns.ts): every property other netns tests
// rely on, measured on real packets. Bounded: each traffic phase is a few seconds at most.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TestNet, UDP_PROBE, netnsUnavailable, waitForOutput, type Host } from '../helpers/netns.js';

const skip = netnsUnavailable();

interface RecvReport {
  packets: number;
  bytes: number;
  firstMs: number | null;
  lastMs: number | null;
  beforeLeave: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip !== undefined)(`test network helper${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNet;

  beforeAll(async () => {
    net = await TestNet.create({ receivers: 2, snooping: true });
  });
  afterAll(async () => {
    const names = net === undefined ? [] : [net.sender.ns, net.bridge.ns, ...net.receivers.map((r) => r.ns)];
    await net?.destroy();
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of names) expect(left).not.toContain(n);
  });

  /** Start a receiving probe on host h, run the sender probe, return what the receiver counted. */
  async function transfer(h: Host, recvArgs: string[], sendArgs: string[], sendIface = net.sender.ip): Promise<RecvReport> {
    const rx = net.spawn(h, [process.execPath, UDP_PROBE, 'recv', ...recvArgs]);
    await waitForOutput(rx, /ready/);
    await net.exec('sender', [process.execPath, UDP_PROBE, 'send', '--iface-addr', sendIface, ...sendArgs], { timeoutMs: 8000 });
    await sleep(150); // the last datagrams are in flight or queued in tbf
    const res = await rx.stop();
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as RecvReport;
  }

  it('is isolated: no default route, and the host namespace has no route into it', async () => {
    for (const h of ['sender', 'bridge', 0, 1] as const) {
      const r = await net.exec(h, ['ip', 'route', 'show', 'default']);
      expect(r.stdout.trim()).toBe('');
    }
    expect(execFileSync('ip', ['route', 'show', 'to', 'match', net.sender.ip], { encoding: 'utf8' })).not.toContain('10.77.');
  });

  it('carries unicast from the sender to a receiver', async () => {
    const r = await transfer(0, ['--port', '47001', '--ms', '8000'], ['--to', `${net.receivers[0]!.ip}:47001`, '--count', '20', '--pps', '100']);
    expect(r.packets).toBe(20);
  });

  it('delivers a group to the receiver that joined it and not to the one that did not (snooping)', async () => {
    const group = `${net.groupBase}.2`;
    const other = net.spawn(1, [process.execPath, UDP_PROBE, 'recv', '--port', '47002', '--ms', '5000']);
    await waitForOutput(other, /ready/);
    const rx = net.spawn(0, [process.execPath, UDP_PROBE, 'recv', '--port', '47002', '--group', group,
      '--iface-addr', net.receivers[0]!.ip, '--ms', '5000']);
    await waitForOutput(rx, /ready/);
    const rx1Before = await net.rxStats(1);
    await net.exec('sender', [process.execPath, UDP_PROBE, 'send', '--iface-addr', net.sender.ip,
      '--to', `${group}:47002`, '--count', '50', '--pps', '100']);
    await sleep(100);
    expect(await net.joinedGroups(0)).toContain(group);
    const r = JSON.parse((await rx.stop()).stdout) as RecvReport;
    const rx1After = await net.rxStats(1);
    expect(r.packets).toBe(50);
    // Receiver 1 never joined: its link saw (almost) nothing of the 50 (allow IGMP/ND chatter).
    expect(rx1After.packets - rx1Before.packets).toBeLessThan(10);
    await other.stop();
  });

  it('stops a group on a port once its receiver leaves (fast leave)', async () => {
    const group = `${net.groupBase}.3`;
    const rx = net.spawn(0, [process.execPath, UDP_PROBE, 'recv', '--port', '47003', '--group', group,
      '--iface-addr', net.receivers[0]!.ip, '--leave-after', '30', '--ms', '8000']);
    await waitForOutput(rx, /ready/);
    const tx = net.spawn('sender', [process.execPath, UDP_PROBE, 'send', '--iface-addr', net.sender.ip,
      '--to', `${group}:47003`, '--count', '500', '--pps', '100']);
    await waitForOutput(rx, /left/, 8000);
    await sleep(300);
    const a = await net.rxStats(0);
    await sleep(1000);
    const b = await net.rxStats(0);
    const stillSending = tx.child.exitCode === null;
    await tx.stop();
    const r = JSON.parse((await rx.stop()).stdout) as RecvReport;
    expect(r.beforeLeave).toBe(30);
    expect(stillSending).toBe(true); // ~100 datagrams went to the group during that second
    expect(await net.joinedGroups(0)).not.toContain(group);
    expect(b.packets - a.packets).toBeLessThan(10);
  });

  it.skipIf(!existsSync('/proc/sys/net/ipv6'))('carries IPv6 multicast to a joined receiver', async () => {
    const group = 'ff15::77:6';
    const r = await transfer(0, ['--family', '6', '--port', '47008', '--group', group, '--iface-addr', '::%eth0', '--ms', '8000'],
      ['--to', `[${group}]:47008`, '--count', '20', '--pps', '100'], '::%eth0');
    expect(r.packets).toBe(20);
  });

  it('drops about the set fraction of packets (nftables random loss)', async () => {
    await net.setLoss(0, 30);
    const r = await transfer(0, ['--port', '47004', '--ms', '8000'], ['--to', `${net.receivers[0]!.ip}:47004`, '--count', '2000', '--size', '200', '--pps', '1000']);
    const dropped = await net.droppedPackets(0);
    await net.setLoss(0, 0);
    // The rule's own counter: Binomial(2000, 0.3), mean 600, sd 20.5; ±5 sd (plus a few ARP/IGMP).
    expect(dropped).toBeGreaterThan(500);
    expect(dropped).toBeLessThan(710);
    // What the receiver got is what the rule let through (a loaded machine may drop a few more).
    expect(r.packets).toBeLessThanOrEqual(2000 - dropped + 10);
    expect(r.packets).toBeGreaterThan(2000 - dropped - 50);
    const after = await transfer(0, ['--port', '47004', '--ms', '8000'], ['--to', `${net.receivers[0]!.ip}:47004`, '--count', '50', '--pps', '200']);
    expect(after.packets).toBe(50);
  });

  it('blocks multicast only, or the whole link, and restores it', async () => {
    const group = `${net.groupBase}.5`;
    const ip0 = net.receivers[0]!.ip;
    const mc = ['--port', '47005', '--group', group, '--iface-addr', ip0, '--ms', '8000'];
    const mcSend = ['--to', `${group}:47005`, '--count', '30', '--pps', '100'];
    const uni = ['--port', '47006', '--ms', '8000'];
    const uniSend = ['--to', `${ip0}:47006`, '--count', '30', '--pps', '100'];
    await net.blockMulticast(0, true);
    expect((await transfer(0, mc, mcSend)).packets).toBe(0);
    expect((await transfer(0, uni, uniSend)).packets).toBe(30);
    await net.blockMulticast(0, false);
    await net.blockAll(0, true);
    expect((await transfer(0, uni, uniSend)).packets).toBe(0);
    await net.blockAll(0, false);
    expect((await transfer(0, mc, mcSend)).packets).toBe(30);
  });

  it('limits a UDP flood to the tbf rate', async () => {
    await net.setRate(0, 10);
    const r = await transfer(0, ['--port', '47007', '--ms', '8000'],
      ['--to', `${net.receivers[0]!.ip}:47007`, '--count', '1000000', '--size', '1200', '--max-ms', '1200']);
    await net.setRate(0, undefined);
    expect(r.firstMs).not.toBeNull();
    const seconds = ((r.lastMs ?? 0) - (r.firstMs ?? 0)) / 1000;
    const mbit = (r.bytes * 8) / seconds / 1e6;
    expect(seconds).toBeGreaterThan(0.6);
    expect(mbit).toBeGreaterThan(7);
    expect(mbit).toBeLessThan(11.5);
  });
});
