#!/usr/bin/env node
// LDPC-Staircase (RFC 5170) speed, side by side: fcast native, fcast pure TypeScript and, when
// OPENFEC_BENCH names an executable that prints the same JSON (bench/README.md), OpenFEC or any
// other implementation, on the same parameters and the same reception orders, in one run.
//
//   npm run build && node bench/fec.mjs [--rounds R] [--trials T] [--batch B] [--per-symbol 0] [--json] [--quick]
//   OPENFEC_BENCH=/path/to/ofbench node bench/fec.mjs
//   node bench/fec.mjs --cli /other/checkout/bin/run.js,...   # their native codec too (before/after);
//                                                            # PATH@B passes --batch B to that one
//
// Each round runs every implementation once per configuration, in turn, so that load on a shared
// machine hits all of them alike; a figure is the median over rounds of each run's median.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'run.js');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const quick = args.includes('--quick');
const rounds = opt('rounds', quick ? 1 : 3);
const trials = opt('trials', quick ? 3 : 7);
const asJson = args.includes('--json');
// Symbols per call into our native decoder (fcast fec bench --batch); 1 = one push per symbol.
const batch = opt('batch', 64);
const strOpt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const otherClis = (strOpt('cli') ?? '').split(',').filter((x) => x !== '');

if (!existsSync(join(root, 'dist', 'src', 'commands', 'fec', 'bench.js'))) {
  console.error('bench/fec.mjs: run `npm run build` first (it runs `fcast fec bench` from dist/)');
  process.exit(2);
}

/** The issue's comparison points: n = 1.5k, E = 1024. ML gets k·1.06 symbols at N1=3, k·1.02 at N1=5. */
const configs = [
  { k: 1000, n: 1500, n1: 3 },
  { k: 10000, n: 15000, n1: 3 },
  { k: 10000, n: 15000, n1: 5 },
].map((c) => ({ ...c, seed: 1, symbolSize: 1024, mlReceived: Math.ceil(c.k * (c.n1 === 3 ? 1.06 : 1.02)) }));

// Both of our codecs run in the same push mode, so each TS/native ratio compares like for like:
// --batch B (pushBatch; the TypeScript one is a loop of push()) and, when B > 1, one push() per
// symbol as well (--per-symbol 0 leaves that pair out).
const perSymbol = batch > 1 && opt('per-symbol', 1) !== 0;
const modes = perSymbol ? [batch, 1] : [batch];
const label = (b) => (b === batch ? '' : ` @${b}`);
const impls = [
  ...modes.flatMap((b) => [
    { name: `fcast native${label(b)}`, run: (c) => ours(c, true, cli, b), batch: b, codec: 'native' },
    { name: `fcast TS${label(b)}`, run: (c) => ours(c, false, cli, b), batch: b, codec: 'ts' },
  ]),
  // Other checkouts' native codec (before/after in one run); an older CLI without --batch gets none.
  ...otherClis.map((entry, i) => {
    const [path, b] = entry.split('@');
    return { name: `native #${i + 1}`, run: (c) => ours(c, true, path, b === undefined ? undefined : Number(b)) };
  }),
];
if (process.env.OPENFEC_BENCH) impls.push({ name: 'openfec', run: (c) => external(process.env.OPENFEC_BENCH, c) });

