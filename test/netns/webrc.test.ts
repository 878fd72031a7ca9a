// WEBRC (RFC 3738, issue 5) on a real network: `fcast send --mode on-demand --session-file` (WEBRC by default) in one namespace,
// `fcast receive` in others, on a Linux bridge with IGMP snooping (a left group really stops at
// the port) and a tbf rate limit on each receiver's bridge port. Root only; bounded; torn down.
//
// 1. Three receivers on one session: 10 Mbit/s, 50 Mbit/s, and 50 Mbit/s that drops to 10 mid-
//    transfer. Each must settle within ±30% of its link (the rate offered to its port, i.e. what
//    its joined groups carry, measured by tbf's sent + dropped counters) with low loss, drop
//    layers after its link shrinks, and complete the file byte for byte.
// 2. IPv6 (SSM, MLDv2): one receiver behind 10 Mbit/s settles within ±30% and completes.
// 3. [80 s] TCP fairness: one WEBRC receiver and one CUBIC (or Reno) flow share a 20 Mbit/s link
//    with 20 ms of path delay each way (a userspace relay); after a 20 s warm-up, neither may get
//    less than half of the other's throughput over 60 s (RFC 3738 §1: "within a factor of two").
//
// Figures are printed (console.log) so a run documents itself; nothing is hard-coded.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/cli-helpers.js';
import { TestNet, netnsUnavailable, type NetProcess } from '../helpers/netns.js';
import { delayLink, stopDelayedLink } from '../helpers/delay-link.js';
import { flowRates, installFlowMeter, readFlowMeter } from '../helpers/flow-meter.js';
import { TCP_SOURCE } from '../helpers/tcp-flow.js';
import { FCAST_WEBRC_DEFAULTS } from '../../src/rate/params.js';

const skip = netnsUnavailable();
const RUN = join(ROOT, 'bin', 'run.js');
/**
 * The sessions run fcast's defaults (`--mode on-demand` is WEBRC by default with
 * FCAST_WEBRC_DEFAULTS: TSD 1 s, QD 10 s, BCR_P 50, P 0.85; src/rate/params.ts), so these tests
 * check what users get. Short slots let a test see many of them; P 0.85 gives layers of x1.18
 * (with P = 0.75 the 50 Mbit/s receiver settled at 73% of its link, the overshoot of one coarse
 * layer costing loss events); the price of a finer P is a slower decay after a link shrinks
 * (ln 5 / ln(1/P) = 10 slots for 50 -> 10 Mbit/s).
 */
const TSD_MS = FCAST_WEBRC_DEFAULTS.tsd * 1000;
const P = FCAST_WEBRC_DEFAULTS.p;
const WEBRC: string[] = [];
/**
 * One-way delay on the fairness test's link (userspace relay): a WAN-like 40 ms round trip
 * besides the queue. Without it the namespaces' zero propagation delay lets TCP's ACK clock refill
 * each freed queue slot at once (a phase effect of drop-tail), and WEBRC meets the full queue far
 * more often than TCP does (bench/webrc-fairness.ts, figures in man/fcast-send.1).
 */
const FAIR_DELAY_MS = 20;
/** Seconds both fairness flows run before the measured 60 s (see the fairness test). */
const FAIR_WARMUP_S = 20;
/**
 * Slots after a receiver first reaches 70% of its link before its settled window starts. Start-up
 * climbs a layer (x1/P) about every 100 ms and ends on the first loss, by then a layer or two above
 * the link (up to 63-69 Mbit/s offered to a 50 Mbit/s port for about a second), and a WEBRC
 * receiver sheds rate only as its waves decay, x P a slot: with the window from the 70% second, that
 * overshoot was 6.1% tbf loss in a 7 s window before receiver 2's drop (once in two runs).
 */
const STARTUP_SLOTS = 2;
/** Slots for a rate to decay 5x (50 -> 10 Mbit/s) when no layer is re-joined, plus one. */
const DECAY_SLOTS = Math.ceil(Math.log(5) / Math.log(1 / P)) + 1;

