// Many small files over loopback multicast (127.0.0.1, TTL 0), issue 4: a tree of 1000 files of
// 1-4 KB arrives complete and byte for byte, in bounded time. Per-object costs in the receiver
// (state writes, spool files, verification) used to make 2000 such files take 45 s. The receiver
// runs with `ulimit -n 256`: files decoded faster than they are verified must not each hold a
// descriptor (EMFILE).
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loopSend, treeDigests } from '../helpers/loop-sender.js';
import { waitForGroupUsers } from '../helpers/wait.js';

const CHILD = join(import.meta.dirname, '../helpers/recv-child.ts');
const VITE_NODE = join(import.meta.dirname, '../../node_modules/.bin/vite-node');
const work = mkdtempSync(join(tmpdir(), 'fcast-small-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FILES = 1000;

describe('many small files over loopback multicast', () => {
  it(`${FILES} files of 1-4 KB arrive complete, byte for byte`, async () => {
    const src = join(work, 'tree');
    for (let i = 0; i < FILES; i++) {
      const dir = join(src, `d${Math.floor(i / 100)}`);
      if (i % 100 === 0) mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `f${i}.bin`), randomBytes(1024 + randomInt(0, 3073)));
    }
    const out = join(work, 'out');
    const group = `239.255.${randomInt(1, 251)}.${randomInt(1, 251)}`;
    const port = randomInt(20000, 50000);
    const child = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', VITE_NODE, CHILD, out, group, String(port), '60000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      // vite-node needs a moment to start and join: sent once it has joined.
      await waitForGroupUsers(group, 1, 60_000);
      const stop = new AbortController();
      const t0 = performance.now();
      const sending = loopSend({ root: src, group, port, tsi: 5150, rate: 50e6, mode: 'on-demand', durationMs: 55_000, signal: stop.signal });
      const code = await exited;
      const seconds = (performance.now() - t0) / 1000;
      stop.abort();
      await sending;
      process.stderr.write(`small files: ${FILES} in ${seconds.toFixed(1)} s${code === 0 ? '' : `; receiver exit ${code}: ${stderr.slice(-1500)}`}\n`);
      expect(code).toBe(0);
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as { status: string; missing: unknown[] };
      expect(r.status).toBe('complete');
      expect(r.missing).toEqual([]);
      expect(treeDigests(out)).toEqual(treeDigests(src));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
