// The bundled start (bin/bundle.mjs builds dist/bundle/, bin/start.mjs runs it): every command has
// a bundle, the CLI behaves exactly as on the ordinary oclif path (help, usage errors, --json
// errors, exit statuses), a successful run leaves a V8 code cache, and a bundle older than the
// dist/ files it was built from is never used.
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ensureBuilt, fcast, mapLimit, type RunResult } from './cli-helpers.js';

interface BundleIndex {
  readonly bundles: Record<string, { readonly file: string; readonly hash: string; readonly inputs: readonly string[] }>;
}

const BUNDLES = join(ROOT, 'dist', 'bundle');

function readIndex(): BundleIndex | undefined {
  try {
    return JSON.parse(readFileSync(join(BUNDLES, 'index.json'), 'utf8')) as BundleIndex;
  } catch {
    return undefined;
  }
}

function stale(index: BundleIndex | undefined): boolean {
  if (index === undefined) return true;
  return Object.values(index.bundles).some((b) => {
    const built = statSync(join(BUNDLES, b.file), { throwIfNoEntry: false });
    return built === undefined || b.inputs.some((i) => statSync(join(ROOT, i)).mtimeMs > built.mtimeMs);
  });
}

/** startBundled() called directly: whether it ran the command from a bundle. */
function ranFromBundle(args: readonly string[], env: NodeJS.ProcessEnv = {}, root = ROOT): boolean {
  const script = `
    import { startBundled } from './bin/start.mjs';
    import { pathToFileURL } from 'node:url';
    const ran = await startBundled(${JSON.stringify(args)}, pathToFileURL('bin/run.js').href);
    process.stderr.write('\\nbundled=' + ran + '\\n');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
  return /bundled=true/.test(r.stderr);
}

const slow = (args: readonly string[]): Promise<RunResult> => fcast(args, { env: { FCAST_NO_BUNDLE: '1' } });

beforeAll(async () => {
  await ensureBuilt();
  // tsc after `npm run build` (ensureBuilt, a developer) leaves the bundles stale: rebuild them.
  if (stale(readIndex())) execFileSync(process.execPath, [join(ROOT, 'bin', 'bundle.mjs')], { cwd: ROOT, stdio: 'pipe', timeout: 60_000 });
}, 90_000);

describe('command bundles', () => {
  it('every command of the manifest has a current bundle', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, unknown> };
    const index = readIndex();
    expect(Object.keys(index?.bundles ?? {}).sort()).toEqual(Object.keys(manifest.commands).sort());
    expect(stale(index)).toBe(false);
  });

  it('help, usage errors and --json errors are the same as on the ordinary path', async () => {
    const cases: string[][] = [
      ['receive', '--help'],
      ['send', '--help'],
      ['fec', 'encode', '--help'],
      ['receive', '--no-such-flag'],
      ['send', '--json', '--no-such-flag'],
      ['receive', 'not-a-session', '-o', join(tmpdir(), 'fcast-bundle-unused')],
      ['send', join(tmpdir(), 'fcast-bundle-no-such-file'), '--to', '239.255.1.2:4000'],
    ];
    const fast = await mapLimit(cases, 2, (c) => fcast(c));
    const ordinary = await mapLimit(cases, 2, slow);
    cases.forEach((c, i) => {
      expect({ args: c, ...fast[i] }).toEqual({ args: c, ...ordinary[i] });
    });
    expect(fast[0]!.code).toBe(0);
    expect(fast[3]!.code).toBe(2);
  });

  it('runs from the bundle, unless FCAST_NO_BUNDLE=1 or the command has none', () => {
    expect(ranFromBundle(['keygen', '--help'])).toBe(true);
    expect(ranFromBundle(['fec', 'encode', '--help'])).toBe(true);
    expect(ranFromBundle(['keygen', '--help'], { FCAST_NO_BUNDLE: '1' })).toBe(false);
    expect(ranFromBundle(['--help'])).toBe(false);
    expect(ranFromBundle(['no-such-command'])).toBe(false);
  });

  it('a bundle older than a dist/ file it was built from is not used', () => {
    // a copy of the installation, so the shared dist/ keeps its times
    const copy = mkdtempSync(join(tmpdir(), 'fcast-bundle-copy-'));
    onTestFinished(() => rmSync(copy, { recursive: true, force: true }));
    for (const p of ['bin', 'dist', 'package.json', 'oclif.manifest.json']) cpSync(join(ROOT, p), join(copy, p), { recursive: true, preserveTimestamps: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    expect(ranFromBundle(['keygen', '--help'], {}, copy)).toBe(true);
    const input = readIndex()!.bundles['keygen']!.inputs.find((i) => i.includes('commands/keygen'))!;
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(copy, input), later, later);
    expect(ranFromBundle(['keygen', '--help'], {}, copy)).toBe(false);
  });

  it('a successful run leaves a full code cache named after the bundle it belongs to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fcast-bundle-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = await fcast(['keygen', '--out', join(dir, 'k.key')]);
    expect(r.code, r.stderr).toBe(0);
    const entry = readIndex()!.bundles['keygen']!;
    expect(readdirSync(BUNDLES)).toContain(`${entry.file}.${entry.hash}.full.v8cache`);
    // the next run reads it (a rejected cache would be rewritten, not break the run)
    const again = await fcast(['keygen', '--out', join(dir, 'k2.key')]);
    expect(again.code, again.stderr).toBe(0);
  });
});