/** FCAST_WEBRC_TRACE_DIR=DIR: each receiver's controller trace (src/net/webrc-groups.ts) goes to DIR/NAME.jsonl. */
function traceEnv(name: string): NodeJS.ProcessEnv {
  const dir = process.env.FCAST_WEBRC_TRACE_DIR;
  return dir === undefined || dir === '' ? process.env : { ...process.env, FCAST_WEBRC_TRACE: join(dir, `${name}.jsonl`) };
}

function writeRandomFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  for (let off = 0; off < size; off += 4 << 20) writeSync(fd, randomBytes(Math.min(4 << 20, size - off)));
  closeSync(fd);
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface PortSample {
  /** ms since the sender started. */
  readonly t: number;
  /** Bytes tbf forwarded, and packets it dropped, so far. */
  readonly sentBytes: number;
  readonly drops: number;
  readonly sentPackets: number;
  readonly groups: number;
}

async function samplePort(net: TestNet, i: number, t: number): Promise<PortSample> {
  const port = net.receivers[i]!.port;
  const res = await net.exec('bridge', ['tc', '-s', '-j', 'qdisc', 'show', 'dev', port], { timeoutMs: 5000 });
  const q = (JSON.parse(res.stdout) as Array<{ kind: string; bytes: number; packets: number; drops: number }>).find((x) => x.kind === 'tbf');
  // Distinct groups (an SSM entry is listed per source too), link-local ones (MLD's own) left out.
  const groups = new Set((await net.joinedGroups(i)).filter((g) => !/^ff02:/i.test(g))).size;
  return { t, sentBytes: q?.bytes ?? 0, drops: q?.drops ?? 0, sentPackets: q?.packets ?? 0, groups };
}

interface Window {
  /** Offered rate to the port (forwarded + dropped), Mbit/s. */
  readonly offeredMbit: number;
  readonly deliveredMbit: number;
  /** tbf drops / offered packets. */
  readonly loss: number;
  readonly groups: number;
}

/** Rates between two samples; a dropped packet counts at the mean size of the forwarded ones. */
function windowOf(a: PortSample, b: PortSample): Window {
  const secs = (b.t - a.t) / 1000;
  const pkts = b.sentPackets - a.sentPackets;
  const drops = b.drops - a.drops;
  const bytes = b.sentBytes - a.sentBytes;
  const mean = pkts > 0 ? bytes / pkts : 1450;
  return {
    offeredMbit: ((bytes + drops * mean) * 8) / secs / 1e6,
    deliveredMbit: (bytes * 8) / secs / 1e6,
    loss: pkts + drops > 0 ? drops / (pkts + drops) : 0,
    groups: b.groups,
  };
}

interface WebrcSummary {
  status: string;
  elapsedMs: number;
  webrc: { arttMs: number; layers: number; maxLayers: number; lossRatio: number; received: number; lost: number; joins: number; leaves: number; mismatched: number; targetBitsPerSecond: number };
}

