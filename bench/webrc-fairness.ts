// WEBRC vs TCP on one bottleneck (RFC 3738 §1 "within a factor of two"; issue 5): one WEBRC
// receiver and one TCP flow share a tbf-limited link in network namespaces (test/helpers/netns.ts),
// for each TCP congestion control asked for, interleaved run by run so machine load hits all alike.
// Per run: the ratio over the whole run, per-5-s rates of both, and (with --trace) the receiver
// controller's own view from FCAST_WEBRC_TRACE: start-up exit, ARTT, join latencies, loss events,
// LOSSP/REQN/TRATE against ARR.
//
// Root only; builds and removes its own namespaces (names fcast-t<pid>-…).
// Run: npx vite-node bench/webrc-fairness.ts -- --cc cubic,reno --runs 3 [--secs 60] [--mbit 20]
//      [--latency-ms 50] [--burst 16384] [--p P] [--tsd S] [--qd S] [--bcr PPS] [--rate 40M]
//      [--min-artt 20] [--delay-ms 20] [--trace] [--keep-traces DIR]
// --delay-ms D: D ms each way on the receiver's link from a userspace relay (test/helpers/delay-link.ts;
// no sch_netem here), so TCP's round trip and WEBRC's join latency both carry 2·D of path delay.
// The WEBRC parameters are fcast send's defaults (an on-demand session is WEBRC by default,
// FCAST_WEBRC_DEFAULTS) unless --p, --tsd, --qd or --bcr are given.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync, existsSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, ensureBuilt } from '../test/cli/cli-helpers.js';
import { TestNet } from '../test/helpers/netns.js';
import { delayLink, stopDelayedLink, type DelayedLink } from '../test/helpers/delay-link.js';
import { FCAST_WEBRC_DEFAULTS as D, reqn, type TraceEvent } from '../src/rate/index.js';
import { TCP_SOURCE } from '../test/helpers/tcp-flow.js';
import { flowRates, installFlowMeter, readFlowMeter, type FlowBytes } from '../test/helpers/flow-meter.js';

const { values: opt } = parseArgs({
  options: {
    cc: { type: 'string', default: 'cubic,reno' },
    runs: { type: 'string', default: '1' },
    secs: { type: 'string', default: '60' },
    mbit: { type: 'string', default: '20' },
    'latency-ms': { type: 'string', default: '50' },
    'delay-ms': { type: 'string', default: '0' },
    burst: { type: 'string' },
    p: { type: 'string' },
    tsd: { type: 'string' },
    qd: { type: 'string' },
    bcr: { type: 'string' },
    rate: { type: 'string', default: '40M' },
    'min-artt': { type: 'string' },
    trace: { type: 'boolean', default: false },
    'keep-traces': { type: 'string' },
    nice: { type: 'string', default: '0' },
    warmup: { type: 'string', default: '0' },
    compare: { type: 'string' },
  },
  allowPositionals: true,
});

const secs = Number(opt.secs);
/** Seconds both flows run before the measured window of `secs` (the whole-run ratio is printed too). */
const warmup = Number(opt.warmup);
const mbit = Number(opt.mbit);

