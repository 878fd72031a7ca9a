#!/usr/bin/env node
// LDPC-Staircase (RFC 5170): the pure-TypeScript codec beside the native one in ONE process,
// trial by trial in turn, timed in CPU time (process.cpuUsage) rather than wall time. On a shared,
// loaded machine a process is often descheduled; CPU time is far less sensitive to that than the
// wall-clock figures of bench/fec.mjs, so the TS/native ratio comes out steadier. Same work as
// `fcast fec bench`: matrix built cold every trial (a native code released after its trial,
// untimed), reused repair/output buffers, the same reception orders, ML given k·1.06 (N1=3) or
// k·1.02 (N1=5) symbols. Both codecs take one push() per symbol here (the TypeScript codec has no
// batch path; `fcast fec bench --batch` measures the native one).
//
//   npm run build && node bench/fec-cpu.mjs [trials]        # default 21 trials after 3 warm-up ones
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
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

/** The two codecs behind one shape: encode all repair symbols; a fresh decoder. */
function codecs(k, n, n1, e, source, repair) {
  let lastCode;
  const cold = () => (lastCode = buildNativeCode(codec, k, n, n1, 1));
  const block = { sbn: 0, k, n, offset: 0, length: k * e };
  const output = new Uint8Array(n * e); // n·E like a pooled arena: the native decoder keeps repair symbols in its tail
  const arena = new Uint8Array(n * e);
  return {
    ts: {
      encode: () => encodeRepair(buildMatrix(k, n, n1, 1), e, source, tsExecutor, repair),
      decoder: (iterativeOnly) => new LdpcDecoder({ block, symbolSize: e, matrix: buildMatrix(k, n, n1, 1), executor: tsExecutor, iterativeOnly, arena: arena.fill(0) }),
    },
    native: {
      encode: () => encodeRepairNative(codec, cold(), block, e, source, repair),
      decoder: (iterativeOnly) => new NativeLdpcDecoder(codec, cold(), block, e, iterativeOnly, output),
      // The addon frees a code when the event loop runs its finalizer: never, in this loop.
      release: () => lastCode !== undefined && releaseNativeCode(lastCode),
    },
  };
}

console.log(`LDPC-Staircase, E=1024, n=1.5k, seed 1; CPU ms per run, median (fastest) of ${trials} trials, TS and native in turn`);
for (const [k, n1] of [[1000, 3], [10000, 3], [10000, 5]]) {
  const n = k * 1.5;
  const e = 1024;
  const mlReceived = Math.ceil(k * (n1 === 3 ? 1.06 : 1.02));
  const source = sourceBlockBytes(k, e);
  const repair = new Uint8Array((n - k) * e);
  const impls = codecs(k, n, n1, e, source, repair);
  impls.ts.encode();
  const symbol = (esi) => (esi < k ? source.subarray(esi * e, (esi + 1) * e) : repair.subarray((esi - k) * e, (esi - k + 1) * e));
  const times = { ts: { encode: [], iterative: [], ml: [] }, native: { encode: [], iterative: [], ml: [] } };
  for (let t = -3; t < trials; t++) {
    const order = receptionOrder(Math.max(t, 0) % 7, n);
    for (const name of ['ts', 'native']) {
      const impl = impls[name];
      let t0 = cpuMs();
      impl.encode();
      const encode = cpuMs() - t0;
      impl.release?.();
      t0 = cpuMs();
      let d = impl.decoder(true);
      for (let r = 0; r < n && !d.progress().complete; r++) d.push(order[r], symbol(order[r]));
      const iterative = cpuMs() - t0;
      impl.release?.();
      if (!d.progress().complete) throw new Error(`${name} k=${k}: iterative decoding did not complete`);
      t0 = cpuMs();
      d = impl.decoder(false);
      for (let r = 0; r < mlReceived && !d.progress().complete; r++) d.push(order[r], symbol(order[r]));
      d.finish();
      const ml = cpuMs() - t0;
      impl.release?.();
      if (!d.progress().complete || !Buffer.from(d.sourceBlock()).equals(Buffer.from(source))) throw new Error(`${name} k=${k}: ML decoding failed`);
      if (t < 0) continue;
      times[name].encode.push(encode);
      times[name].iterative.push(iterative);
      times[name].ml.push(ml);
    }
  }
  const show = (v) => `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)})`;
  for (const name of ['native', 'ts']) {
    const x = times[name];
    console.log(`k=${String(k).padEnd(5)} N1=${n1} ${name.padEnd(6)}  encode ${show(x.encode)}  iterative ${show(x.iterative)}  ML ${show(x.ml)}`);
  }
  const ratio = (f) => `${(median(times.ts[f]) / median(times.native[f])).toFixed(2)}x (${(Math.min(...times.ts[f]) / Math.min(...times.native[f])).toFixed(2)}x)`;
  console.log(`               TS/native: encode ${ratio('encode')}, iterative ${ratio('iterative')}, ML ${ratio('ml')}`);
}
