// Every command the oclif build finds: --help works, --json is accepted, a bad flag gives one
// line on stderr and exit 2, and with --json the error is a JSON object on stdout (issue 2).
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ensureBuilt, fcast, listCommands, mapLimit, type CommandInfo } from './cli-helpers.js';

let commands: CommandInfo[] = [];

beforeAll(async () => {
  await ensureBuilt();
  commands = listCommands();
});

describe('fcast CLI frame', () => {
  it('finds the commands (at least keygen and doctor)', () => {
    const ids = commands.map((c) => c.id);
    expect(ids).toContain('keygen');
    expect(ids).toContain('doctor');
  });

  it('`fcast --help` lists every visible command', async () => {
    const r = await fcast(['--help']);
    expect(r.code, r.stderr).toBe(0);
    for (const c of commands.filter((x) => !x.hidden)) {
      const top = c.id.split(' ')[0]!;
      expect(r.stdout, `fcast --help does not mention "${top}"`).toContain(top);
    }
  });

  it('`fcast --version` prints the package version', async () => {
    const r = await fcast(['--version']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(pkg.version);
  });

  it('`fcast <command> --help` works and shows every flag, for every command', async () => {
    const problems: string[] = [];
    const runs = await mapLimit(commands, 3, (c) => fcast([...c.id.split(' '), '--help']));
    commands.forEach((c, i) => {
      const r = runs[i]!;
      if (r.code !== 0) {
        problems.push(`fcast ${c.id} --help: exit ${r.code}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
        return;
      }
      for (const f of c.flags.filter((x) => !x.hidden)) {
        if (!r.stdout.includes(`--${f.name}`)) problems.push(`fcast ${c.id} --help does not show --${f.name}`);
      }
    });
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('every command accepts --json and --debug (the base class flags)', () => {
    const missing = commands.filter((c) => !c.flags.some((f) => f.name === 'json') || !c.flags.some((f) => f.name === 'debug'));
    expect(missing.map((c) => `fcast ${c.id} lacks --json/--debug: extend FcastCommand (src/cli/base.ts)`)).toEqual([]);
  });

  it('a bad flag gives one line on stderr and exit 2, for every command', async () => {
    const problems: string[] = [];
    const runs = await mapLimit(commands, 3, (c) => fcast([...c.id.split(' '), '--no-such-flag']));
    commands.forEach((c, i) => {
      const r = runs[i]!;
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      if (r.code !== 2) problems.push(`fcast ${c.id} --no-such-flag: exit ${r.code}, want 2`);
      if (lines.length !== 1) problems.push(`fcast ${c.id} --no-such-flag: ${lines.length} stderr lines, want 1:\n${r.stderr}`);
      if (r.stdout.trim() !== '') problems.push(`fcast ${c.id} --no-such-flag: wrote to stdout: ${r.stdout.slice(0, 200)}`);
      if (/\n\s+at /.test(r.stderr)) problems.push(`fcast ${c.id} --no-such-flag: stack trace without --debug`);
    });
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('with --json an error is a JSON object on stdout with status 2 and a code, for every command', async () => {
    const problems: string[] = [];
    const runs = await mapLimit(commands, 3, (c) => fcast([...c.id.split(' '), '--json', '--no-such-flag']));
    commands.forEach((c, i) => {
      const r = runs[i]!;
      if (r.code !== 2) problems.push(`fcast ${c.id} --json --no-such-flag: exit ${r.code}, want 2`);
      try {
        const j = JSON.parse(r.stdout) as { status?: unknown; error?: { code?: unknown; message?: unknown } };
        if (j.status !== 2 || j.error?.code !== 'USAGE' || typeof j.error.message !== 'string') {
          problems.push(`fcast ${c.id} --json: error object ${r.stdout.trim()} lacks status 2 / code USAGE / message`);
        }
      } catch {
        problems.push(`fcast ${c.id} --json --no-such-flag: stdout is not JSON: ${r.stdout.slice(0, 200)}`);
      }
    });
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('keygen --json returns its result as JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fcast-keygen-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const r = await fcast(['keygen', '--out', join(dir, 'k.key'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { publicKey: string };
    expect(j.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await fcast(['keygen', '--out', join(dir, 'k.key')]);
    expect(again.code).toBe(2); // exists, no --force
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
  });
});