describe.skipIf(skip !== undefined)(`WEBRC across network namespaces${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNet | undefined;
  const work = mkdtempSync(join(tmpdir(), 'fcast-netns-webrc-'));

  beforeAll(async () => {
    await ensureBuilt();
    net = await TestNet.create({ receivers: 3, snooping: true, subnet: 53 });
  }, 180_000);

  afterAll(async () => {
    await net?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  // Retried: the settle and loss bounds are measured through tbf at real rates, and a CPU-starved
  // sender or receiver (another job on the machine) makes bursts the link then drops.
  it('10, 50 and 50->10 Mbit/s receivers on one session: each settles near its link, drops layers, completes', { retry: 2, timeout: 150_000 }, async () => {
    const n = net!;
    const src = join(work, 'src');
    mkdirSync(src, { recursive: true });
    // 72 MB: receiver 2 must still be receiving ~20 s after its link drops (the decay below plus a
    // settled window), and the carousel gives a receiver what FEC needs (~1.1 k packets, not the
    // 2.6 k of W blocks in turn), so at 50 Mbit/s a 48 MB file was done before its link dropped.
    writeRandomFile(join(src, 'image.bin'), 72_000_000);
    const session = join(work, 'session.json');
    // A retried attempt starts clean: no session file or received state from the last one.
    rmSync(session, { force: true });
    for (const r of n.receivers) rmSync(join(work, `out${r.index}`), { recursive: true, force: true });
    const links = [10, 50, 50];
    for (const [i, mbit] of links.entries()) await n.setRate(i, mbit);
    const t0 = Date.now();
    const sender = n.spawn('sender', [process.execPath, RUN, 'send', src, '--to', `${n.groupBase}.10:4800`, '--iface', n.sender.ip, '--ttl', '1',
      '--mode', 'on-demand', '--duration', '110s', '--rate', '80M', '--code-rate', '1/4', ...WEBRC, '--session-file', session, '--json']);
    await waitFor(() => existsSync(session), 15_000);
    // The default for on-demand: WEBRC with fcast's parameters.
    const desc = JSON.parse(readFileSync(session, 'utf8')) as { rate: { control: string; params: { P: number; TSD: number; BCR_P: number } } };
    expect([desc.rate.control, desc.rate.params.P, desc.rate.params.TSD, desc.rate.params.BCR_P]).toEqual(['webrc', P, TSD_MS / 1000, FCAST_WEBRC_DEFAULTS.bcr]);
    const outs = n.receivers.map((r) => join(work, `out${r.index}`));
    const rx: NetProcess[] = n.receivers.map((r) =>
      n.spawn(r.index, [process.execPath, RUN, 'receive', session, '-o', outs[r.index]!, '--iface', r.ip, '--timeout', '100s', '--json'], { env: traceEnv(`rx${r.index}`) }),
    );
    const done = rx.map(() => false);
    rx.forEach((p, i) => void p.exited.then(() => (done[i] = true)));
    // One sample per second per receiver port; receiver 2's link drops to 10 Mbit/s once it has
    // run at 70% of its 50 Mbit/s or more for 5 s after STARTUP_SLOTS (or at 40 s, and the rate check below fails).
    const samples: PortSample[][] = [[], [], []];
    let dropAt: number | undefined;
    let settledAt: number | undefined;
    while (!done.every(Boolean) && Date.now() - t0 < 105_000) {
      const t = Date.now() - t0;
      const s2 = samples[2]!;
      if (settledAt === undefined && s2.length >= 2 && windowOf(s2.at(-2)!, s2.at(-1)!).offeredMbit >= 35) settledAt = t;
      if (dropAt === undefined && (t >= 40_000 || (settledAt !== undefined && t >= settledAt + 5000 + STARTUP_SLOTS * TSD_MS))) {
        await n.setRate(2, 10);
        dropAt = Date.now() - t0;
      }
      for (let i = 0; i < 3; i++) if (!done[i]) samples[i]!.push(await samplePort(n, i, Date.now() - t0));
      await new Promise((r) => setTimeout(r, 1000 - ((Date.now() - t0) % 1000)));
    }
    const results = await Promise.all(rx.map((p) => p.exited));
    const sent = await sender.stop(2000);
    const achieved = (JSON.parse(sent.stdout || '{}') as { achievedBitsPerSecond?: number }).achievedBitsPerSecond;
    console.log(`sender: ${achieved === undefined ? '?' : (achieved / 1e6).toFixed(1)} Mbit/s achieved of 80 (load average ${loadavg()[0]!.toFixed(1)})`);
    const want = sha(join(src, 'image.bin'));
    const summaries = results.map((r, i) => {
      expect(r.code, `receiver ${i}: ${r.stderr.slice(-1500)}`).toBe(0);
      return JSON.parse(r.stdout) as WebrcSummary;
    });
    // Per-second trace, then the settled windows: from STARTUP_SLOTS after the first second at 70%
    // of the link (the ramp-up and its overshoot are over) to the receiver's end; receiver 2 up to its drop, and from DECAY_SLOTS
    // after it (WEBRC lowers a rate by not re-joining the layer that goes quiescent, one per slot,
    // so a 5x smaller link takes ln 5 / ln(1/P) slots of decay to reach).
    for (const [i, s] of samples.entries()) {
      const trace = s.slice(1).map((b, j) => `${windowOf(s[j]!, b).offeredMbit.toFixed(0)}/${b.groups}`);
      console.log(`receiver ${i} (${links[i]} Mbit/s${i === 2 ? ` -> 10 at ${dropAt} ms` : ''}) offered Mbit/s / groups per second: ${trace.join(' ')}`);
    }
    const at = (i: number, ms: number): PortSample => samples[i]!.find((x) => x.t >= ms) ?? samples[i]!.at(-1)!;
    const last = (i: number): PortSample => samples[i]!.at(-1)!;
    const reached = (i: number, mbit: number): PortSample => {
      const s = samples[i]!;
      const j = s.findIndex((b, k) => k > 0 && windowOf(s[k - 1]!, b).offeredMbit >= 0.7 * mbit);
      return at(i, s[Math.max(0, j - 1)]!.t + STARTUP_SLOTS * TSD_MS);
    };
    const settled: Array<{ label: string; link: number; w: Window }> = [
      { label: 'r0 10M', link: 10, w: windowOf(reached(0, 10), last(0)) },
      { label: 'r1 50M', link: 50, w: windowOf(reached(1, 50), last(1)) },
      { label: 'r2 50M before drop', link: 50, w: windowOf(reached(2, 50), at(2, dropAt!)) },
      { label: 'r2 10M after drop', link: 10, w: windowOf(at(2, dropAt! + DECAY_SLOTS * TSD_MS), last(2)) },
    ];
    for (const i of samples.keys()) console.log(`receiver ${i}: settled window from ${reached(i, links[i]!).t} ms`);
    for (const { label, link, w } of settled) {
      console.log(`${label}: offered ${w.offeredMbit.toFixed(1)} Mbit/s (${((100 * w.offeredMbit) / link).toFixed(0)}% of link), delivered ${w.deliveredMbit.toFixed(1)}, tbf loss ${(100 * w.loss).toFixed(2)}%`);
    }
    for (const [i, s] of summaries.entries()) {
      const w = s.webrc;
      console.log(`receiver ${i}: ${s.status} in ${(s.elapsedMs / 1000).toFixed(1)} s, layers ${w.layers}/${w.maxLayers} at the end, PSN loss ${(100 * w.lossRatio).toFixed(2)}% (${w.lost}/${w.received + w.lost}), joins ${w.joins}, leaves ${w.leaves}, CN mismatches ${w.mismatched}, ARTT ${w.arttMs.toFixed(1)} ms`);
      expect(s.status).toBe('complete');
      expect(sha(join(outs[i]!, 'src', 'image.bin'))).toBe(want);
    }
    for (const { label, link, w } of settled) {
      expect(w.offeredMbit, label).toBeGreaterThan(0.7 * link);
      expect(w.offeredMbit, label).toBeLessThan(1.3 * link);
      expect(w.loss, label).toBeLessThan(0.05);
    }
    // Layers dropped after the link shrank: the receiver leaves its highest layers while the path
    // delivers less than P times what they carry (src/rate/receiver.ts "Overload"; 16 epochs to
    // within 1.3x of the new link in virtual time, bench/webrc-drop.ts), so the rate offered to the
    // port is near the new link in the 4th slot after the drop (waiting for the waves to decay, x P
    // a slot, it was still 25-31 Mbit/s there), and fewer groups are joined within half the decay.
    const before = at(2, dropAt! - 1000);
    const rateBefore = windowOf(at(2, dropAt! - 3000), before).offeredMbit;
    const rateAfter = windowOf(at(2, dropAt! + 3 * TSD_MS), at(2, dropAt! + 4 * TSD_MS)).offeredMbit;
    const half = Math.ceil(DECAY_SLOTS / 2) * TSD_MS;
    const after = Math.min(...samples[2]!.filter((x) => x.t > dropAt! && x.t <= dropAt! + half).map((x) => x.groups));
    const transient = windowOf(at(2, dropAt!), at(2, dropAt! + DECAY_SLOTS * TSD_MS));
    console.log(`receiver 2: ${rateBefore.toFixed(1)} Mbit/s offered before the drop, ${rateAfter.toFixed(1)} in the 4th slot after; ` +
      `groups joined ${before.groups} before, ${after} within ${half} ms after; tbf loss ${(100 * transient.loss).toFixed(2)}% in the ${DECAY_SLOTS} slots after the drop`);
    expect(rateAfter).toBeLessThan(1.5 * 10);
    expect(after).toBeLessThan(before.groups);
  });

  // IPv6: the same controller over MLDv2 joins (SSM, source-specific) on IPv6 groups: the session
  // maps CN c to the base group + c + 1 in its last 32 bits. One receiver behind 10 Mbit/s must
  // climb, settle near its link and complete; its port must see left groups stop (MLD snooping).
  it('IPv6 SSM: a receiver behind 10 Mbit/s settles near its link over MLD joins and completes', { retry: 1, timeout: 100_000 }, async (ctx) => {
    const n = net!;
    const source = n.sender.ip6;
    if (source === undefined) ctx.skip();
    const src = join(work, 'v6');
    mkdirSync(src, { recursive: true });
    // 16 MB: ~20 s at 10 Mbit/s now that a receiver needs ~1.15 k packets (24 MB took 30 s).
    writeRandomFile(join(src, 'v6.bin'), 16_000_000);
    const session = join(work, 'v6.json');
    const out = join(work, 'v6-out');
    rmSync(session, { force: true });
    rmSync(out, { recursive: true, force: true });
    for (let i = 0; i < 3; i++) await n.setRate(i, i === 0 ? 10 : undefined);
    const t0 = Date.now();
    const sender = n.spawn('sender', [process.execPath, RUN, 'send', src, '--to', '[ff3e::77:6000]:4806', '--iface', 'eth0', '--source', source!, '--ttl', '1',
      '--mode', 'on-demand', '--duration', '80s', '--rate', '40M', '--code-rate', '1/4', ...WEBRC, '--session-file', session, '--json']);
    await waitFor(() => existsSync(session), 15_000);
    const rx = n.spawn(0, [process.execPath, RUN, 'receive', session, '-o', out, '--iface', 'eth0', '--timeout', '70s', '--json']);
    let done = false;
    void rx.exited.then(() => (done = true));
    const samples: PortSample[] = [];
    while (!done && Date.now() - t0 < 75_000) {
      samples.push(await samplePort(n, 0, Date.now() - t0));
      await new Promise((r) => setTimeout(r, 1000 - ((Date.now() - t0) % 1000)));
    }
    const r = await rx.exited;
    await sender.stop(2000);
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    const summary = JSON.parse(r.stdout) as WebrcSummary;
    const trace = samples.slice(1).map((b, j) => `${windowOf(samples[j]!, b).offeredMbit.toFixed(0)}/${b.groups}`);
    // Settled: from STARTUP_SLOTS after the first second at 70% of the link to the last whole
    // second before the end.
    const from = samples.findIndex((b, k) => k > 0 && windowOf(samples[k - 1]!, b).offeredMbit >= 7);
    const settledFrom = samples[Math.max(0, from - 1)]!.t + STARTUP_SLOTS * TSD_MS;
    const w = windowOf(samples.find((x) => x.t >= settledFrom) ?? samples.at(-2)!, samples.at(-2)!);
    const maxGroups = Math.max(...samples.map((x) => x.groups));
    console.log(`IPv6 receiver (10 Mbit/s) offered Mbit/s / groups per second: ${trace.join(' ')}`);
    console.log(`IPv6: ${summary.status} in ${(summary.elapsedMs / 1000).toFixed(1)} s, settled ${w.offeredMbit.toFixed(1)} Mbit/s offered (${(10 * w.offeredMbit).toFixed(0)}% of link), ` +
      `tbf loss ${(100 * w.loss).toFixed(2)}%, layers ${summary.webrc.layers} at the end, CN mismatches ${summary.webrc.mismatched}, joins ${summary.webrc.joins}, leaves ${summary.webrc.leaves}, groups at the port up to ${maxGroups}, ARTT ${summary.webrc.arttMs.toFixed(1)} ms`);
    expect(summary.status).toBe('complete');
    expect(sha(join(out, 'v6', 'v6.bin'))).toBe(sha(join(src, 'v6.bin')));
    expect(from).toBeGreaterThan(0);
    expect(w.offeredMbit).toBeGreaterThan(7);
    expect(w.offeredMbit).toBeLessThan(13);
    expect(w.loss).toBeLessThan(0.05);
    // Leaves reached the bridge: the port never carried every group of the session at once.
    expect(summary.webrc.leaves).toBeGreaterThan(0);
    expect(maxGroups).toBeLessThan(summary.webrc.maxLayers + 1);
  });

  // [80 s] RFC 3738's TCP-friendliness on a shared bottleneck, against CUBIC (Linux's default
  // TCP; FCAST_TCP_CC=reno or bbr for the others). Both flows start together and run a warm-up
  // of FAIR_WARMUP_S, then the issue's 60 s are measured in full: per-flow IP bytes delivered to
  // the receiver (nftables counters, test/helpers/flow-meter.ts). The warm-up is excluded because
  // WEBRC's start-up takes 5-8 s to climb from its base channel (one layer of x1.11 per join
  // latency and epoch) while TCP's slow start fills the link in under a second, and once start-up
  // ends at whatever share TCP left it, the equation climbs to its share over 10-20 s (RFC 3738
  // §3.2.2.1: each loss event moves the loss history by Delta = 0.3); figures in man/fcast-send.1.
  // A namespace may only pick a congestion control the host allows: it is allowed for the test
  // and the list restored after.
  // One retry: over this session's runs the ratio was 0.57-0.78 (window) with fcast's defaults, and
  // one 60 s sample of a drop-tail queue shared with CUBIC can dip; two dips in a row are a fault.
  it(`[80 s] one WEBRC receiver and one TCP flow share a 20 Mbit/s link with ${2 * FAIR_DELAY_MS} ms of path round trip: within a factor of two over 60 s`, { retry: 1, timeout: 150_000 }, async () => {
    // Its own network: receiver 0's link carries the delay relays (test/helpers/delay-link.ts).
    const n = await TestNet.create({ receivers: 1, snooping: true, subnet: 54 });
    try {
      await fairness(n);
    } finally {
      await n.destroy();
    }
  });

  async function fairness(n: TestNet): Promise<void> {
    const src = join(work, 'fair');
    mkdirSync(src, { recursive: true });
    writeRandomFile(join(src, 'big.bin'), 120_000_000);
    const session = join(work, 'fair.json');
    const link = await delayLink(n, 0, FAIR_DELAY_MS);
    await n.setRate(0, 20);
    await installFlowMeter(n, 0);
    const cc = process.env.FCAST_TCP_CC ?? 'cubic';
    const allowedPath = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';
    const allowed = readFileSync(allowedPath, 'utf8').trim();
    if (!allowed.split(' ').includes(cc)) writeFileSync(allowedPath, `${allowed} ${cc}`);
    try {
      await n.exec('sender', ['sysctl', '-w', `net.ipv4.tcp_congestion_control=${cc}`]);
    } finally {
      if (readFileSync(allowedPath, 'utf8').trim() !== allowed) writeFileSync(allowedPath, allowed);
    }
    const secs = FAIR_WARMUP_S + 60;
    const sender = n.spawn('sender', [process.execPath, RUN, 'send', src, '--to', `${n.groupBase}.60:4900`, '--iface', n.sender.ip, '--ttl', '1',
      '--mode', 'on-demand', '--duration', `${secs + 20}s`, '--rate', '40M', '--code-rate', '1/4', ...WEBRC, '--session-file', session, '--json']);
    await waitFor(() => existsSync(session), 15_000);
    const sink = n.spawn(0, [process.execPath, '-e', TCP_SINK]);
    await waitForLine(sink, /listening/);
    const rx = n.spawn(0, [process.execPath, RUN, 'receive', session, '-o', join(work, 'fair-out'), '--iface', n.receivers[0]!.ip, '--timeout', `${secs + 2}s`, '--json'],
      { env: traceEnv('fair') });
    const tcp = n.spawn('sender', [process.execPath, '-e', TCP_SOURCE, n.receivers[0]!.ip, String((secs + 2) * 1000)]);
    const t0 = Date.now();
    const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, t0 + ms - Date.now())));
    await sleepUntil(FAIR_WARMUP_S * 1000);
    const a = await readFlowMeter(n, 0);
    await sleepUntil(secs * 1000);
    const b = await readFlowMeter(n, 0);
    const [rxr, , sinkr] = await Promise.all([rx.exited, tcp.exited, sink.exited]);
    await sender.stop(2000);
    const relays = await stopDelayedLink(link);
    const summary = JSON.parse(rxr.stdout) as WebrcSummary;
    const tcpAll = JSON.parse(sinkr.stdout.trim().split('\n').pop()!) as { bytes: number; ms: number };
    const { multicastMbit: webrcMbit, tcpMbit } = flowRates(a, b);
    const lenp = (JSON.parse(readFileSync(session, 'utf8')) as { rate: { params: { LENP_B: number } } }).rate.params.LENP_B;
    console.log(`TCP (${cc}) fairness on 20 Mbit/s, ${((b.at - a.at) / 1000).toFixed(1)} s after a ${FAIR_WARMUP_S} s warm-up: WEBRC ${webrcMbit.toFixed(2)} Mbit/s, TCP ${tcpMbit.toFixed(2)}, ` +
      `ratio ${(webrcMbit / tcpMbit).toFixed(2)}; whole run: WEBRC ${((summary.webrc.received * lenp * 8) / summary.elapsedMs / 1000).toFixed(2)} Mbit/s, ` +
      `TCP ${((tcpAll.bytes * 8) / tcpAll.ms / 1000).toFixed(2)} (payload); layers ${summary.webrc.layers}, PSN loss ${(100 * summary.webrc.lossRatio).toFixed(2)}%, ` +
      `ARTT ${summary.webrc.arttMs.toFixed(1)} ms; relays up to ${Math.max(relays.down.lateMaxMs, relays.up.lateMaxMs)} ms late; load average ${loadavg()[0]!.toFixed(1)}`);
    expect(summary.status).toBe('timeout');
    expect(webrcMbit).toBeGreaterThan(tcpMbit / 2);
    expect(tcpMbit).toBeGreaterThan(webrcMbit / 2);
  }
});

/** TCP sink: counts bytes of one connection, prints {bytes, ms} when it ends. */
const TCP_SINK = `
const net = require('node:net');
let bytes = 0, start = 0;
const srv = net.createServer((s) => {
  start = Date.now();
  s.on('data', (d) => { bytes += d.length; });
  s.on('end', () => { console.log(JSON.stringify({ bytes, ms: Date.now() - start })); srv.close(); });
});
srv.listen(5201, () => console.log('listening'));
setTimeout(() => process.exit(1), 150000).unref();`;

async function waitForLine(p: NetProcess, re: RegExp): Promise<void> {
  await waitFor(() => re.test(p.output().stdout), 10_000);
}
