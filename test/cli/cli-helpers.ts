// Shared by the CLI tests: build dist/ when a source is newer than its output (test files run in
// parallel workers, so a lock keeps them from running tsc at the same time), run `node bin/run.js`, and
// list the commands oclif finds with their flags.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const LOCK = join(tmpdir(), `fcast-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);

/**
 * Whether dist/ is current: every .ts of src/ and codecs/ has its .js in dist/ written after it
 * (tsc emits each file from that file alone, so per-file times are enough). Needs no stamp, so a
 * build by `npm ci` (prepare) or by hand counts too.
 */
function upToDate(): boolean {
  const stale: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const r = join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const out = statSync(join(ROOT, 'dist', r.replace(/\.ts$/, '.js')), { throwIfNoEntry: false });
        if (out === undefined || out.mtimeMs < statSync(join(ROOT, r)).mtimeMs) stale.push(r);
      }
    }
  };
  walk('src');
  walk('codecs');
  return stale.length === 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `npm run build` (tsc -p tsconfig.build.json) unless dist/ is current; safe from parallel workers. */
export async function ensureBuilt(): Promise<void> {
  if (upToDate()) return;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock older than two minutes belongs to a build that died.
      const lock = statSync(LOCK, { throwIfNoEntry: false });
      if (lock !== undefined && Date.now() - lock.mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 120 s for another test's build (${LOCK})`);
      await sleep(200);
    }
  }
  try {
    if (upToDate()) return;
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
        cwd: ROOT,
        stdio: 'pipe',
        timeout: 110_000,
      });
    } catch (e) {
      // tsc still emits on type errors (npm test's typecheck reports those); fail only when the
      // JavaScript is not there.
      if (upToDate()) return;
      const out = `${(e as { stdout?: Buffer }).stdout?.toString() ?? ''}`.trim();
      throw new Error(`npm run build failed:\n${out.slice(0, 2000)}`);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node bin/run.js ...args` from the repository root, bounded in time. */
export function fcast(args: readonly string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', 'run.js'), ...args],
      { cwd: opts.cwd ?? ROOT, timeout: opts.timeoutMs ?? 20_000, env: { ...process.env, NO_COLOR: '1', ...opts.env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

export interface CommandFlag {
  readonly name: string;
  readonly char?: string;
  readonly allowNo: boolean;
  readonly hidden: boolean;
}

export interface CommandInfo {
  /** As typed: "fec encode". */
  readonly id: string;
  readonly hidden: boolean;
  readonly flags: readonly CommandFlag[];
  readonly args: readonly string[];
}

/** Global flags every command has (base class); documented once, in fcast(1). */
export const GLOBAL_FLAGS = new Set(['json', 'debug', 'help']);

/** Every command oclif finds in dist/src/commands (after ensureBuilt), with its flags. */
export function listCommands(): CommandInfo[] {
  const script = `
    import { Config } from '@oclif/core';
    const c = await Config.load(process.cwd());
    console.log(JSON.stringify(c.commands.map((x) => ({
      id: x.id, hidden: x.hidden === true, args: Object.keys(x.args ?? {}),
      flags: Object.entries(x.flags).map(([name, f]) => ({ name, char: f.char, allowNo: f.allowNo === true, hidden: f.hidden === true })),
    }))));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  const cmds = JSON.parse(out) as Array<Omit<CommandInfo, 'id'> & { id: string }>;
  // oclif ids use ':' internally; users type the topic separator, a space.
  return cmds.map((c) => ({ ...c, id: c.id.split(':').join(' ') })).sort((a, b) => a.id.localeCompare(b.id));
}

/** man/fcast-<id with spaces as ->.1 */
export function manPathFor(id: string): string {
  return join(ROOT, 'man', `fcast-${id.split(' ').join('-')}.1`);
}

/** Warnings `man --warnings -l` prints for a page ('' = clean), or why it could not run. */
export function manWarnings(path: string): string {
  try {
    return execFileSync('sh', ['-c', 'man --warnings -l "$1" 2>&1 >/dev/null', 'sh', path], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '80', LANG: 'C.UTF-8', MAN_KEEP_FORMATTING: '' },
      timeout: 20_000,
    });
  } catch (e) {
    return `man failed (CI installs man-db and groff-base): ${(e as Error).message}`;
  }
}

/** Roff source with escapes for dashes and fonts removed, so `\-\-wait` reads `--wait`. */
export function roffPlain(src: string): string {
  return src
    .replace(/\\f(?:\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\(?:-|\(hy|\(mi|\(en)/g, '-')
    .replace(/\\&/g, '')
    .replace(/\\\s/g, ' ')
    .replace(/\\~/g, ' ');
}

/** Map over items with at most `limit` promises in flight (process spawns on a small machine). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
