// `fcast send` hashes its files on the thread pool while the rest of start-up runs
// (src/store/sha256-pool.ts). A SIGINT then must not wait for the hash of a large file: the jobs
// are aborted and the command ends at once, having sent nothing. The file is a sparse 8 GiB (no
// disk used): its hash alone takes seconds here.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const RUN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'fcast-hash-abort-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('fcast send: a signal during the start-up hashing', () => {
  it('ends the command promptly (the hash jobs are aborted), not after the whole file is hashed', async () => {
    const big = join(work, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, 8 * 2 ** 30);
    const child = spawn(process.execPath, [RUN, 'send', big, '--to', '239.255.97.9:40991', '--iface', 'lo', '--ttl', '0', '--rate', '1G', '--cycles', '1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let code: number | null;
    let took: number;
    try {
      // Start-up (~0.2-0.4 s here) is over and the hash under way.
      await new Promise((r) => setTimeout(r, 1500));
      const t0 = performance.now();
      child.kill('SIGINT');
      code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
      took = performance.now() - t0;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    expect(took).toBeLessThan(1500);
    expect(code).toBe(0);
    const result = JSON.parse(out) as { status: string; ended: string; packets: number };
    expect(result).toMatchObject({ status: 'aborted', ended: 'signal', packets: 0 });
  }, 30_000);
});
