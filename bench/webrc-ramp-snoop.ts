// Time for a WEBRC receiver to reach 50% / 90% of --rate through the CLI, between network
// namespaces on a bridge WITH multicast snooping (test/helpers/netns.ts TestNet, as in
// test/netns/webrc.test.ts), so the receiver's port carries only the groups it joined, as on a
// switched LAN; bench/webrc-ramp.sh NS=... uses ../shared/bench/netns.sh, whose bridge floods
// every group to every port. One sender, one receiver, no rate limit; 64 MB on-demand, fcast's
// defaults unless flags follow `--`. Root only; builds and removes its own namespaces.
// Run: npx vite-node bench/webrc-ramp-snoop.ts -- [--rate 1G] [--runs 3] [--secs 15] [-- send flags]
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync, fsyncSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, ensureBuilt } from '../test/cli/cli-helpers.js';
import { TestNet } from '../test/helpers/netns.js';
import type { TraceEvent } from '../src/rate/index.js';

const { values: opt, positionals } = parseArgs({
  args: process.argv.slice(2).filter((a, i, all) => !(a === '--' && i === 0 && all.length > 0)),
  options: { rate: { type: 'string', default: '1G' }, runs: { type: 'string', default: '3' }, secs: { type: 'string', default: '15' } },
  allowPositionals: true,
});
const RUN = join(ROOT, 'bin', 'run.js');

async function main(): Promise<void> {
  await ensureBuilt();
  const work = mkdtempSync(join(tmpdir(), 'fcast-webrc-ramp-snoop-'));
  const file = join(work, '64MB');
  const fd = openSync(file, 'w');
  for (let i = 0; i < 16; i++) writeSync(fd, randomBytes(4 << 20));
  fsyncSync(fd);
  closeSync(fd);
  const net = await TestNet.create({ receivers: 1, snooping: true, subnet: 93 });
  try {
    for (let run = 1; run <= Number(opt.runs); run++) {
      const session = join(work, `s${run}.json`);
      const trace = join(work, `t${run}.jsonl`);
      const out = join(work, `out${run}`);
      const sender = net.spawn('sender', [process.execPath, RUN, 'send', file, '--to', `${net.groupBase}.20:4950`, '--iface', net.sender.ip, '--ttl', '1',
        '--mode', 'on-demand', '--duration', `${opt.secs}s`, '--rate', opt.rate!, ...positionals, '--session-file', session, '--json']);
      for (let i = 0; i < 100 && !existsSync(session); i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 100));
      const rx = net.spawn(0, [process.execPath, RUN, 'receive', session, '-o', out, '--iface', net.receivers[0]!.ip, '--timeout', `${opt.secs}s`, '--json'],
        { env: { ...process.env, FCAST_WEBRC_TRACE: trace } });
      const r = await rx.exited;
      await sender.stop(2000);
      const desc = JSON.parse(readFileSync(session, 'utf8')) as { rate: { bitsPerSecond: number; params: { LENP_B: number; N: number } } };
      const srP = desc.rate.bitsPerSecond / (8 * desc.rate.params.LENP_B);
      const ev = readFileSync(trace, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceEvent);
      const epochs = ev.filter((e): e is Extract<TraceEvent, { kind: 'epoch' }> => e.kind === 'epoch');
      const first = (f: number): string => { const e = epochs.find((x) => x.rr >= f * srP); return e === undefined ? '-' : (e.t / 1000).toFixed(1); };
      const exit = ev.find((e): e is Extract<TraceEvent, { kind: 'slow-start-exit' }> => e.kind === 'slow-start-exit');
      const merged = epochs.reduce((n, e) => n + e.span - 1, 0);
      let done = 'no summary';
      try { const j = JSON.parse(r.stdout) as { status: string; elapsedMs: number }; done = `${j.status} in ${(j.elapsedMs / 1000).toFixed(1)} s`; } catch { /* printed as is */ }
      console.log(`run ${run}, ${opt.rate} N ${desc.rate.params.N}: 50% at ${first(0.5)} s, 90% at ${first(0.9)} s; start-up exit ` +
        `${exit === undefined ? 'none' : `${exit.rule} at ${(exit.t / 1000).toFixed(1)} s, TRR ${((100 * exit.trr) / srP).toFixed(0)}%`}; epochs merged ${merged}; ` +
        `receiver ${done}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
      rmSync(out, { recursive: true, force: true });
    }
  } finally {
    await net.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