function parse(what, r) {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${r.stderr.trim().split('\n')[0]}`);
  return JSON.parse(r.stdout);
}

function ours(c, native, path = cli, pathBatch = path === cli ? batch : undefined) {
  const r = spawnSync(process.execPath, [
    path, 'fec', 'bench', '--json', '--k', c.k, '--ratio', c.n / c.k, '--n1', c.n1, '--seed', c.seed,
    '--symbol-size', c.symbolSize, '--trials', trials, '--ml-received', c.mlReceived, '--orders', '0',
    native ? '--native' : '--no-native', ...(pathBatch === undefined ? [] : ['--batch', pathBatch]),
  ].map(String), { encoding: 'utf8', maxBuffer: 1 << 24 });
  return parse('fcast fec bench', r);
}

function external(exe, c) {
  const r = spawnSync(exe, [
    '--k', c.k, '--n', c.n, '--n1', c.n1, '--seed', c.seed, '--symbol-size', c.symbolSize,
    '--trials', trials, '--ml-received', c.mlReceived,
  ].map(String), { encoding: 'utf8', maxBuffer: 1 << 24 });
  return parse(exe, r);
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >>> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const mb = (c, ms) => (c.k * c.symbolSize) / 1e6 / (ms / 1e3);
const results = [];
for (const c of configs) {
  const runs = new Map(impls.map((i) => [i.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const impl of impls) runs.get(impl.name).push(impl.run(c));
  }
  for (const impl of impls) {
    const rs = runs.get(impl.name);
    const pick = (f) => median(rs.map(f));
    results.push({
      config: c,
      impl: impl.name,
      detail: rs[0].impl,
      encodeMs: pick((r) => r.encode.medianMs),
      iterativeMs: pick((r) => r.iterative.medianMs),
      mlMs: pick((r) => r.ml.medianMs),
      // Fastest single run over all rounds (minMs is optional in the JSON shape).
      best: {
        encodeMs: Math.min(...rs.map((r) => r.encode.minMs ?? r.encode.medianMs)),
        iterativeMs: Math.min(...rs.map((r) => r.iterative.minMs ?? r.iterative.medianMs)),
        mlMs: Math.min(...rs.map((r) => r.ml.minMs ?? r.ml.medianMs)),
      },
      iterativeDecoded: rs.reduce((a, r) => a + r.iterative.decoded, 0) / (rounds * trials),
      mlDecoded: rs.reduce((a, r) => a + r.ml.decoded, 0) / (rounds * trials),
    });
  }
}

if (asJson) {
  console.log(JSON.stringify({ rounds, trials, results }, null, 2));
} else {
  console.log(`LDPC-Staircase, E=1024, n=1.5k, seed 1; median of ${rounds} round(s) x ${trials} trial(s); MB/s of source data; fcast: ${batch} symbol(s) per decoder call${perSymbol ? ', @1: one push() per symbol' : ''}`);
  otherClis.forEach((p, i) => console.log(`native #${i + 1}: ${p}`));
  console.log('k      N1 impl             encode   iterative  ML (recv)        vs OpenFEC (enc / it / ML)');
  for (const r of results) {
    const c = r.config;
    const of = results.find((x) => x.impl === 'openfec' && x.config === c);
    const vs = of && r.impl !== 'openfec'
      ? `${(of.encodeMs / r.encodeMs).toFixed(2)}x / ${(of.iterativeMs / r.iterativeMs).toFixed(2)}x / ${(of.mlMs / r.mlMs).toFixed(2)}x`
      : '';
    const fail = r.mlDecoded < 1 || r.iterativeDecoded < 1 ? `  (decoded: it ${(100 * r.iterativeDecoded).toFixed(0)}%, ML ${(100 * r.mlDecoded).toFixed(0)}%)` : '';
    console.log(
      `${String(c.k).padEnd(6)} ${c.n1}  ${r.impl.padEnd(15)} ${mb(c, r.encodeMs).toFixed(0).padStart(7)} ${mb(c, r.iterativeMs).toFixed(0).padStart(10)} ${mb(c, r.mlMs).toFixed(0).padStart(7)} (${c.mlReceived})  ${vs}${fail}`,
    );
  }
  console.log('\nFastest single run (closest to each code\'s own cost on a loaded machine):');
  for (const r of results) {
    const c = r.config;
    const of = results.find((x) => x.impl === 'openfec' && x.config === c);
    const vs = of && r.impl !== 'openfec'
      ? `${(of.best.encodeMs / r.best.encodeMs).toFixed(2)}x / ${(of.best.iterativeMs / r.best.iterativeMs).toFixed(2)}x / ${(of.best.mlMs / r.best.mlMs).toFixed(2)}x`
      : '';
    console.log(
      `${String(c.k).padEnd(6)} ${c.n1}  ${r.impl.padEnd(15)} ${mb(c, r.best.encodeMs).toFixed(0).padStart(7)} ${mb(c, r.best.iterativeMs).toFixed(0).padStart(10)} ${mb(c, r.best.mlMs).toFixed(0).padStart(7)} (${c.mlReceived})  ${vs}`,
    );
  }
  console.log('');
  for (const b of modes) {
    console.log(`TS/native time, both ${b === 1 ? 'one push() per symbol' : `${b} symbols per pushBatch`}: median of rounds (fastest run)`);
    for (const c of configs) {
      const nat = results.find((x) => x.impl === `fcast native${label(b)}` && x.config === c);
      const ts = results.find((x) => x.impl === `fcast TS${label(b)}` && x.config === c);
      const ratio = (f) => `${(ts[f] / nat[f]).toFixed(2)}x (${(ts.best[f] / nat.best[f]).toFixed(2)}x)`;
      console.log(`  k=${c.k} N1=${c.n1}: encode ${ratio('encodeMs')}, iterative ${ratio('iterativeMs')}, ML ${ratio('mlMs')}`);
    }
  }
}
