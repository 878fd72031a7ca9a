// README checklist (issue 2): the quick start is exactly the two commands, CI runs the README's
// test command, and every command has a section with an example and a pointer to its man page.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, ensureBuilt, listCommands, type CommandInfo } from './cli-helpers.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
let commands: CommandInfo[] = [];

beforeAll(async () => {
  await ensureBuilt();
  commands = listCommands();
});

/** Body of the `### heading` section (to the next heading of level 2 or 3). */
function sectionOf(heading: string): string | undefined {
  const lines = README.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^#{2,3} /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

describe('README', () => {
  it('quick start is exactly two commands: a real job and the tests', () => {
    const quick = sectionOf(README.split('\n').find((l) => /^## Quick start/.test(l)) ?? '## Quick start');
    expect(quick, 'README has no "## Quick start" section').toBeDefined();
    const cmds = (quick ?? '').split('\n').filter((l) => /^ {4}\S/.test(l)).map((l) => l.trim().replace(/\s+#.*$/, ''));
    expect(cmds).toEqual(['npm ci && npm run demo', 'npm ci && npm test']);
  });

  it('CI runs the README test command', () => {
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test\s*$/m);
  });

  it('has a section per command (or per topic, for subcommands) with an example and its man page', () => {
    const problems: string[] = [];
    for (const c of commands.filter((x) => !x.hidden)) {
      const topic = c.id.split(' ')[0]!;
      const own = sectionOf(`### fcast ${c.id}`);
      const body = own ?? (c.id.includes(' ') ? sectionOf(`### fcast ${topic}`) : undefined);
      const where = own !== undefined ? `### fcast ${c.id}` : `### fcast ${topic}`;
      if (body === undefined) {
        problems.push(`README.md has no "### fcast ${c.id}" section${c.id.includes(' ') ? ` (nor "### fcast ${topic}")` : ''}`);
        continue;
      }
      if (!new RegExp(`^ {4}(?:\\$ )?fcast ${c.id}\\b`, 'm').test(body)) problems.push(`README "${where}": no example line "    fcast ${c.id} ..."`);
      const pages = [`fcast-${c.id.split(' ').join('-')}(1)`, `fcast-${topic}(1)`];
      if (!pages.some((p) => body.includes(p))) problems.push(`README "${where}": does not point to its man page ${pages[0]}`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('the exit-code table matches src/cli/exit-codes.ts', async () => {
    const { EXIT } = await import('../../src/cli/exit-codes.js');
    const rows = [...README.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect([...new Set(rows)].sort()).toEqual(Object.values(EXIT).sort());
  });
});