function uptime(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** TCP sink: one connection; prints the bytes of every second and the total when it ends. */
const TCP_SINK = `
const net = require('node:net');
let bytes = 0, start = 0, last = 0;
const srv = net.createServer((s) => {
  start = Date.now();
  const tick = setInterval(() => { console.log(JSON.stringify({ t: Date.now() - start, bytes })); }, 1000);
  s.on('data', (d) => { bytes += d.length; });
  s.on('end', () => { clearInterval(tick); console.log(JSON.stringify({ bytes, ms: Date.now() - start, end: true })); srv.close(); });
});
srv.listen(5201, () => console.log('listening'));
setTimeout(() => process.exit(1), 300000).unref();`;

interface RunResult {
  readonly cc: string;
  readonly build: string;
  /** Over the measured window (after the warm-up), from the receiver's IP input counters. */
  readonly windowRatio: number;
  readonly webrcMbit: number;
  readonly tcpMbit: number;
  readonly ratio: number;
  readonly loadBefore: string;
  readonly loadAfter: string;
}

interface Summary {
  elapsedMs: number;
  webrc: { received: number; lost: number; lossRatio: number; layers: number; arttMs: number; lossEvents: number; joins: number; joinTimeouts: number };
}

async function oneRun(net: TestNet, work: string, src: string, cc: string, run: number, build: { name: string; root: string }): Promise<RunResult> {
  const RUN = join(build.root, 'bin', 'run.js');
  const total = warmup + secs;
  const loadBefore = uptime();
  await net.exec('sender', ['sysctl', '-w', `net.ipv4.tcp_congestion_control=${cc}`]);
  const session = join(work, `s-${cc}-${run}-${build.name}.json`);
  const out = join(work, `out-${cc}-${run}-${build.name}`);
  const tracePath = opt.trace ? join(opt['keep-traces'] ?? work, `trace-${cc}-${run}-${build.name}.jsonl`) : '';
  if (tracePath !== '') rmSync(tracePath, { force: true });
  const wr = ['--rate-control', 'webrc', ...(['p', 'tsd', 'qd', 'bcr'] as const).flatMap((k) => (opt[k] === undefined ? [] : [`--webrc-${k}`, opt[k]!]))];
  // --nice N: run the WEBRC sender and receiver at that nice level, so other jobs on a loaded
  // machine delay their timers and reads less (TCP's RTT is measured in the kernel, unaffected).
  const prio = opt.nice === '0' ? [] : ['nice', '-n', opt.nice!];
  const sender = net.spawn('sender', [...prio, process.execPath, RUN, 'send', src, '--to', `${net.groupBase}.60:4900`, '--iface', net.sender.ip, '--ttl', '1',
    '--mode', 'on-demand', '--duration', `${total + 30}s`, '--rate', opt.rate!, '--code-rate', '1/4', ...wr, '--session-file', session, '--json']);
  await waitFor(() => existsSync(session), 15_000);
  const lenp = (JSON.parse(readFileSync(session, 'utf8')) as { rate: { params: { LENP_B: number } } }).rate.params.LENP_B;
  const sink = net.spawn(0, [process.execPath, '-e', TCP_SINK]);
  await waitFor(() => /listening/.test(sink.output().stdout), 10_000);
  const rxArgs = [...prio, process.execPath, RUN, 'receive', session, '-o', out, '--iface', net.receivers[0]!.ip, '--timeout', `${total}s`, '--json'];
  if (opt['min-artt'] !== undefined) rxArgs.push('--webrc-min-artt', opt['min-artt']);
  const rx = net.spawn(0, rxArgs, { env: { ...process.env, FCAST_WEBRC_TRACE: tracePath } });
  const tcp = net.spawn('sender', [process.execPath, '-e', TCP_SOURCE, net.receivers[0]!.ip, String(total * 1000 + 1500)]);
  let tcpDone = false;
  void tcp.exited.then(() => (tcpDone = true));
  const rtts: number[] = [];
  const cwnds: number[] = [];
  let retrans = 0;
  let segsOut = 0;
  const tcpTrace: string[] = [];
  const t0 = Date.now();
  const dropsBefore = await tbfDrops(net);
  const recoveriesBefore = await tcpRecoveries(net);
  const udpBefore = await udpErrors(net);
  let windowStart: FlowBytes | undefined;
  let windowEnd: FlowBytes | undefined;
  while (!tcpDone) {
    const elapsed = Date.now() - t0;
    if (windowStart === undefined && elapsed >= warmup * 1000) windowStart = await readFlowMeter(net, 0);
    if (windowEnd === undefined && elapsed >= total * 1000) windowEnd = await readFlowMeter(net, 0);
    // The TCP sender's own smoothed RTT, cwnd and retransmissions (ss -tin), once a second.
    const ss = await net.exec('sender', ['ss', '-tin', 'dst', net.receivers[0]!.ip], { check: false });
    const rtt = /\brtt:([\d.]+)\//.exec(ss.stdout);
    const cwnd = /\bcwnd:(\d+)/.exec(ss.stdout);
    if (rtt !== null) rtts.push(Number(rtt[1]));
    if (cwnd !== null) cwnds.push(Number(cwnd[1]));
    const re = /\bretrans:\d+\/(\d+)/.exec(ss.stdout);
    if (re !== null) retrans = Number(re[1]);
    const segs = /\bdata_segs_out:(\d+)/.exec(ss.stdout);
    if (segs !== null) segsOut = Number(segs[1]);
    if (rtt !== null) {
      tcpTrace.push(JSON.stringify({ t: Date.now() - t0, srtt: Number(rtt[1]), cwnd: cwnd === null ? null : Number(cwnd[1]), retrans, segsOut,
        recoveries: (await tcpRecoveries(net)) - recoveriesBefore, tbfDrops: (await tbfDrops(net)) - dropsBefore }));
    }
    // Once a second, and on time for the window's two readings.
    const next = windowStart === undefined ? warmup * 1000 : windowEnd === undefined ? total * 1000 : Infinity;
    await new Promise((r) => setTimeout(r, Math.max(10, Math.min(1000, next - (Date.now() - t0)))));
  }
  if (windowStart === undefined || windowEnd === undefined) throw new Error('the TCP flow ended before the measured window did');
  const win = flowRates(windowStart, windowEnd);
  const [rxr, sinkr] = await Promise.all([rx.exited, sink.exited]);
  const drops = (await tbfDrops(net)) - dropsBefore;
  const recoveries = (await tcpRecoveries(net)) - recoveriesBefore;
  const udpAfter = await udpErrors(net);
  if (tracePath !== '') writeFileSync(tracePath.replace(/trace-/, 'tcp-'), `${tcpTrace.join('\n')}\n`);
  await sender.stop(2000);
  rmSync(out, { recursive: true, force: true });
  const summary = JSON.parse(rxr.stdout) as Summary;
  const lines = sinkr.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { t?: number; bytes: number; ms?: number; end?: boolean });
  const sinkTotal = lines.find((l) => l.end === true)!;
  const webrcMbit = (summary.webrc.received * lenp * 8) / (summary.elapsedMs / 1000) / 1e6;
  const tcpMbit = (((sinkTotal.bytes * 1500) / 1448) * 8) / (sinkTotal.ms! / 1000) / 1e6;
  const loadAfter = uptime();
  const w = summary.webrc;
  console.log(`run ${run} ${cc} [${build.name}]: ${warmup > 0 ? `after ${warmup} s warm-up, ` : ''}${((windowEnd.at - windowStart.at) / 1000).toFixed(1)} s window: ` +
    `WEBRC ${win.multicastMbit.toFixed(2)} Mbit/s, TCP ${win.tcpMbit.toFixed(2)}, ratio ${(win.multicastMbit / win.tcpMbit).toFixed(2)}`);
  console.log(`  whole run: WEBRC ${webrcMbit.toFixed(2)} Mbit/s, TCP ${tcpMbit.toFixed(2)}, ratio ${(webrcMbit / tcpMbit).toFixed(2)} | ` +
    `PSN loss ${(100 * w.lossRatio).toFixed(2)}%, loss events ${w.lossEvents}, joins ${w.joins}, join timeouts ${w.joinTimeouts}, layers ${w.layers} at end, ARTT ${w.arttMs.toFixed(1)} ms | load ${loadBefore} -> ${loadAfter}`);
  const tcpSeries = lines.filter((l) => l.t !== undefined);
  const tcp5: string[] = [];
  for (let i = 5; i < tcpSeries.length; i += 5) {
    tcp5.push((((tcpSeries[i]!.bytes - tcpSeries[i - 5]!.bytes) * 8 * 1500) / 1448 / 5 / 1e6).toFixed(1));
  }
  console.log(`  TCP Mbit/s per 5 s: ${tcp5.join(' ')}`);
  const avg = (xs: number[]): string => (xs.length === 0 ? '-' : (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1));
  console.log(`  TCP srtt ms (ss, 1/s): mean ${avg(rtts)} min ${Math.min(...rtts).toFixed(1)} max ${Math.max(...rtts).toFixed(1)}; cwnd mean ${avg(cwnds)}; ` +
    `retransmitted ${retrans} (last ss sample), loss recoveries ${recoveries}; tbf drops ${drops}, WEBRC PSN losses ${w.lost} of ${w.received + w.lost}`);
  // Where WEBRC's losses came from: the bottleneck (tbf drops less TCP's retransmitted segments,
  // about its own drops) or the receiver's host (socket buffer overflows in its namespace, which
  // also holds the downstream delay relay's socket).
  const rcvbuf = udpAfter.rcvbufErrors - udpBefore.rcvbufErrors;
  const tcpP = segsOut > 0 ? recoveries / segsOut : 0;
  const webrcP = w.received + w.lost > 0 ? w.lossEvents / (w.received + w.lost) : 0;
  const srtt = rtts.length === 0 ? 0 : rtts.reduce((a, b) => a + b, 0) / rtts.length / 1000;
  const modelMbit = tcpP > 0 && srtt > 0 ? (reqn(srtt, tcpP) * 1500 * 8) / 1e6 : NaN;
  console.log(`  losses: tbf ${drops} = TCP ~${retrans} + WEBRC ~${drops - retrans}; WEBRC counted ${w.lost}; receiver UDP RcvbufErrors ${rcvbuf}, InErrors ${udpAfter.inErrors - udpBefore.inErrors}`);
  console.log(`  loss event rate: TCP ${tcpP.toExponential(2)} (${recoveries} recoveries / ${segsOut} segments), WEBRC ${webrcP.toExponential(2)} (${w.lossEvents} / ${w.received + w.lost}); ` +
    `TCP model rate at its own p and srtt ${modelMbit.toFixed(1)} Mbit/s vs its ${tcpMbit.toFixed(1)}`);
  if (tracePath !== '') traceReport(tracePath, lenp);
  return { cc, build: build.name, windowRatio: win.multicastMbit / win.tcpMbit, webrcMbit, tcpMbit, ratio: webrcMbit / tcpMbit, loadBefore, loadAfter };
}

