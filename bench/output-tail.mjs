// The end of a lossy receiver's object, src/store/output.ts and prefix-digest.ts only (no network):
// a 64 MB object of 48 blocks, 8 written in order during the transfer, the other 40 in random
// order at once at the end (as a 10%-loss receiver completes them when the push repair pass
// serves every block at the same pace), then deliver() (final fdatasync, read-back and hashing
// of what is beyond the digest's prefix, rename). Prints, per build, the ms of the 40 writes
// (with their synchronous digest catch-up), of deliver, and the total. Builds alternate.
// Run: node bench/output-tail.mjs [REPS] [name=BUILD_ROOT,...]   (BUILD_ROOT: a built checkout, dist/ inside)
//   e.g. node bench/output-tail.mjs 8 base=/tmp/s5/base,head=.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
const builds = Object.fromEntries((process.argv[3] ?? 'head=.').split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, resolve(v)]));
const names = Object.keys(builds);
const mods = {};
for (const [k, root] of Object.entries(builds)) mods[k] = { OutputDir: (await import(`${root}/dist/src/store/output.js`)).OutputDir, ReceiverState: (await import(`${root}/dist/src/store/spool.js`)).ReceiverState };
const BLOCK = 1400 * 999, N = 48;
const data = randomBytes(BLOCK * N);
const sha256 = createHash('sha256').update(data).digest();
const info = { isCid: false, checksumWhole: false, dataOffset: 0, dataLength: data.length, path: 'f.bin', contentLength: data.length, gzip: false, sha256, sha1: undefined, mtime: undefined, mode: undefined };
const res = Object.fromEntries(names.map((k) => [k, []]));
for (let rep = 0; rep < +(process.argv[2] ?? 6); rep++) for (const k of rep % 2 ? [...names].reverse() : names) {
  const dir = mkdtempSync(join(tmpdir(), 'fcast-output-tail-'));
  const { OutputDir, ReceiverState } = mods[k];
  const state = new ReceiverState(dir); state.openSession(1, undefined);
  state.addObject(2, { encodingId: 0, transferLength: data.length, symbolSize: 1400, maxSourceBlockLength: 999 });
  const out = new OutputDir(dir, state);
  out.beginDigest(2, info, new Uint8Array(0));
  const order = [...Array(N).keys()];
  const late = order.slice(8).sort(() => Math.random() - 0.5);
  for (const b of order.slice(0, 8)) out.writeBlock(2, b * BLOCK, data.subarray(b * BLOCK, (b + 1) * BLOCK));
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  for (const b of late) out.writeBlock(2, b * BLOCK, data.subarray(b * BLOCK, (b + 1) * BLOCK));
  const t1 = performance.now();
  await out.deliver(2, info, new Uint8Array(0));
  const t2 = performance.now();
  res[k].push([t1 - t0, t2 - t1, t2 - t0]);
  rmSync(dir, { recursive: true, force: true });
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const k of names) console.log(k, 'writes(ms)', res[k].map((r) => r[0].toFixed(0)).join(' '), '| deliver', res[k].map((r) => r[1].toFixed(0)).join(' '), '| total', res[k].map((r) => r[2].toFixed(0)).join(' '), '| median total', med(res[k].map((r) => r[2])).toFixed(1));
