// Flexicast end to end on a namespaced network (issue 6): `fcast send --flexicast` and `fcast
// receive fcast://...` as real processes, real QUIC, a sealed multicast flow, nftables drops of
// multicast on a receiver's link (test/helpers/netns.ts blockMulticast).
//  1. Three admitted receivers, one with multicast blocked: all complete, the blocked one by
//     unicast, with unicast bytes ≈ the file size (not N×). Security in the same run: a key not on
//     the allow-list is refused at the QUIC layer; an anonymous plain receiver of the sealed group
//     verifies nothing; an attacker's replays and forgeries are dropped and counted; a member that
//     leaves early makes the sender rotate the flow key, and the others still complete.
//  2. Flapping (the issue's figures): multicast to a receiver is cut for 10 s every 20 s, twice
//     (FC-msg off, which would otherwise copy the flow to a session's only, cut receiver); the
//     receiver joins mid-session, so it starts on unicast and moves to multicast once confirmed; it falls back within D_fb + one report interval (plus scheduling slack) of each cut,
//     returns after each repair, and completes. Latencies per cut and the receiver's packets per
//     second by path (seed Figure 10 style) are printed.
//  3. FC-msg chosen automatically: no multicast anywhere (blocked on every link), no --fc-msg
//     flag; the sender finds that no receiver gets multicast and copies the sealed flow to all
//     8 receivers by unicast UDP (native sendmmsg); all complete.
// Root only (skipped with the reason otherwise); bounded; the network is torn down even on failure.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/cli-helpers.js';
import { listTree } from '../helpers/loop-sender.js';
import { TestNet, netnsUnavailable, type NetProcess } from '../helpers/netns.js';

const skip = netnsUnavailable();
const RUN = join(ROOT, 'bin', 'run.js');
const REPLAY = join(ROOT, 'test', 'helpers', 'flow-replay.mjs');
const R_MS = 250;
const DFB_MS = 1000;

interface Key { file: string; pub: string }
interface PathEvent { at: number; path: 'unicast' | 'multicast' }
interface RxJson {
  status: string;
  elapsedMs: number;
  dropped: Record<string, number>;
  missing: unknown[];
  flexicast: {
    pathsUsed: string; mode: string; flowPackets: number; copyPackets: number; unicastBytes: number; flowDropped: Record<string, number>; pathLog: PathEvent[];
    timeline: { bucketMs: number; startedAt: number; flow: number[]; copy: number[]; unicast: number[] };
  };
}
interface TxJson {
  flexicast: {
    epoch: number; refused: number; linger: string;
    controller: { fallbacks: number; returns: number; rotations: number };
    receivers: Array<{ key: string; unicastBytes: number; pathLog: Array<PathEvent & { reason: string }> }>;
    fcMsg?: { mode: string; copying: boolean; registered: number; copies: number; path: string; log: Array<{ at: number; on: boolean; reason: string }> };
  };
}

