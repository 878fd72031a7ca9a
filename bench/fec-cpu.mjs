#!/usr/bin/env node
// LDPC-Staircase (RFC 5170): the pure-TypeScript codec beside the native one in ONE process,
// trial by trial in turn, so that load on a shared machine hits both alike within milliseconds
// (bench/fec.mjs runs each codec in its own process, one after the other, and its TS/native line
// divides medians taken seconds apart). Each run is timed on both clocks: wall time
// (performance.now, as bench/fec.mjs) and CPU time (process.cpuUsage: the whole process, V8's GC
// and compiler threads included, so it adds their work to whichever codec is running). Same work
// as `fcast fec bench`: the code built cold in every timed run (a native code released after its
// run, untimed), reused repair/output buffers, reception order t for trial t, ML given k·1.06
// (N1=3) or k·1.02 (N1=5) symbols, untimed warm-up runs for 300 ms per codec and configuration.
// Both codecs take the same push mode: one push() per symbol, then B symbols per pushBatch (the
// TypeScript pushBatch is a loop of push(); the native one is one call).
//
//   npm run build && node bench/fec-cpu.mjs [trials] [B]     # default 21 trials, B = 64
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ldpc = join(root, 'dist', 'codecs', 'ldpc-staircase');
if (!existsSync(join(ldpc, 'native-code.js'))) {
  console.error('bench/fec-cpu.mjs: run `npm run build` first (it loads the codec from dist/)');
  process.exit(2);
}
const load = (name) => import(join(ldpc, name));
const { buildMatrix } = await load('matrix.js');
const { encodeRepair } = await load('encoder.js');
const { tsExecutor } = await load('executor.js');
const { LdpcDecoder } = await load('decoder.js');
const { buildNativeCode, nativeCodec, releaseNativeCode } = await load('native-code.js');
const { NativeLdpcDecoder } = await load('native-decoder.js');
const { encodeRepairNative } = await load('native-encoder.js');
const { receptionOrder, sourceBlockBytes } = await import(join(root, 'dist', 'src', 'cli', 'fec-bench.js'));

const codec = nativeCodec();
if (codec === undefined) {
  console.error('bench/fec-cpu.mjs: the native codec is not loaded (npm install builds it)');
  process.exit(2);
}
const trials = Number(process.argv[2] ?? 21);
const batch = Number(process.argv[3] ?? 64);
const WARMUP_MS = 300;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >>> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

/** The two codecs behind one shape: encode all repair symbols; a fresh decoder. */
function codecs(k, n, n1, e, source, repair) {
  let lastCode;
  const cold = () => (lastCode = buildNativeCode(codec, k, n, n1, 1));
  const block = { sbn: 0, k, n, offset: 0, length: k * e };
  const output = new Uint8Array(n * e); // n·E like a pooled arena: the native decoder keeps repair symbols in its tail
  const arena = new Uint8Array(n * e); // the TypeScript decoder clears it itself (as in fcast fec bench)
  return {
    ts: {
      encode: () => encodeRepair(buildMatrix(k, n, n1, 1), e, source, tsExecutor, repair),
      decoder: (iterativeOnly) => new LdpcDecoder({ block, symbolSize: e, matrix: buildMatrix(k, n, n1, 1), executor: tsExecutor, iterativeOnly, arena }),
    },
    native: {
      encode: () => encodeRepairNative(codec, cold(), block, e, source, repair),
      decoder: (iterativeOnly) => new NativeLdpcDecoder(codec, cold(), block, e, iterativeOnly, output),
      // The addon frees a code when the event loop runs its finalizer: never, in this loop.
      release: () => lastCode !== undefined && releaseNativeCode(lastCode),
    },
  };
}

