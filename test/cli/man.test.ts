// Man pages: fcast(1) and one page per command (man/fcast-<id with spaces as ->.1), each rendering
// without warnings and mentioning each of the command's flags (issue 2).
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { GLOBAL_FLAGS, ROOT, ensureBuilt, listCommands, manPathFor, manWarnings, roffPlain, type CommandInfo } from './cli-helpers.js';

let commands: CommandInfo[] = [];
const MAN = join(ROOT, 'man');

beforeAll(async () => {
  await ensureBuilt();
  commands = listCommands();
});

/** The text of one `.SH NAME` section of a page (up to the next .SH). */
function section(src: string, name: string): string {
  const m = new RegExp(`^\\.SH "?${name}"?\\s*$([\\s\\S]*?)(?=^\\.SH |(?![\\s\\S]))`, 'm').exec(src);
  return m?.[1] ?? '';
}

describe('man pages', () => {
  it('every command has man/fcast-<id>.1', () => {
    const missing = commands.filter((c) => !existsSync(manPathFor(c.id)));
    expect(
      missing.map((c) => `command "fcast ${c.id}" has no man page: write man/${basename(manPathFor(c.id))} (roff; see man/fcast-keygen.1)`),
    ).toEqual([]);
  });

  it('every page in man/ renders with `man --warnings -l` without a warning', () => {
    const pages = readdirSync(MAN).filter((f) => /\.[1-8]$/.test(f));
    expect(pages).toContain('fcast.1');
    const problems = pages.map((p) => [p, manWarnings(join(MAN, p)).trim()] as const).filter(([, w]) => w !== '');
    expect(problems.map(([p, w]) => `man/${p}:\n${w}`).join('\n')).toBe('');
  });

  it("each command's page names the command and mentions each of its flags", () => {
    const problems: string[] = [];
    for (const c of commands) {
      const path = manPathFor(c.id);
      if (!existsSync(path)) continue; // reported by the test above
      const text = roffPlain(readFileSync(path, 'utf8'));
      if (!/^\.TH\s/m.test(text)) problems.push(`man/${basename(path)}: no .TH line`);
      if (!text.includes(`fcast ${c.id}`) && !text.includes(`fcast-${c.id.split(' ').join('-')}`)) {
        problems.push(`man/${basename(path)}: does not name "fcast ${c.id}"`);
      }
      for (const f of c.flags.filter((x) => !x.hidden && !GLOBAL_FLAGS.has(x.name))) {
        const forms = [`--${f.name}`, ...(f.allowNo ? [`--no-${f.name}`] : [])];
        if (!forms.some((x) => new RegExp(`${x}(?![A-Za-z0-9-])`).test(text))) {
          problems.push(`man/${basename(path)}: does not mention ${forms.join(' or ')} (flag of "fcast ${c.id}")`);
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('fcast(1) lists every command, the global flags, the environment, and SEE ALSO of every command page', () => {
    const src = readFileSync(join(MAN, 'fcast.1'), 'utf8');
    const text = roffPlain(src);
    const problems: string[] = [];
    for (const c of commands.filter((x) => !x.hidden)) {
      if (!text.includes(c.id.split(' ')[0]!)) problems.push(`fcast.1 does not list command "${c.id}"`);
      const page = `fcast-${c.id.split(' ').join('-')}`;
      if (!new RegExp(`${page} \\(1\\)|${page}\\(1\\)`).test(text)) problems.push(`fcast.1 SEE ALSO lacks ${page}(1)`);
    }
    for (const flag of ['--json', '--debug', '--help', '--version']) if (!text.includes(flag)) problems.push(`fcast.1 lacks ${flag}`);
    for (const env of ['FCAST_NO_NATIVE', 'FCAST_SKIP_NATIVE']) if (!section(text, 'ENVIRONMENT').includes(env)) problems.push(`fcast.1 ENVIRONMENT lacks ${env}`);
    for (const sh of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'EXIT STATUS', 'FILES', 'ENVIRONMENT', 'SEE ALSO']) {
      if (!new RegExp(`^\\.SH "?${sh}"?\\s*$`, 'm').test(src)) problems.push(`fcast.1 has no .SH ${sh}`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('the EXIT STATUS of fcast(1) documents every exit code of src/cli/exit-codes.ts', () => {
    const exit = roffPlain(section(readFileSync(join(MAN, 'fcast.1'), 'utf8'), 'EXIT STATUS'));
    const codes = [...exit.matchAll(/^\.TP\n\.B (\d+)$/gm)].map((m) => Number(m[1]));
    expect([...new Set(codes)].sort()).toEqual(Object.values(EXIT).sort());
  });
});
