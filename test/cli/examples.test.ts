// examples/: the README describes every entry, the folder stays small (it is what `fcast demo`
// sends), and the keygen script makes keys that parse as the Ed25519 keys it lists.
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { execFile } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ensureBuilt } from './cli-helpers.js';

const EXAMPLES = join(ROOT, 'examples');
/** What the demo may send; a larger examples/ makes the quick start slow. */
const MAX_EXAMPLES_BYTES = 2 * 1024 * 1024;

function du(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return total;
}

beforeAll(async () => {
  await ensureBuilt();
});

describe('examples/', () => {
  it('examples/README.md describes every entry of the folder', () => {
    const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    const entries = readdirSync(EXAMPLES).filter((n) => n !== 'README.md' && !n.startsWith('.'));
    const missing = entries.filter((n) => !readme.includes(`## ${n}`) && !readme.includes(`\`${n}\``));
    expect(missing.map((n) => `examples/README.md does not describe examples/${n} (add a "## ${n}" section)`)).toEqual([]);
  });

  it(`stays under ${MAX_EXAMPLES_BYTES / 1024 / 1024} MiB`, () => {
    expect(du(EXAMPLES)).toBeLessThan(MAX_EXAMPLES_BYTES);
  });

  /** Run an example script; resolves with its exit code and stdout. */
  const script = (path: string, args: string[]): Promise<{ code: number; stdout: string }> =>
    new Promise((resolve) => {
      execFile('sh', [join(EXAMPLES, path), ...args], { timeout: 60_000 }, (err, stdout) => resolve({ code: err === null ? 0 : Number(err.code ?? 1), stdout }));
    });

  it('doctor/check-host.sh prints the failed checks and the summary, exit 0 or 1 as doctor says', async () => {
    const r = await script('doctor/check-host.sh', []);
    expect([0, 1]).toContain(r.code);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^(ready|NOT READY)/);
    for (const line of r.stdout.trim().split('\n').slice(0, -1)) expect(line).toMatch(/^(FAIL|warn) [a-z0-9-]+: /);
  }, 60_000);

  it('fec/n1-overhead.sh prints one line per N1 with the overhead and the speeds', async () => {
    const r = await script('fec/n1-overhead.sh', ['100', '64']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['N1=3', 'N1=5', 'N1=7']);
    for (const l of lines) expect(l).toMatch(/symbols\/k mean 1\.\d{4} max \d\.\d{4}  encode \d+ MB\/s  ML decode \d+ MB\/s$/);
  }, 60_000);

  it('keygen/make-keys.sh makes a sender, N receivers and their allow-list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fcast-keys-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const out = await new Promise<string>((resolve, reject) => {
      execFile('sh', [join(EXAMPLES, 'keygen', 'make-keys.sh'), dir, '2'], { timeout: 30_000 }, (err, stdout, stderr) =>
        err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`)),
      );
    });
    const allow = readFileSync(join(dir, 'allow-list.txt'), 'utf8').trim().split('\n');
    expect(allow).toHaveLength(2);
    for (const [i, line] of allow.entries()) {
      const pem = readFileSync(join(dir, `receiver-${i + 1}.key.pub`), 'utf8');
      expect(line).toBe(`ed25519:${String(createPublicKey(pem).export({ format: 'jwk' }).x)}`);
      expect(statSync(join(dir, `receiver-${i + 1}.key`)).mode & 0o077).toBe(0);
    }
    expect(out).toMatch(/^sender {3}ed25519:[A-Za-z0-9_-]{43}$/m);
    expect(readFileSync(join(dir, 'receivers.txt'), 'utf8')).toContain(`receiver-2 ${allow[1]}`);
  });
});
