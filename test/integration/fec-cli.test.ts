// `fcast fec encode|decode|bench` through the real CLI (node bin/run.js on the build in dist/):
// interop against a shared RFC 5170 vector, exit codes, one-line errors, atomic output. Each CLI
// process costs ~0.4 s of start-up, so the tests run concurrently (every file they write has its
// own name) and the parameter rules that share one path to exit 2 are checked in-process
// (fecCode), with one CLI run per kind of error.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fecCode } from '../../src/cli/fec.js';
import { isFcastError } from '../../src/errors.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const vectors = process.env['FCAST_VECTORS'] ?? resolve(root, '../shared/vectors/ldpc-staircase');
const CASE = join(vectors, 'k100_n150_N1-3_seed1_E1024');
const K = 100;
const N = 150;
const E = 1024;
const CODE = ['--k', String(K), '--n', String(N), '--n1', '3', '--seed', '1', '--symbol-size', String(E)];

let dir = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function fcast(...args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(root, 'bin/run.js'), ...args], { cwd: dir, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/** The shared vectors' source rule. */
function sourceRule(k: number, e: number): Buffer {
  const b = Buffer.alloc(k * e);
  for (let i = 0; i < k; i++) for (let j = 0; j < e; j++) b[i * e + j] = (i * 31 + j * 7 + 1) & 0xff;
  return b;
}

/** ESIS and SYMBOLS files for decoding case `c` of the vector (written once: tests run concurrently). */
const receptions = new Map<number, { esis: string; symbols: string }>();
function reception(c: number): { esis: string; symbols: string } {
  const known = receptions.get(c);
  if (known !== undefined) return known;
  const esis = readFileSync(join(CASE, `decode${c}_received.u32`));
  const src = sourceRule(K, E);
  const repair = readFileSync(join(CASE, 'repair.bin'));
  const parts: Buffer[] = [];
  for (let i = 0; i < esis.length / 4; i++) {
    const esi = esis.readUInt32LE(i * 4);
    parts.push(esi < K ? src.subarray(esi * E, (esi + 1) * E) : repair.subarray((esi - K) * E, (esi - K + 1) * E));
  }
  writeFileSync(join(dir, `c${c}.u32`), esis);
  writeFileSync(join(dir, `c${c}.bin`), Buffer.concat(parts));
  receptions.set(c, { esis: `c${c}.u32`, symbols: `c${c}.bin` });
  return receptions.get(c)!;
}

/** One clear line on stderr, naming the error code. */
function expectOneLine(r: Run, code: string): void {
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^fcast: .*\\[${code}\\]$`));
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist/src/commands/fec/encode.js'))) {
    const b = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
    expect(existsSync(join(root, 'dist/src/commands/fec/encode.js')), b.stderr).toBe(true);
  }
  dir = mkdtempSync(join(tmpdir(), 'fcast-fec-cli-'));
  writeFileSync(join(dir, 'src.bin'), sourceRule(K, E));
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('fcast fec encode', () => {
  it('reproduces a shared vector byte for byte', async ({ expect }) => {
    const r = await fcast('fec', 'encode', '--scheme', 'ldpc-staircase', ...CODE, '--in', 'src.bin', '--out', 'repair.bin');
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'repair.bin')).equals(readFileSync(join(CASE, 'repair.bin')))).toBe(true);
  });

  it('gives the same bytes on the TypeScript path, and a JSON result', async ({ expect }) => {
    const r = await fcast('fec', 'encode', ...CODE, '--in', 'src.bin', '--out', 'repair-ts.bin', '--no-native', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { repairSymbols: number; native: boolean; k: number; n: number };
    expect(j).toMatchObject({ repairSymbols: N - K, native: false, k: K, n: N });
    expect(readFileSync(join(dir, 'repair-ts.bin')).equals(readFileSync(join(CASE, 'repair.bin')))).toBe(true);
  });

  it('nocode checks the source and writes nothing', async ({ expect }) => {
    const r = await fcast('fec', 'encode', '--scheme', 'nocode', '--k', String(K), '--symbol-size', String(E), '--in', 'src.bin', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ scheme: 'nocode', repairSymbols: 0, out: null });
  });
});

describe.concurrent('fcast fec decode', () => {
  it('decodes with ML where peeling alone stalls (vector case 5), atomically', async ({ expect }) => {
    const { esis, symbols } = reception(5);
    const [it, ml] = await Promise.all([
      fcast('fec', 'decode', ...CODE, '--esis', esis, '--symbols', symbols, '--out', 'it.bin', '--iterative-only'),
      fcast('fec', 'decode', ...CODE, '--esis', esis, '--symbols', symbols, '--out', 'ml.bin'),
    ]);
    expect(it.status).toBe(3);
    expectOneLine(it, 'FEC_NOT_DECODABLE');
    expect(existsSync(join(dir, 'it.bin'))).toBe(false);
    expect(ml.status, ml.stderr).toBe(0);
    expect(readFileSync(join(dir, 'ml.bin')).equals(sourceRule(K, E))).toBe(true);
    // No temporary file of either output is left (other tests' outputs may be in flight).
    expect(readdirSync(dir).filter((f) => /^\.(it|ml)\.bin\..*\.tmp$/.test(f))).toEqual([]);
  });

  it('exits 3 and writes nothing when ML cannot decode (vector case 2)', async ({ expect }) => {
    const { esis, symbols } = reception(2);
    const r = await fcast('fec', 'decode', ...CODE, '--esis', esis, '--symbols', symbols, '--out', 'none.bin', '--json');
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 3, error: { code: 'FEC_NOT_DECODABLE' } });
    expect(existsSync(join(dir, 'none.bin'))).toBe(false);
  });

  it('decodes iteratively (vector case 0) on the TypeScript path too', async ({ expect }) => {
    const { esis, symbols } = reception(0);
    const r = await fcast('fec', 'decode', ...CODE, '--esis', esis, '--symbols', symbols, '--out', 'c0.out', '--iterative-only', '--no-native');
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'c0.out')).equals(sourceRule(K, E))).toBe(true);
  });

  it('nocode decodes from the source symbols in any order', async ({ expect }) => {
    const order = Array.from({ length: K }, (_, i) => (i * 37) % K);
    const esis = Buffer.alloc(4 * K);
    order.forEach((esi, i) => esis.writeUInt32LE(esi, i * 4));
    const src = sourceRule(K, E);
    writeFileSync(join(dir, 'nc.u32'), esis);
    writeFileSync(join(dir, 'nc.bin'), Buffer.concat(order.map((esi) => src.subarray(esi * E, (esi + 1) * E))));
    const r = await fcast('fec', 'decode', '--scheme', 'nocode', '--k', String(K), '--symbol-size', String(E), '--esis', 'nc.u32', '--symbols', 'nc.bin', '--out', 'nc.out');
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'nc.out')).equals(src)).toBe(true);
  });
});

describe.concurrent('fcast fec: bad parameters and files', () => {
  // Every FEC_PARAMS rule, in-process: fecCode is what encode, decode and bench check first.
  const rules: Array<[string, Partial<Record<'k' | 'n' | 'n1' | 'seed' | 'symbol-size', string>>]> = [
    ['k = 0', { k: '0' }],
    ['n = k', { n: '100' }],
    ['N1 > n - k', { n: '104', n1: '5' }],
    ['seed 0', { seed: '0' }],
    ['seed 2^31-1', { seed: '2147483647' }],
    ['symbol size 0', { 'symbol-size': '0' }],
  ];
  for (const [what, over] of rules) {
    it(`${what}: FEC_PARAMS`, ({ expect }) => {
      const flags = { scheme: 'ldpc-staircase', k: '100', n: '150', n1: '3', seed: '1', 'symbol-size': '1024', ...over };
      let code = '';
      try {
        fecCode(flags);
      } catch (e) {
        code = isFcastError(e) ? e.code : String(e);
      }
      expect(code).toBe('FEC_PARAMS');
    });
  }

  // Through the CLI, once per path to exit 2: a rule of fecCode, a flag that is not a number
  // (intFlag), a required flag missing.
  const enc = (...over: string[]): Promise<Run> => fcast('fec', 'encode', '--in', 'src.bin', '--out', 'bad.bin', ...over);
  const usage: Array<[string, string[], string]> = [
    ['k = 0', ['--k', '0', '--n', '150', '--symbol-size', '1024'], 'FEC_PARAMS'],
    ['a non-numeric k', ['--k', 'ten', '--n', '150', '--symbol-size', '1024'], 'USAGE'],
    ['a missing --n', ['--k', '100', '--symbol-size', '1024'], 'USAGE'],
  ];
  for (const [what, args, code] of usage) {
    it(`${what}: exit 2 with one line`, async ({ expect }) => {
      const r = await enc(...args);
      expect(r.status).toBe(2);
      expectOneLine(r, code);
      expect(existsSync(join(dir, 'bad.bin'))).toBe(false);
    });
  }

  it('SOURCE too short or too long: exit 5', async ({ expect }) => {
    writeFileSync(join(dir, 'short.bin'), Buffer.alloc(K * E - 1));
    writeFileSync(join(dir, 'long.bin'), Buffer.alloc(K * E + 1));
    const files = ['short.bin', 'long.bin', 'missing.bin'];
    const runs = await Promise.all(files.map((f) => fcast('fec', 'encode', ...CODE, '--in', f, '--out', 'bad.bin')));
    runs.forEach((r, i) => {
      expect(r.status, files[i]).toBe(5);
      expectOneLine(r, 'INPUT_FILE');
    });
  });

  it('ESIS and SYMBOLS that do not match, or an ESI past n: exit 5, nothing written', async ({ expect }) => {
    const { esis, symbols } = reception(0);
    writeFileSync(join(dir, 'odd.u32'), Buffer.alloc(7));
    const esi = Buffer.alloc(4);
    esi.writeUInt32LE(N, 0);
    writeFileSync(join(dir, 'past.u32'), esi);
    writeFileSync(join(dir, 'one.bin'), Buffer.alloc(E));
    const cases: Array<[string, string, string]> = [
      [esis, 'one.bin', 'INPUT_FILE'],
      ['odd.u32', symbols, 'INPUT_FILE'],
      ['past.u32', 'one.bin', 'FEC_ESI'],
    ];
    const runs = await Promise.all(cases.map(([e, s]) => fcast('fec', 'decode', ...CODE, '--esis', e, '--symbols', s, '--out', 'bad.bin')));
    runs.forEach((r, i) => {
      expect(r.status, `${cases[i]![0]} ${cases[i]![1]}`).toBe(5);
      expectOneLine(r, cases[i]![2]);
    });
    expect(existsSync(join(dir, 'bad.bin'))).toBe(false);
  });
});

describe.concurrent('fcast fec bench', () => {
  it('reports encode, iterative and ML speed and the overhead over 30 orders', async ({ expect }) => {
    const r = await fcast('fec', 'bench', '--k', '200', '--symbol-size', '64', '--trials', '1', '--ml-received', '250', '--warmup-ms', '0', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, Record<string, number>>;
    expect(j['encode']!['mbps']).toBeGreaterThan(0);
    expect(j['iterative']!['decoded']).toBe(1);
    expect(j['ml']!['decoded']).toBe(1);
    expect(j['overhead']).toMatchObject({ orders: 30, decoded: 30 });
    expect(j['overhead']!['meanReceivedOverK']).toBeGreaterThan(1);
    expect(j['overhead']!['meanReceivedOverK']).toBeLessThan(1.2);
  });
});
