// RFC 5170 interoperability vectors (shared/vectors/ldpc-staircase, used in place, never copied):
// PRNG check value, left-side matrices, repair symbols byte for byte, and every decoding case
// with the iterative-only and the full (ML) decoder.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ldpcStaircase } from '../../../codecs/ldpc-staircase/scheme.js';
import { buildMatrix } from '../../../codecs/ldpc-staircase/matrix.js';
import { ParkMiller } from '../../../codecs/ldpc-staircase/prng.js';
import { nativeCodec } from '../../../codecs/ldpc-staircase/native-code.js';
import type { BlockPlan } from '../../../codecs/types.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
const vectorsDir = process.env.FCAST_VECTORS ?? resolve(repoRoot, '../shared/vectors/ldpc-staircase');

interface DecodingCase {
  name: string;
  received_count: number;
  received_file: string;
  iterative: { complete: boolean; source_symbols_known: number; known_source_bitmap_file: string };
  ml: { complete: boolean };
}
interface VectorCase {
  k: number;
  n: number;
  N1: number;
  prng_seed: number;
  E: number;
  repair_file: string;
  left_side_entries_total: number;
  rowfix_entries_added: number;
  main_loop_fallback_placements: number;
  matrix_file?: string;
  decoding_cases: DecodingCase[];
  sha256: Record<string, string>;
}

/** The TypeScript reference, and the native codec when the addon is built (both must pass every case). */
const paths: Array<{ label: string; native: boolean }> = [
  { label: 'TS', native: false },
  ...(nativeCodec() === undefined ? [] : [{ label: 'native', native: true }]),
];

function caseDirs(): string[] {
  if (!existsSync(vectorsDir)) {
    throw new Error(`LDPC vectors not found at ${vectorsDir}: put shared/ beside the clone or set FCAST_VECTORS`);
  }
  return readdirSync(vectorsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

/** Read a case file and check it against the sha256 listed in case.json. */
function readChecked(dir: string, c: VectorCase, file: string): Buffer {
  const data = readFileSync(join(dir, file));
  const want = c.sha256[file];
  expect(want, `${file} has no sha256 in case.json`).toBeDefined();
  expect(createHash('sha256').update(data).digest('hex'), `${dir}/${file} sha256`).toBe(want);
  return data;
}

function sourceBlock(k: number, e: number): Uint8Array {
  const out = new Uint8Array(k * e);
  for (let i = 0; i < k; i++) for (let b = 0; b < e; b++) out[i * e + b] = (i * 31 + b * 7 + 1) & 0xff;
  return out;
}

function planFor(c: VectorCase): BlockPlan {
  const plan = ldpcStaircase.partition({
    encodingId: 3,
    transferLength: c.k * c.E,
    symbolSize: c.E,
    maxSourceBlockLength: c.k,
    maxEncodingSymbols: c.n,
    n1m3: c.N1 - 3,
    seed: c.prng_seed,
  });
  expect(plan.blocks).toHaveLength(1);
  expect(plan.blocks[0]!.n).toBe(c.n);
  return plan;
}

describe('RFC 5170 PRNG (§5.7)', () => {
  it('seed 1 gives 1043618065 as the 10,000th value', () => {
    const prng = new ParkMiller(1);
    let v = 0;
    for (let i = 0; i < 10000; i++) v = prng.nextRaw();
    expect(v).toBe(1043618065);
  });
});

describe('LDPC-Staircase vectors', () => {
  for (const name of caseDirs()) {
    const dir = join(vectorsDir, name);
    const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as VectorCase;

    it(`${name}: matrix and repair symbols`, () => {
      const m = buildMatrix(c.k, c.n, c.N1, c.prng_seed);
      expect(m.fallbackPlacements).toBe(c.main_loop_fallback_placements);
      expect(m.rowfixAdded).toBe(c.rowfix_entries_added);
      expect(m.rowStart[m.rows]).toBe(c.left_side_entries_total);
      if (c.matrix_file !== undefined) {
        const j = JSON.parse(readChecked(dir, c, c.matrix_file).toString('utf8')) as { rows: number; cols: number; entries: [number, number][] };
        expect([j.rows, j.cols]).toEqual([c.n - c.k, c.k]);
        const ours: [number, number][] = [];
        for (let r = 0; r < m.rows; r++) for (let x = m.rowStart[r]!; x < m.rowStart[r + 1]!; x++) ours.push([r, m.rowCols[x]!]);
        expect(ours).toEqual(j.entries);
      }
      const plan = planFor(c);
      const repair = readChecked(dir, c, c.repair_file);
      for (const { label, native } of paths) {
        const enc = ldpcStaircase.createEncoder(plan, 0, sourceBlock(c.k, c.E), { native });
        const ours = new Uint8Array((c.n - c.k) * c.E);
        for (let esi = c.k; esi < c.n; esi++) ours.set(enc.symbol(esi), (esi - c.k) * c.E);
        expect(Buffer.compare(Buffer.from(ours), repair), `${label}: repair.bin differs`).toBe(0);
      }
    });

    it(`${name}: ${c.decoding_cases.length} decoding cases, iterative and ML`, () => {
      const plan = planFor(c);
      const e = c.E;
      const source = sourceBlock(c.k, e);
      const repair = readChecked(dir, c, c.repair_file);
      const symbolOf = (esi: number): Uint8Array =>
        esi < c.k ? source.subarray(esi * e, (esi + 1) * e) : new Uint8Array(repair.buffer, repair.byteOffset + (esi - c.k) * e, e);
      for (const d of c.decoding_cases) {
        const raw = readChecked(dir, c, d.received_file);
        expect(raw.length).toBe(d.received_count * 4);
        const esis = Array.from({ length: d.received_count }, (_, i) => raw.readUInt32LE(i * 4));
        const bitmap = readChecked(dir, c, d.iterative.known_source_bitmap_file);

        for (const { label, native } of paths) {
          const at = `${label} ${d.name}`;
          const it = ldpcStaircase.createDecoder(plan, 0, { native, iterativeOnly: true });
          for (const esi of esis) it.push(esi, symbolOf(esi));
          expect(it.progress().complete, `${at} iterative complete`).toBe(d.iterative.complete);
          expect(it.progress().knownSource, `${at} iterative known`).toBe(d.iterative.source_symbols_known);
          expect(Buffer.from(it.knownBitmap()).equals(bitmap), `${at} iterative bitmap`).toBe(true);
          if (d.iterative.complete) expect(Buffer.from(it.sourceBlock()).equals(Buffer.from(source)), `${at} iterative data`).toBe(true);

          const ml = ldpcStaircase.createDecoder(plan, 0, { native });
          for (const esi of esis) ml.push(esi, symbolOf(esi));
          expect(ml.finish(), `${at} ML complete`).toBe(d.ml.complete);
          expect(ml.progress().received).toBe(d.received_count);
          if (d.ml.complete) expect(Buffer.from(ml.sourceBlock()).equals(Buffer.from(source)), `${at} ML data`).toBe(true);
        }
      }
    });
  }
});