/** Packets the bottleneck's tbf dropped so far. */
async function tbfDrops(net: TestNet): Promise<number> {
  const res = await net.exec('bridge', ['tc', '-s', '-j', 'qdisc', 'show', 'dev', net.receivers[0]!.port]);
  const q = (JSON.parse(res.stdout) as Array<{ kind: string; drops: number }>).find((x) => x.kind === 'tbf');
  return q?.drops ?? 0;
}

/** UDP errors in the receiver's namespace (/proc/net/snmp): datagrams its sockets had no room for. */
async function udpErrors(net: TestNet): Promise<{ rcvbufErrors: number; inErrors: number }> {
  const res = await net.exec(0, ['cat', '/proc/net/snmp']);
  const lines = res.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/).map(Number);
  return { rcvbufErrors: values[names.indexOf('RcvbufErrors')]!, inErrors: values[names.indexOf('InErrors')]! };
}

/** The TCP sender's congestion events: fast recoveries (SACK or Reno) and timeouts (nstat). */
async function tcpRecoveries(net: TestNet): Promise<number> {
  const res = await net.exec('sender', ['nstat', '-azs', '--json'], { check: false });
  const kernel = (JSON.parse(res.stdout || '{}') as { kernel?: Record<string, number> }).kernel ?? {};
  return (kernel.TcpExtTCPSackRecovery ?? 0) + (kernel.TcpExtTCPRenoRecovery ?? 0) + (kernel.TcpExtTCPTimeouts ?? 0);
}

