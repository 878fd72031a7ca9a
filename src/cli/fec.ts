// What the `fcast fec` commands share: one code instance (one source block) from flags, checked
// with clear reasons (RFC 5170 §4.2 ranges; RFC 5445 for No-Code), the single-block plan, and
// exact-size file reading. Shell code: files live here, never in codecs/.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { ldpcStaircase } from '../../codecs/ldpc-staircase/scheme.js';
import { noCode } from '../../codecs/nocode/scheme.js';
import type { BlockPlan, FecOti, FecScheme } from '../../codecs/types.js';
import { FcastError, LocalProtocolError } from '../errors.js';

export const FEC_SCHEMES = ['ldpc-staircase', 'nocode'] as const;
export type FecSchemeName = (typeof FEC_SCHEMES)[number];

/** One code instance: a single source block of k symbols of E bytes (n = k for No-Code). */
export interface FecCode {
  readonly scheme: FecSchemeName;
  readonly k: number;
  readonly n: number;
  /** LDPC only (0 for No-Code). */
  readonly n1: number;
  /** LDPC only (0 for No-Code). */
  readonly seed: number;
  readonly symbolSize: number;
}

/** Flag values as typed (strings, so that a malformed number gets our message, not the parser's). */
export interface FecCodeFlags {
  readonly scheme: string;
  readonly k: string;
  readonly n?: string | undefined;
  readonly n1: string;
  readonly seed: string;
  readonly 'symbol-size': string;
}

/** A decimal integer flag, or USAGE (exit 2) naming the flag. */
export function intFlag(name: string, value: string): number {
  if (!/^-?[0-9]{1,16}$/.test(value.trim())) throw new LocalProtocolError('USAGE', `--${name} ${JSON.stringify(value)}: expected an integer`);
  return Number(value.trim());
}

/** Flags naming one code instance, shared by `fec encode` and `fec decode`. */
export const codeFlags = {
  scheme: Flags.string({ description: 'FEC scheme.', options: [...FEC_SCHEMES], default: 'ldpc-staircase' }),
  k: Flags.string({ description: 'Source symbols in the block.', required: true }),
  n: Flags.string({ description: 'Encoding symbols in the block (source + repair; LDPC-Staircase).' }),
  n1: Flags.string({ description: 'LDPC N1: 1s per source column, 3..10.', default: '3' }),
  seed: Flags.string({ description: 'LDPC PRNG seed, 1..2147483646.', default: '1' }),
  'symbol-size': Flags.string({ description: 'Encoding symbol length E in bytes, 1..65535.', required: true }),
  native: Flags.boolean({ description: 'Use the native kernels when the addon is loaded (--no-native: TypeScript only).', default: true, allowNo: true }),
};

/** Largest block the codecs accept (the LDPC codec's 2^20 bound on n). */
const MAX_SYMBOLS = 1 << 20;
const SEED_MAX = 0x7ffffffe;

function bad(reason: string): never {
  throw new LocalProtocolError('FEC_PARAMS', reason);
}

function intIn(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isSafeInteger(v) || v < lo || v > hi) bad(`${name}=${v} is not an integer in ${lo}..${hi}`);
  return v;
}

/** Check the flags of a code instance; throws FEC_PARAMS (exit 2) with the first reason found. */
export function fecCode(flags: FecCodeFlags): FecCode {
  const scheme = FEC_SCHEMES.find((s) => s === flags.scheme);
  if (scheme === undefined) throw new LocalProtocolError('USAGE', `--scheme ${flags.scheme}: expected ${FEC_SCHEMES.join(' or ')}`);
  const k = intIn('k', intFlag('k', flags.k), 1, MAX_SYMBOLS);
  const symbolSize = intIn('symbol size', intFlag('symbol-size', flags['symbol-size']), 1, 0xffff);
  const n = flags.n === undefined ? undefined : intFlag('n', flags.n);
  if (scheme === 'nocode') {
    if (n !== undefined && n !== k) bad(`n=${n}: No-Code has no repair symbols, n is k`);
    return { scheme, k, n: k, n1: 0, seed: 0, symbolSize };
  }
  if (n === undefined) throw new LocalProtocolError('USAGE', '--n is required for ldpc-staircase');
  if (n <= k) bad(`n=${n} must be greater than k=${k}`);
  intIn('n', n, k + 1, MAX_SYMBOLS);
  const n1 = intIn('N1', intFlag('n1', flags.n1), 3, 10);
  if (n1 > n - k) bad(`N1=${n1} is more than n-k=${n - k} repair symbols`);
  const seed = intIn('seed', intFlag('seed', flags.seed), 1, SEED_MAX);
  return { scheme, k, n, n1, seed, symbolSize };
}

/** The OTI of an object that is exactly this one block (L = k·E, B = k, max_n = n). */
export function otiOf(code: FecCode): FecOti {
  const base = { transferLength: code.k * code.symbolSize, symbolSize: code.symbolSize, maxSourceBlockLength: code.k };
  if (code.scheme === 'nocode') return { encodingId: 0, ...base };
  return { encodingId: 3, ...base, maxEncodingSymbols: code.n, n1m3: code.n1 - 3, symbolsPerPacket: 1, seed: code.seed };
}

export function schemeOf(code: FecCode): FecScheme {
  return code.scheme === 'nocode' ? noCode : ldpcStaircase;
}

/** The scheme's plan for the one-block object; the codec re-validates the OTI itself. */
export function planOf(code: FecCode): BlockPlan {
  const scheme = schemeOf(code);
  scheme.validate(otiOf(code));
  const plan = scheme.partition(otiOf(code));
  const block = plan.blocks[0];
  if (plan.blocks.length !== 1 || block === undefined || block.k !== code.k || block.n !== code.n) {
    throw new FcastError('INTERNAL', 'internal', `one-block plan for k=${code.k} n=${code.n} came out as ${JSON.stringify(plan.blocks)}`);
  }
  return plan;
}

function inputError(path: string, e: unknown): never {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'EACCES') {
    throw new LocalProtocolError('INPUT_FILE', `${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  }
  throw e;
}

/**
 * Read a whole input file whose size must satisfy `check` (given the size, returns a reason or
 * undefined). The size is checked before anything is allocated; INPUT_FILE (exit 5) otherwise.
 */
export function readInput(path: string, check: (size: number) => string | undefined): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return inputError(path, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LocalProtocolError('INPUT_FILE', `${path}: not a regular file`);
    const reason = check(st.size);
    if (reason !== undefined) throw new LocalProtocolError('INPUT_FILE', `${path}: ${reason}`);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < buf.length) {
      const got = readSync(fd, buf, off, buf.length - off, off);
      if (got === 0) throw new LocalProtocolError('INPUT_FILE', `${path}: shrank while being read`);
      off += got;
    }
    return buf;
  } catch (e) {
    return inputError(path, e);
  } finally {
    closeSync(fd);
  }
}

