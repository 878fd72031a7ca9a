// `fcast fec encode/decode --json` report in `native` what did the work: with the addon missing
// (here: FCAST_NO_NATIVE=1) the TypeScript codec runs, and the report said "native": true.
// An --out that cannot be written names that path (it named the temporary file next to it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeStatus } from '../../codecs/native.js';
import { ROOT, ensureBuilt } from './cli-helpers.js';

const work = mkdtempSync(join(tmpdir(), 'fcast-fec-native-'));
const CODE = ['--scheme', 'ldpc-staircase', '--k', '20', '--n', '30', '--n1', '3', '--seed', '5', '--symbol-size', '16'];

function fec(args: string[], env: NodeJS.ProcessEnv = {}): { native: boolean } {
  const out = execFileSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'fec', ...args, '--json'], { cwd: work, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  return JSON.parse(out) as { native: boolean };
}

beforeAll(async () => {
  await ensureBuilt();
  writeFileSync(join(work, 'src.bin'), Buffer.alloc(20 * 16, 9));
  const esis = Buffer.alloc(20 * 4);
  for (let i = 0; i < 20; i++) esis.writeUInt32LE(i, i * 4);
  writeFileSync(join(work, 'esis.u32'), esis);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('fcast fec --json native', () => {
  it('is false when the addon is not loaded, as the loaded status otherwise', () => {
    const encode = ['encode', ...CODE, '--in', 'src.bin', '--out', 'rep.bin'];
    const decode = ['decode', ...CODE, '--esis', 'esis.u32', '--symbols', 'src.bin', '--out', 'dec.bin'];
    expect(fec(encode, { FCAST_NO_NATIVE: '1' }).native).toBe(false);
    expect(fec(decode, { FCAST_NO_NATIVE: '1' }).native).toBe(false);
    expect(fec(encode).native).toBe(nativeStatus().loaded);
    expect(fec(decode).native).toBe(nativeStatus().loaded);
    expect(fec([...encode, '--no-native']).native).toBe(false);
  }, 60_000);
});

describe('fcast fec --out in a directory that does not exist', () => {
  it('exit 6, and the message names the file asked for, not the temporary one', () => {
    let err: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'fec', 'encode', ...CODE, '--in', 'src.bin', '--out', join(work, 'no-dir', 'rep.bin')], { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    expect(err?.status).toBe(6);
    expect(err?.stderr.trim()).toBe(`fcast: ENOENT: no such file or directory, open '${join(work, 'no-dir', 'rep.bin')}'`);
  });
});