/** What the controller saw: per 5 s window the mean of its estimates, and the notable events. */
function traceReport(path: string, lenp: number): void {
  const all = readFileSync(path, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TraceEvent | { kind: 'stall'; t: number; ms: number });
  const stalls = all.filter((e): e is { kind: 'stall'; t: number; ms: number } => e.kind === 'stall');
  const events = all.filter((e): e is TraceEvent => e.kind !== 'stall');
  console.log(`  receiver event-loop stalls > 20 ms: ${stalls.length}, longest ${Math.max(0, ...stalls.map((x) => x.ms)).toFixed(0)} ms`);
  const lags = events.filter((e): e is Extract<TraceEvent, { kind: 'loss-event' }> => e.kind === 'loss-event').map((e) => e.lag);
  if (lags.length > 0) console.log(`  loss events found after the loss: mean ${(lags.reduce((a, b) => a + b, 0) / lags.length).toFixed(1)} ms, max ${Math.max(...lags).toFixed(1)} ms`);
  if (events.length === 0) return;
  // Losses that were not: a PSN counted lost whose packet came after all (reordered across the
  // channels' sockets, or late after the slot change that left its wave).
  const lost = new Map<string, Extract<TraceEvent, { kind: 'lost' }>>();
  let falseLosses = 0;
  let falseTail = 0;
  for (const e of events) {
    if (e.kind === 'lost') lost.set(`${e.cn}/${e.psn}`, e);
    if (e.kind === 'unused') {
      const l = lost.get(`${e.cn}/${e.psn}`);
      if (l !== undefined && e.t - l.t < 5000) {
        falseLosses++;
        if (l.tail) falseTail++;
        lost.delete(`${e.cn}/${e.psn}`);
      }
    }
  }
  const lostAll = events.filter((e) => e.kind === 'lost');
  console.log(`  packets counted lost ${lostAll.length} (${lostAll.filter((e) => e.kind === 'lost' && e.tail).length} at a wave's end), of which arrived later ${falseLosses} (${falseTail} at a wave's end)`);
  const t0 = events[0]!.t;
  const mb = (pps: number): string => ((pps * lenp * 8) / 1e6).toFixed(1);
  for (const e of events) {
    if (e.kind === 'slow-start-exit') console.log(`  start-up exit at ${((e.t - t0) / 1000).toFixed(2)} s: rule ${e.rule}, TRR ${mb(e.trr)} Mbit/s, ARR ${mb(e.arr)}, SSR ${mb(e.ssr)}`);
  }
  const firsts = events.filter((e): e is Extract<TraceEvent, { kind: 'first' }> => e.kind === 'first');
  const lat = firsts.map((e) => e.latency * 1000).sort((a, b) => a - b);
  const q = (f: number): string => (lat.length === 0 ? '-' : lat[Math.min(lat.length - 1, Math.floor(f * lat.length))]!.toFixed(1));
  console.log(`  join latency ms (n ${lat.length}): p10 ${q(0.1)} median ${q(0.5)} p90 ${q(0.9)} max ${q(1)}`);
  const windows = new Map<number, Array<Extract<TraceEvent, { kind: 'epoch' }>>>();
  const lossEvents = new Map<number, number>();
  const joins = new Map<number, number>();
  const blocks = new Map<number, number>();
  for (const e of events) {
    const k = Math.floor((e.t - t0) / 5000);
    if (e.kind === 'epoch') windows.set(k, [...(windows.get(k) ?? []), e]);
    if (e.kind === 'loss-event') lossEvents.set(k, (lossEvents.get(k) ?? 0) + 1);
    if (e.kind === 'join') joins.set(k, (joins.get(k) ?? 0) + 1);
    if (e.kind === 'rr-block') blocks.set(k, (blocks.get(k) ?? 0) + 1);
  }
  console.log('  t(s)  RR    ARR   TRATE REQN  SSR   (Mbit/s)  LOSSP    ARTT ms  NWC  loss-ev joins rr-blocks');
  for (const [k, es] of [...windows].sort((a, b) => a[0] - b[0])) {
    const avg = (f: (e: Extract<TraceEvent, { kind: 'epoch' }>) => number): number => es.reduce((s, e) => s + f(e), 0) / es.length;
    const ssr = es.at(-1)!.ssr;
    console.log(`  ${String(k * 5).padStart(4)}  ${mb(avg((e) => e.rr)).padStart(5)} ${mb(avg((e) => e.arr)).padStart(5)} ${mb(avg((e) => e.trate)).padStart(5)} ` +
      `${mb(avg((e) => e.reqn)).padStart(5)} ${(ssr === null || !Number.isFinite(ssr) ? 'inf' : mb(ssr)).padStart(5)}           ${avg((e) => e.lossp).toExponential(2)} ${(avg((e) => e.artt) * 1000).toFixed(1).padStart(7)} ` +
      `${avg((e) => e.nwc).toFixed(1).padStart(4)}  ${String(lossEvents.get(k) ?? 0).padStart(7)} ${String(joins.get(k) ?? 0).padStart(5)} ${String(blocks.get(k) ?? 0).padStart(9)}`);
  }
}

