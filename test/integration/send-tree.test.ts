// What `fcast send PATH...` puts on the air (src/store/source-tree.ts) and its flag parsing
// (src/commands/send.ts): names, symlinks skipped, duplicates refused, streamed SHA-256, rates,
// code rates, --until, and the usage errors that exit 2.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Send, { parseCodeRate, parseRate, untilMs } from '../../src/commands/send.js';
import { hashFile, readRange, scanSources } from '../../src/store/source-tree.js';

const root = mkdtempSync(join(tmpdir(), 'fcast-tree-'));
const PKG = fileURLToPath(new URL('../..', import.meta.url));
beforeAll(() => {
  mkdirSync(join(root, 'rel/a/b'), { recursive: true });
  writeFileSync(join(root, 'rel/a/b/deep.txt'), 'deep');
  writeFileSync(join(root, 'rel/top.json'), '{}');
  writeFileSync(join(root, 'single.bin'), Buffer.alloc(5000, 7));
  symlinkSync(join(root, 'single.bin'), join(root, 'rel/link'));
  mkdirSync(join(root, 'other/rel'), { recursive: true });
  writeFileSync(join(root, 'other/rel/top.json'), '[]');
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

describe('source tree', () => {
  it('names files by base name and directory trees as dir/path, sorted; symlinks skipped', async () => {
    const t = await scanSources([join(root, 'rel'), join(root, 'single.bin')]);
    expect(t.files.map((f) => f.location)).toEqual(['rel/a/b/deep.txt', 'rel/top.json', 'single.bin']);
    expect(t.skipped).toEqual([join(root, 'rel/link')]);
    expect(t.files[2]!.size).toBe(5000);
  });

  it('refuses two sources with the same Content-Location', async () => {
    await expect(scanSources([join(root, 'rel'), join(root, 'other/rel')])).rejects.toMatchObject({ code: 'USAGE' });
    await expect(scanSources([join(root, 'missing')])).rejects.toMatchObject({ code: 'INPUT_FILE' });
  });

  it('hashes by streaming and reads ranges; a file that shrank is INPUT_FILE', async () => {
    expect(Buffer.from(await hashFile(join(root, 'single.bin')))).toEqual(createHash('sha256').update(Buffer.alloc(5000, 7)).digest());
    const got = new Uint8Array(100);
    await readRange(join(root, 'single.bin'), 4900, got);
    expect(got.every((b) => b === 7)).toBe(true);
    await expect(readRange(join(root, 'single.bin'), 4950, new Uint8Array(100))).rejects.toMatchObject({ code: 'INPUT_FILE' });
  });
});

describe('send flags', () => {
  it('parses rates, code rates and --until', () => {
    expect(parseRate('100M')).toBe(100e6);
    expect(parseRate('1.5G')).toBe(1.5e9);
    expect(parseRate('800k')).toBe(800e3);
    expect(() => parseRate('fast')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseRate('10')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(parseCodeRate('2/3')).toBeCloseTo(2 / 3);
    expect(parseCodeRate('0.5')).toBe(0.5);
    expect(() => parseCodeRate('3/2')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    const now = Date.parse('2026-11-22T05:00:00Z');
    expect(untilMs('2026-11-22T07:00:00Z', now)).toBe(7_200_000);
    expect(() => untilMs('2026-11-22T04:00:00Z', now)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    const hm = untilMs('00:00', now);
    expect(hm).toBeGreaterThan(0);
    expect(hm).toBeLessThanOrEqual(86_400_000);
  });

  it('exits 2 on usage errors before sending anything', async () => {
    const file = join(root, 'single.bin');
    const exitOf = async (argv: string[]): Promise<number | undefined> => {
      try {
        await Send.run(argv, PKG);
      } catch (e) {
        return (e as { oclif?: { exit?: number } }).oclif?.exit;
      }
      return 0;
    };
    expect(await exitOf([file, '--to', 'not-an-address'])).toBe(2);
    expect(await exitOf([file, '--to', '239.255.1.1:4000', '--mode', 'on-demand'])).toBe(2);
    expect(await exitOf([file, '--to', '239.255.1.1:4000', '--duration', '5s'])).toBe(2);
    expect(await exitOf([file, '--to', '239.255.1.1:4000', '--code-rate', '0'])).toBe(2);
    expect(await exitOf([file, '--to', '239.255.1.1:4000', '--fec', 'ldpc', '--block-length', '2000000'])).toBe(2);
  });
});