console.log(`LDPC-Staircase, E=1024, n=1.5k, seed 1; ms per run, median (fastest) of ${trials} trials, TS and native in turn in one process`);
for (const [k, n1] of [[1000, 3], [10000, 3], [10000, 5]]) {
  const n = k * 1.5;
  const e = 1024;
  const mlReceived = Math.ceil(k * (n1 === 3 ? 1.06 : 1.02));
  const source = sourceBlockBytes(k, e);
  const repair = new Uint8Array((n - k) * e);
  const impls = codecs(k, n, n1, e, source, repair);
  impls.ts.encode();
  const views = Array.from({ length: n }, (_, esi) => (esi < k ? source.subarray(esi * e, (esi + 1) * e) : repair.subarray((esi - k) * e, (esi - k + 1) * e)));
  // Every encoding symbol once in one buffer, a batch naming its symbols by offset (as fcast fec bench).
  const all = new Uint8Array(n * e);
  all.set(source);
  all.set(repair, k * e);
  const offsets = new Uint32Array(n);
  /** order[0..to) one push() each (b = 1) or in pushBatch calls of b symbols, until complete. */
  const feed = (d, order, to, b) => {
    let r = 0;
    if (b === 1) {
      while (r < to && !d.progress().complete) d.push(order[r], views[order[r++]]);
      return;
    }
    while (r < to && !d.progress().complete) {
      const count = Math.min(b, to - r);
      r += d.pushBatch(order.subarray(r, r + count), all, offsets.subarray(r, r + count), count);
    }
  };
  /** One timed run of `what` on codec `name`: [wall ms, CPU ms, decoded]. */
  const run = (name, what, order, b) => {
    const impl = impls[name];
    const w0 = performance.now();
    const c0 = cpuMs();
    let d;
    if (what === 'encode') impl.encode();
    else {
      d = impl.decoder(what === 'iterative');
      feed(d, order, what === 'iterative' ? n : mlReceived, b);
      if (what === 'ml') d.finish();
    }
    const c = cpuMs() - c0;
    const w = performance.now() - w0;
    impl.release?.();
    // Peeling always completes with all n symbols; ML from k·1.06 (1.02) may not (fcast fec bench
    // counts those runs, and both codecs complete on the same orders).
    const ok = d === undefined || d.progress().complete;
    if (ok && d !== undefined && !Buffer.from(d.sourceBlock()).equals(Buffer.from(source))) {
      throw new Error(`${name} k=${k} N1=${n1}: ${what} decoding gave a wrong block`);
    }
    if (!ok && what === 'iterative') throw new Error(`${name} k=${k} N1=${n1}: iterative decoding did not complete`);
    return [w, c, ok];
  };
  for (const b of batch > 1 ? [1, batch] : [1]) {
    const times = {};
    const undecoded = { encode: 0, iterative: 0, ml: 0 };
    for (const name of ['ts', 'native']) for (const what of ['encode', 'iterative', 'ml']) times[`${name} ${what}`] = { wall: [], cpu: [] };
    for (const what of ['encode', 'iterative', 'ml']) {
      for (let t = -1, w = performance.now(); t < trials; t++) {
        const order = receptionOrder(Math.max(t, 0), n);
        for (let i = 0; i < n; i++) offsets[i] = order[i] * e;
        const decoded = [];
        for (const name of ['ts', 'native']) {
          const [wall, cpu, ok] = run(name, what, order, b);
          decoded.push(ok);
          if (t < 0) continue;
          times[`${name} ${what}`].wall.push(wall);
          times[`${name} ${what}`].cpu.push(cpu);
        }
        if (decoded[0] !== decoded[1]) throw new Error(`k=${k} N1=${n1} order ${t}: ${what} decoding completed on one codec only`);
        if (!decoded[0] && t >= 0) undecoded[what]++;
        if (t < 0 && performance.now() - w < 2 * WARMUP_MS) t--;
      }
    }
    const show = (v) => `${median(v).toFixed(3)} (${Math.min(...v).toFixed(3)})`;
    const mode = b === 1 ? 'one push() per symbol' : `${b} symbols per pushBatch`;
    console.log(`k=${k} N1=${n1}, both codecs ${mode}${undecoded.ml > 0 ? ` (ML not decodable from ${mlReceived} symbols in ${undecoded.ml} of ${trials} orders, on both)` : ''}:`);
    for (const name of ['native', 'ts']) {
      const x = (what) => times[`${name} ${what}`];
      console.log(`  ${name.padEnd(6)} wall: encode ${show(x('encode').wall)}  iterative ${show(x('iterative').wall)}  ML ${show(x('ml').wall)}`);
      console.log(`  ${''.padEnd(6)} CPU:  encode ${show(x('encode').cpu)}  iterative ${show(x('iterative').cpu)}  ML ${show(x('ml').cpu)}`);
    }
    for (const clock of ['wall', 'cpu']) {
      const ratio = (what) => {
        const ts = times[`ts ${what}`][clock];
        const nat = times[`native ${what}`][clock];
        return `${(median(ts) / median(nat)).toFixed(2)}x (${(Math.min(...ts) / Math.min(...nat)).toFixed(2)}x)`;
      };
      console.log(`  TS/native ${clock === 'wall' ? 'wall' : 'CPU '}: encode ${ratio('encode')}, iterative ${ratio('iterative')}, ML ${ratio('ml')}`);
    }
  }
}