async function main(): Promise<void> {
  await ensureBuilt();
  const ccs = opt.cc!.split(',');
  const runs = Number(opt.runs);
  const work = mkdtempSync(join(tmpdir(), 'fcast-bench-webrc-fair-'));
  if (opt['keep-traces'] !== undefined) mkdirSync(opt['keep-traces'], { recursive: true });
  const src = join(work, 'src');
  mkdirSync(src);
  const fd = openSync(join(src, 'big.bin'), 'w');
  for (let i = 0; i < 30; i++) writeSync(fd, randomBytes(4 << 20));
  closeSync(fd);
  // A namespace may only pick a TCP congestion control the host allows (EPERM otherwise):
  // allow the ones asked for while the bench runs, restore the list after.
  const allowedPath = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';
  const allowed = readFileSync(allowedPath, 'utf8').trim();
  const missing = ccs.filter((c) => !allowed.split(' ').includes(c));
  if (missing.length > 0) writeFileSync(allowedPath, `${allowed} ${missing.join(' ')}`);
  const net = await TestNet.create({ receivers: 1, snooping: true, subnet: 61 });
  const results: RunResult[] = [];
  let link: DelayedLink | undefined;
  try {
    const latencyMs = Number(opt['latency-ms']);
    const delayMs = Number(opt['delay-ms']);
    if (delayMs > 0) link = await delayLink(net, 0, delayMs);
    await net.setRate(0, mbit, { latencyMs, ...(opt.burst === undefined ? {} : { burstBytes: Number(opt.burst) }) });
    console.log(`${mbit} Mbit/s tbf, latency ${latencyMs} ms, path delay ${delayMs} ms each way, burst ${opt.burst ?? 'default'}; WEBRC P ${opt.p ?? D.p} TSD ${opt.tsd ?? D.tsd} QD ${opt.qd ?? D.qd} BCR ${opt.bcr ?? D.bcr} SR ${opt.rate}; ${secs} s per run; load ${uptime()}`);
    await installFlowMeter(net, 0);
    // --compare DIR: another build (a copy of bin/, dist/, package.json, with node_modules) runs
    // beside this one, run by run, so load hits both alike.
    const builds = [{ name: 'this', root: ROOT }, ...(opt.compare === undefined ? [] : [{ name: 'compare', root: opt.compare }])];
    for (let run = 1; run <= runs; run++) {
      for (const cc of ccs) for (const build of builds) results.push(await oneRun(net, work, src, cc, run, build));
    }
  } finally {
    if (link !== undefined) {
      const relays = await stopDelayedLink(link);
      console.log(`delay relays: ${relays.down.frames} frames towards the receiver (latest ${relays.down.lateMaxMs} ms behind its due time), ${relays.up.frames} back (${relays.up.lateMaxMs} ms)`);
    }
    await net.destroy();
    rmSync(work, { recursive: true, force: true });
    if (missing.length > 0) writeFileSync(allowedPath, allowed);
  }
  for (const cc of ccs) {
    for (const name of new Set(results.map((r) => r.build))) {
      const rs = results.filter((r) => r.cc === cc && r.build === name);
      console.log(`${cc} [${name}]: window ratios ${rs.map((r) => r.windowRatio.toFixed(2)).join(', ')}; whole-run ratios ${rs.map((r) => r.ratio.toFixed(2)).join(', ')} ` +
        `(WEBRC ${rs.map((r) => r.webrcMbit.toFixed(1)).join('/')} vs TCP ${rs.map((r) => r.tcpMbit.toFixed(1)).join('/')} Mbit/s)`);
    }
  }
}

await main();
