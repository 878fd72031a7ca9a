#!/usr/bin/env node
// The receiver core's CPU per object, in process, with no sockets and no files: a 64 MB push of
// one cycle (fcast send's defaults: E 1400, k 1000, code rate 2/3, N1 5) is made once by the
// carousel core, lost at random (--loss, the same datagrams for every run), packed into receive
// batches as recvmmsg packs them, and fed to Receiver.handleBatch with a small in-memory shell
// (spool in memory, decode requests answered, no writes, no hashing). Per round each checkout
// runs with the native fast path on and off (FCAST_RECV_FAST's switch, ReceiverOptions.fastPath;
// a checkout before it has one path), interleaved, each receive in a fresh process (JIT state
// shared between runs would mix their type feedback). process.cpuUsage() of the feeding alone,
// TurboFan's concurrent compiles included, is the figure: the core's work, without the kernel's,
// the shell's and start-up. The minimum over rounds is the least disturbed by other load.
//
//   node bench/receive-core.mjs [--cli DIR[,DIR...]] [--size-mb 64] [--loss 0] [--batch 256] [--rounds 7]
//     each DIR a built checkout (`npm run build`: its dist/ is imported)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    cli: { type: 'string', default: ROOT },
    'size-mb': { type: 'string', default: '64' },
    loss: { type: 'string', default: '0' },
    batch: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '7' },
    one: { type: 'string' },
  },
});
const size = Math.round(Number(values['size-mb']) * 1e6);
const loss = Number(values.loss);
const batchSize = Number(values.batch);

async function load(dir) {
  const d = pathToFileURL(join(resolve(dir), 'dist')).href;
  const [{ CarouselSender }, { Receiver }, { ldpcStaircase }, { noCode }, wire] = await Promise.all([
    import(`${d}/src/carousel/sender.js`), import(`${d}/src/assembly/index.js`),
    import(`${d}/codecs/ldpc-staircase/scheme.js`), import(`${d}/codecs/nocode/scheme.js`), import(`${d}/src/wire/index.js`),
  ]);
  return { dir, CarouselSender, Receiver, schemes: new Map([[0, noCode], [3, ldpcStaircase]]), wire };
}

/** Mulberry32 (the carousel's Rng sequence): the loss pattern. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The push's datagrams after loss, packed into batches of `batchSize` (64 KiB slots, like recvmmsg's buffer). */
function batches(m, data) {
  const sender = new m.CarouselSender({
    tsi: 7,
    files: [{ key: 0, contentLocation: m.wire.encodeContentLocation('big.bin'), contentLength: data.length, contentType: 'application/octet-stream',
      sha256: createHash('sha256').update(data).digest(), mtime: 1_700_000_000, mode: 0o644 }],
    fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 },
    schemes: (id) => m.schemes.get(id), mode: 'push', cycles: 1, deadline: 1e12, seed: 1, cidIntervalMs: 50,
  });
  const lose = rng(99);
  const out = [];
  let cur = [];
  let now = 0;
  for (;;) {
    const o = sender.poll(now);
    if (o.kind === 'done') break;
    if (o.kind === 'read') {
      o.target.set(data.subarray(o.fileOffset, o.fileOffset + o.target.length));
      sender.readDone(o.id);
    } else if (o.kind === 'wait') now = o.until ?? now + 1;
    else {
      now += 0.01;
      if (lose() < loss) continue;
      cur.push(o.bytes.slice());
      if (cur.length === batchSize) {
        out.push(pack(cur));
        cur = [];
      }
    }
  }
  if (cur.length > 0) out.push(pack(cur));
  return out;
}

function pack(list) {
  const slot = 2048;
  const data = new Uint8Array(list.length * slot);
  const offsets = new Uint32Array(list.length);
  const lengths = new Uint32Array(list.length);
  list.forEach((b, i) => {
    data.set(b, i * slot);
    offsets[i] = i * slot;
    lengths[i] = b.length;
  });
  return { data, offsets, lengths, count: list.length };
}

/** One receive through the core: CPU seconds of the feeding, and whether the object decoded. */
function receive(m, input, fastPath) {
  const rx = new m.Receiver({ schemes: m.schemes, cciLength: 4, spoolDelayMs: 500, fastPath });
  const spool = new Map();
  let decoded = false;
  let now = 0;
  const drain = () => {
    for (let ev = rx.poll(); ev !== undefined; ev = rx.poll()) {
      if (ev.kind === 'spool-run') {
        const list = spool.get(ev.toi) ?? [];
        for (let i = 0; i < ev.count; i++) list.push({ esi: ev.esis[i], symbol: ev.data.slice(ev.offsets[i], ev.offsets[i] + ev.lengths[i]) });
        spool.set(ev.toi, list);
      } else if (ev.kind === 'spool') {
        const list = spool.get(ev.toi) ?? [];
        list.push({ esi: ev.esi, symbol: ev.symbol.slice() });
        spool.set(ev.toi, list);
      } else if (ev.kind === 'decode-request') {
        const list = spool.get(ev.toi);
        rx.decodeBlock(now, ev.toi, ev.sbn, [...ev.records].map((r) => list[r]));
      } else if (ev.kind === 'object-decoded') {
        decoded = true;
        rx.objectVerified(ev.toi);
      }
    }
  };
  const t0 = process.cpuUsage();
  for (const b of input) {
    rx.handleBatch(now, b.data, b.offsets, b.lengths, b.count, '10.0.0.1');
    drain();
    now += 4;
  }
  rx.spoolAll();
  drain();
  const t = process.cpuUsage(t0);
  return { cpu: (t.user + t.system) / 1e6, decoded };
}

if (values.one !== undefined) {
  // A child: one receive of checkout --cli, fast path --one (on | off); prints its CPU seconds.
  const m = await load(values.cli);
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) data.set(createHash('sha256').update(String(i)).digest(), i);
  const input = batches(m, data);
  const res = receive(m, input, values.one === 'on');
  if (!res.decoded) throw new Error(`${values.cli}: not decoded`);
  console.log(JSON.stringify({ cpu: res.cpu, datagrams: input.reduce((n, b) => n + b.count, 0), batches: input.length }));
} else {
  const cases = values.cli.split(',').flatMap((dir) => ['on', 'off'].map((fast) => ({ dir, fast, label: `${dir} fast=${fast}`, cpu: [] })));
  const loads = [];
  let shape = '';
  for (let r = 0; r < Number(values.rounds); r++) {
    loads.push(loadavg()[0]);
    for (const c of cases) {
      const args = [fileURLToPath(import.meta.url), '--cli', c.dir, '--one', c.fast, '--size-mb', values['size-mb'], '--loss', values.loss, '--batch', values.batch];
      const res = JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }));
      c.cpu.push(res.cpu);
      shape = `${res.datagrams} datagrams in ${res.batches} batches`;
    }
  }
  console.log(`${shape}, loss ${loss}, load ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)}`);
  for (const c of cases) {
    const s = [...c.cpu].sort((a, b) => a - b);
    console.log(`${c.label}: cpu min ${s[0].toFixed(3)} s, median ${s[s.length >> 1].toFixed(3)} s (${s.map((x) => x.toFixed(3)).join(' ')})`);
  }
}