/** Wait until every receiver in `who` has joined `group` on its eth0; returns the Unix ms when all had. */
async function waitJoined(n: TestNet, who: readonly number[], group: string, limitMs: number): Promise<number> {
  const end = Date.now() + limitMs;
  const pending = new Set(who);
  while (pending.size > 0) {
    if (Date.now() > end) throw new Error(`receivers ${[...pending].join(', ')} did not join ${group} within ${limitMs} ms`);
    for (const i of [...pending]) {
      const r = await n.exec(i, ['ip', 'maddr', 'show', 'dev', 'eth0'], { timeoutMs: 5000 });
      if (r.stdout.includes(` ${group}`)) pending.delete(i);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now();
}

/**
 * The receiver's packets per second by path with the cuts marked (seed Figure 10 style): one row
 * per second, `#` per 100 flow packets, `u` per 100 unicast ones.
 */
function figure10(t: RxJson['flexicast']['timeline'], cuts: ReadonlyArray<{ cut: number; repair: number }>): string {
  const per = Math.max(1, Math.round(1000 / t.bucketMs));
  const rows: string[] = ['flexicast flapping, receiver 0 packets per second (flow | unicast), * = multicast cut:'];
  for (let b = 0; b < t.flow.length; b += per) {
    const sum = (a: number[]) => a.slice(b, b + per).reduce((x, y) => x + y, 0);
    const at = t.startedAt + b * t.bucketMs;
    const cut = cuts.some((c) => at + 500 >= c.cut && at + 500 < c.repair) ? '*' : ' ';
    const [flow, uni] = [sum(t.flow) + sum(t.copy), sum(t.unicast)];
    rows.push(`${String(Math.round((b * t.bucketMs) / 1000)).padStart(3)} s ${cut} ${String(flow).padStart(5)} ${String(uni).padStart(5)}  ${'#'.repeat(Math.round(flow / 100))}${'u'.repeat(Math.round(uni / 100))}`);
  }
  return rows.join('\n');
}

/** Wait until the sender's QUIC port is bound (the flexicast sender runs; its carousel starts next). */
async function waitListening(n: TestNet, port: number, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  for (;;) {
    const r = await n.exec('sender', ['ss', '-Hlun', 'sport', `= :${port}`], { timeoutMs: 5000 });
    if (r.stdout.trim() !== '') return;
    if (Date.now() > end) throw new Error(`nothing listens on UDP ${port} within ${limitMs} ms`);
    await new Promise((r2) => setTimeout(r2, 100));
  }
}

function digests(root: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of listTree(root)) m.set(relative(root, f), createHash('sha256').update(readFileSync(f)).digest('hex'));
  return m;
}

describe.skipIf(skip !== undefined)(`flexicast across network namespaces${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNet | undefined;
  const work = mkdtempSync(join(tmpdir(), 'fcast-netns-flex-'));
  const key = (name: string): Key => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const file = join(work, `${name}.key`);
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    return { file, pub: (publicKey.export({ format: 'jwk' }) as { x: string }).x };
  };
  const tree = (name: string, bytes: number): string => {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'image.bin'), randomBytes(bytes));
    writeFileSync(join(dir, 'notes.txt'), randomBytes(2000));
    return dir;
  };
  const sender = key('sender');
  const url = (port: number) => `fcast://${net!.sender.ip}:${port}/flex?key=${sender.pub}`;
  const receive = (i: number, port: number, k: Key, out: string, timeout = '90s'): NetProcess =>
    net!.spawn(i, [process.execPath, RUN, 'receive', url(port), '-o', out, '--key', k.file, '--iface', net!.receivers[i]!.ip, '--timeout', timeout, '--json']);
  const send = (src: string, group: string, port: number, allow: Key[], extra: string[]) =>
    net!.exec('sender', [
      process.execPath, RUN, 'send', src, '--to', `${group}:4800`, '--iface', net!.sender.ip, '--ttl', '1',
      '--flexicast', `${net!.sender.ip}:${port}`, '--key', sender.file, '--allow', ...allow.map((a) => `ed25519:${a.pub}`),
      '--report-interval', `${R_MS}ms`, '--fallback-delay', `${DFB_MS}ms`, '--linger', '60s', '--json', ...extra,
    ], { timeoutMs: 120_000 });

  beforeAll(async () => {
    await ensureBuilt();
    net = await TestNet.create({ receivers: 8, subnet: 46 });
  }, 180_000);

  afterAll(async () => {
    await net?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('3 receivers, multicast blocked on one: all complete, the blocked one by unicast ≈ file size; refused key, anonymous receiver, replays and forgeries dropped and counted, rotation on leave', async () => {
    const n = net!;
    const src = tree('t1', 12_000_000);
    const group = `${n.groupBase}.21`;
    const port = 47481;
    const keys = [key('r0'), key('r1'), key('r2'), key('r5')];
    const stranger = key('stranger');
    const doc = key('doctor');
    await n.blockMulticast(2, true);
    const outs = [0, 1, 2, 3, 4, 5].map((i) => join(work, `t1-out${i}`));
    const rx = [0, 1, 2].map((i) => receive(i, port, keys[i]!, outs[i]!));
    const refused = receive(3, port, stranger, outs[3]!);
    const anonymous = n.spawn(4, [process.execPath, RUN, 'receive', `${group}:4800`, '-o', outs[4]!, '--iface', n.receivers[4]!.ip, '--timeout', '15s', '--json']);
    // The attacker captures epoch 1 on: the packets sealed after the early leaver's rotation, under
    // the key receivers 0 and 1 hold while under attack, so every run tests the tag and replay checks
    // (a capture of epoch 0 could be retired before the attack and dropped as stale instead).
    const attacker = n.spawn(6, [process.execPath, REPLAY, group, '4800', n.receivers[6]!.ip, '50', '2', '50', '60000', '1']);
    await new Promise((r) => setTimeout(r, 2000));
    // No FC-msg: once receivers 0 and 1 are done and gone, 'auto' would rightly copy the flow to
    // the blocked receiver 2, and this test measures its QUIC fallback.
    const sending = send(join(src), group, port, [...keys, doc], ['--rate', '40M', '--cycles', '2', '--no-fc-msg']);
    // Short, so that its leave rotates the key early, while receivers 0 and 1 are still receiving;
    // started once the sender listens, since --timeout also bounds the wait for the sender.
    await waitListening(n, port, 60_000);
    const leaver = receive(5, port, keys[3]!, outs[5]!, '400ms');
    // The attack starts once receivers 0 and 1 are on the group (they join after their KEY):
    // started on a timer after the capture instead, it often came before they listened.
    const joinedAt = await waitJoined(n, [0, 1], group, 60_000);
    attacker.child.stdin!.end('go\n');
    const att = await attacker.exited;
    // fcast doctor with an admitted key, given only the fcast:// URL: QUIC, then the flow channels
    // from ANNOUNCE, where sealed flow packets must arrive. It starts after the attack because its
    // leave rotates the key too.
    const doctor = n.spawn(7, [process.execPath, RUN, 'doctor', url(port), '--key', doc.file, '--iface', n.receivers[7]!.ip, '--wait', '2', '--json']);
    const sent = await sending;
    expect(sent.code, sent.stderr).toBe(0);
    const tx = JSON.parse(sent.stdout) as TxJson;
    const results = await Promise.all(rx.map((p) => p.exited));
    const want = digests(src);
    const rj = results.map((r, i) => {
      expect(r.code, `receiver ${i}: ${r.stderr.slice(-1500)}`).toBe(0);
      return JSON.parse(r.stdout) as RxJson;
    });
    for (const [i, j] of rj.entries()) {
      expect(j.status).toBe('complete');
      expect(digests(join(outs[i]!, 't1'))).toEqual(want);
    }
    expect(rj[0]!.flexicast.pathsUsed).not.toBe('unicast');
    expect(rj[2]!.flexicast.pathsUsed).toBe('unicast');
    expect(rj[2]!.flexicast.flowPackets).toBe(0);
    const fileBytes = 12_002_000;
    const blocked = tx.flexicast.receivers.find((r) => r.key === keys[2]!.pub)!;
    const open = tx.flexicast.receivers.find((r) => r.key === keys[0]!.pub)!;
    console.log(`flexicast netns: blocked receiver got ${(blocked.unicastBytes / 1e6).toFixed(2)} MB by unicast for ${(fileBytes / 1e6).toFixed(2)} MB of files (${(blocked.unicastBytes / fileBytes).toFixed(3)}x); a multicast receiver got ${(open.unicastBytes / 1e6).toFixed(3)} MB`);
    expect(blocked.unicastBytes).toBeGreaterThan(0.95 * fileBytes);
    expect(blocked.unicastBytes).toBeLessThan(1.3 * fileBytes);
    expect(open.unicastBytes).toBeLessThan(0.2 * fileBytes);
    // Speed (issue 6's bench target: the blocked receiver within 1.3x of a multicast receiver's
    // time) is printed as a measured figure, not asserted: a timed assertion on a shared CI box
    // measures the neighbours, not fcast.
    const times = rj.map((j) => j.elapsedMs);
    console.log(`flexicast netns: receive times ${times.map((t) => `${(t / 1000).toFixed(2)} s`).join(', ')} (receiver 2 blocked: ${(times[2]! / Math.max(times[0]!, times[1]!)).toFixed(2)}x)`);

    // Not admitted: refused right after the handshake, never an ANNOUNCE or a key.
    const ref = await refused.exited;
    expect(ref.code).toBe(6);
    expect(ref.stdout + ref.stderr).toMatch(/allow-list/);
    expect(tx.flexicast.refused).toBeGreaterThanOrEqual(1);
    // Anonymous plain receive of the sealed group: packets arrive, nothing decodes.
    const anon = await anonymous.exited;
    expect(anon.code).not.toBe(0);
    const aj = JSON.parse(anon.stdout) as { objects: Array<{ state: string }>; packets: number };
    expect(aj.objects.filter((o) => o.state === 'verified')).toEqual([]);
    // Replays and forgeries were dropped and counted by the flow opener, before the assembly: the
    // receivers under attack still completed and their assembly saw no bad packet at all.
    const aOut = JSON.parse(att.stdout) as { captured: number; epoch: number; replayed: number; forged: number; errors: number; at: Record<string, number> };
    console.log(`flexicast netns: attacker ${JSON.stringify(aOut)} (receivers 0, 1 joined at ${joinedAt}); receivers 0, 1 dropped ${rj.slice(0, 2).map((j) => JSON.stringify(j.flexicast.flowDropped)).join(', ')}`);
    expect(aOut).toMatchObject({ captured: 50, replayed: 100, forged: 50, errors: 0 });
    expect(aOut.epoch).toBeGreaterThanOrEqual(1);
    for (const j of rj.slice(0, 2)) {
      const d = j.flexicast.flowDropped;
      // Every forgery fails its tag. Each captured packet went out twice: the second copy is always
      // a replay; the first is too unless this receiver never had that packet (it joined after it
      // was sent), and then it is an authentic packet seen once.
      expect(d.FLEX_AUTH).toBe(50);
      expect(d.FLEX_REPLAY).toBeGreaterThanOrEqual(50);
      expect(d.FLEX_REPLAY).toBeLessThanOrEqual(100);
      expect(d.FLEX_EPOCH ?? 0).toBe(0);
      expect(j.dropped).toEqual({});
    }
    const dr = await doctor.exited;
    const checks = (JSON.parse(dr.stdout) as { checks: Array<{ check: string; ok: boolean; detail: string }> }).checks;
    console.log(`flexicast netns: doctor ${checks.filter((c) => c.check === 'quic' || c.check === 'session-flow').map((c) => `${c.check} ${c.ok ? 'ok' : 'FAIL'}: ${c.detail}`).join(' | ')}`);
    expect(checks.find((c) => c.check === 'quic')).toMatchObject({ ok: true, detail: expect.stringMatching(/admitted: flow on/) });
    expect(checks.find((c) => c.check === 'session-flow')).toMatchObject({ ok: true });
    // The early leaver made the sender rotate; everyone else kept decrypting.
    expect((await leaver.exited).code).toBe(4);
    expect(tx.flexicast.controller.rotations).toBeGreaterThanOrEqual(1);
    expect(tx.flexicast.epoch).toBeGreaterThanOrEqual(1);
  }, 150_000);

  it('flapping multicast (cut 10 s every 20 s, twice, FC-msg off): fallback within D_fb + R of each cut, return after each repair, complete', async () => {
    const n = net!;
    await n.blockMulticast(2, false);
    // 26 MB at 8 Mbit/s, one cycle: the flow runs ~41 s, past the second repair (at ~36 s).
    const src = tree('t2', 26_000_000);
    const group = `${n.groupBase}.22`;
    const port = 47482;
    const keys = [key('flap0')];
    const outs = [join(work, 't2-out0')];
    // A small unicast budget, so the receiver cannot finish by unicast within one cut. No FC-msg:
    // with its only receiver cut, 'auto' would rightly copy the flow to it by unicast UDP, and
    // this test measures the QUIC fallback and the return to multicast.
    const sending = send(src, group, port, keys, ['--rate', '8M', '--cycles', '1', '--unicast-budget', '4M', '--no-fc-msg']);
    // The receiver joins mid-session (the flow has been sending for a while): unicast first,
    // multicast once a report confirms flow packets arrive.
    await waitListening(n, port, 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    const rx = [receive(0, port, keys[0]!, outs[0]!, '100s')];
    await waitJoined(n, [0], group, 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    const cuts: Array<{ cut: number; repair: number }> = [];
    // Times are taken before each nft change: it takes effect somewhere inside the exec, and
    // a return can be logged before the exec returns. Latencies are therefore upper bounds.
    for (let c = 0; c < 2; c++) {
      const cut = Date.now();
      await n.blockMulticast(0, true);
      await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - cut)));
      const repair = Date.now();
      await n.blockMulticast(0, false);
      cuts.push({ cut, repair });
      if (c === 0) await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - repair)));
    }
    const sent = await sending;
    expect(sent.code, sent.stderr).toBe(0);
    const results = await Promise.all(rx.map((p) => p.exited));
    for (const [i, r] of results.entries()) {
      expect(r.code, `receiver ${i}: ${r.stderr.slice(-1500)} ${r.stdout.slice(0, 3000)}`).toBe(0);
      expect(digests(join(outs[i]!, 't2'))).toEqual(digests(src));
    }
    const tx = JSON.parse(sent.stdout) as TxJson;
    expect(tx.flexicast.fcMsg).toBeUndefined();
    const log = tx.flexicast.receivers[0]!.pathLog;
    expect(log[0]).toMatchObject({ path: 'unicast', reason: 'join' });
    expect(log[1]).toMatchObject({ path: 'multicast', reason: 'flow-resumed' });
    console.log(`flexicast mid-session join: unicast first, multicast confirmed ${log[1]!.at - log[0]!.at} ms later`);
    expect(log[1]!.at - log[0]!.at).toBeLessThanOrEqual(4 * R_MS + 750);
    const lat = cuts.map(({ cut, repair }) => {
      const fb = log.find((e) => e.path === 'unicast' && e.at >= cut);
      const back = log.find((e) => e.path === 'multicast' && e.at >= repair);
      return { fallbackMs: fb === undefined ? undefined : fb.at - cut, returnMs: back === undefined ? undefined : back.at - repair, reason: fb?.reason };
    });
    const t0 = cuts[0]!.cut;
    console.log(`flexicast flapping: cuts at ${cuts.map((c) => `${c.cut - t0}..${c.repair - t0}`).join(', ')} ms; path log ${log.map((e) => `${e.at - t0} ${e.path} (${e.reason})`).join(', ')}`);
    console.log(`flexicast flapping (D_fb ${DFB_MS} ms, R ${R_MS} ms, cut 10 s every 20 s): ${lat.map((l, i) => `cut ${i + 1}: fallback ${l.fallbackMs} ms (${l.reason}), return ${l.returnMs} ms`).join('; ')}`);
    console.log(figure10((JSON.parse(results[0]!.stdout) as RxJson).flexicast.timeline, cuts));
    for (const l of lat) {
      expect(l.fallbackMs).toBeDefined();
      expect(l.returnMs).toBeDefined();
      // 750 ms of slack: ten node processes share two cores here.
      expect(l.fallbackMs!).toBeLessThanOrEqual(DFB_MS + R_MS + 750);
      expect(l.returnMs!).toBeLessThanOrEqual(2 * R_MS + 750);
    }
  }, 120_000);

  it('FC-msg chosen automatically with no multicast at all: copies switch on, 8 receivers complete', async () => {
    const n = net!;
    for (const r of n.receivers) await n.blockMulticast(r.index, true);
    const src = tree('t3', 3_000_000);
    const group = `${n.groupBase}.23`;
    const port = 47483;
    const keys = n.receivers.map((r) => key(`m${r.index}`));
    const outs = n.receivers.map((r) => join(work, `t3-out${r.index}`));
    const rx = n.receivers.map((r) => receive(r.index, port, keys[r.index]!, outs[r.index]!));
    await new Promise((r) => setTimeout(r, 2500));
    // A small unicast budget (1 Mbit/s for all 8): the QUIC fallback alone could not finish them,
    // the copies must carry the data.
    const sent = await send(src, group, port, keys, ['--rate', '20M', '--cycles', '3', '--unicast-budget', '1M']);
    expect(sent.code, sent.stderr).toBe(0);
    const tx = JSON.parse(sent.stdout) as TxJson;
    const want = digests(src);
    const results = await Promise.all(rx.map((p) => p.exited));
    let unicast = 0;
    for (const [i, r] of results.entries()) {
      expect(r.code, `receiver ${i}: ${r.stderr.slice(-1500)}`).toBe(0);
      const j = JSON.parse(r.stdout) as RxJson;
      expect(j.flexicast.mode).toBe('auto');
      expect(j.flexicast.copyPackets).toBeGreaterThan(0);
      expect(j.flexicast.flowPackets).toBe(j.flexicast.copyPackets);
      unicast += j.flexicast.unicastBytes;
      expect(digests(join(outs[i]!, 't3'))).toEqual(want);
    }
    const fm = tx.flexicast.fcMsg!;
    console.log(`flexicast FC-msg auto: 8 receivers complete, copies switched ${fm.log.map((e) => `${e.on ? 'on' : 'off'} (${e.reason})`).join(', ')}, ${fm.copies} copies via ${fm.path}, QUIC unicast repair ${(unicast / 1e6).toFixed(2)} MB in all`);
    expect(fm.mode).toBe('auto');
    expect(fm.log[0]).toMatchObject({ on: true, reason: 'no-multicast' });
    expect(fm.log.filter((e) => !e.on)).toEqual([]);
    expect(fm.copies).toBeGreaterThan(0);
  }, 120_000);
});
