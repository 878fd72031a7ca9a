// LDPC-Staircase, FEC Encoding ID 3 (RFC 5170): OTI validation (§4.2.2–4.2.3, SPEC-NOTES §7
// row 19), partitioning (RFC 5052 §9.1 with the §5.5 n-algorithm), encoder and decoder.
//
// G > 1 (several symbols per packet, §5.6) is rejected with FEC_PARAMS: our senders always use
// G = 1, and the per-packet ESI permutation of §5.6 would have to live in the packet layer.
import { LocalProtocolError } from '../../src/errors.js';
import { MAX_BLOCK_BYTES, ldpcBlockN, partitionBlocks, partitionCounts } from '../partition.js';
import type { BlockDecoder, BlockEncoder, BlockPlan, DecoderOptions, EncoderOptions, FecOti, FecScheme, SourceBlock } from '../types.js';
import { LdpcDecoder } from './decoder.js';
import { LdpcEncoder } from './encoder.js';
import { tsExecutor } from './executor.js';
import { matrixFor, type LdpcMatrix } from './matrix.js';
import { nativeCodec, nativeCodeFor } from './native-code.js';
import { NativeLdpcDecoder } from './native-decoder.js';
import { NativeLdpcEncoder } from './native-encoder.js';
import { PRNG_SEED_MAX, PRNG_SEED_MIN } from './prng.js';

const MAX_N = 1 << 20;
const MAX_BLOCKS = 1 << 12;
const MAX_TRANSFER_LENGTH = 2 ** 48;

/** The LDPC-specific OTI fields, validated. */
export interface LdpcParams {
  readonly maxN: number;
  readonly n1: number;
  readonly seed: number;
}

function bad(reason: string): never {
  throw new LocalProtocolError('FEC_PARAMS', reason);
}

function isUint(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/** RFC 5170 §4.2 ranges plus what this codec needs; throws FEC_PARAMS with the reason. */
export function ldpcParams(oti: FecOti): LdpcParams {
  if (oti.encodingId !== 3) bad(`encoding ID ${oti.encodingId} is not LDPC-Staircase (3)`);
  const { transferLength: l, symbolSize: e, maxSourceBlockLength: b } = oti;
  const maxN = oti.maxEncodingSymbols;
  const n1m3 = oti.n1m3 ?? 0;
  const g = oti.symbolsPerPacket ?? 1;
  const seed = oti.seed;
  if (!isUint(l) || l >= MAX_TRANSFER_LENGTH) bad(`transfer length ${l} is not an integer in 0..2^48-1`);
  if (!isUint(e) || e < 1 || e > 0xffff) bad(`symbol size E=${e} is not in 1..65535`);
  if (!isUint(b) || b < 1 || b > MAX_N) bad(`max source block length B=${b} is not in 1..2^20`);
  if (maxN === undefined || !isUint(maxN) || maxN > MAX_N) bad(`max_n=${String(maxN)} is not in 0..2^20`);
  if (maxN < b) bad(`max_n=${maxN} is smaller than B=${b}`);
  if (!isUint(n1m3) || n1m3 > 7) bad(`N1m3=${n1m3} is not in 0..7`);
  if (!isUint(g) || g < 1 || g > 31) bad(`G=${g} is not in 1..31`);
  if (g !== 1) bad(`G=${g}: several symbols per packet (RFC 5170 §5.6) are not supported, only G=1`);
  if (seed === undefined || !isUint(seed) || seed < PRNG_SEED_MIN || seed > PRNG_SEED_MAX) {
    bad(`PRNG seed ${String(seed)} is not in 1..0x7FFFFFFE`);
  }
  if (l > 2 ** 12 * b * e) bad(`transfer length ${l} exceeds 2^12*B*E = ${2 ** 12 * b * e}`);
  const n1 = n1m3 + 3;
  const p = partitionCounts(l, e, b);
  if (p.blockCount > MAX_BLOCKS) bad(`${p.blockCount} source blocks exceed the 12-bit SBN (4096)`);
  // Every block needs N1 distinct equations per source column, or none at all (n = k).
  for (const k of p.blockCount === 0 ? [] : [p.largeK, p.smallK]) {
    const repair = ldpcBlockN(k, maxN, b) - k;
    if (repair > 0 && repair < n1) bad(`a block of k=${k} gets n-k=${repair} repair symbols, fewer than N1=${n1}`);
    if ((k + repair) * e > MAX_BLOCK_BYTES) bad(`a block of n=${k + repair} symbols of ${e} bytes exceeds the ${MAX_BLOCK_BYTES}-byte codec limit`);
  }
  return { maxN, n1, seed };
}

function blockOf(plan: BlockPlan, sbn: number): SourceBlock {
  const block = Number.isInteger(sbn) ? plan.blocks[sbn] : undefined;
  if (block === undefined) throw new LocalProtocolError('FEC_SBN', `SBN ${sbn} outside 0..${plan.blocks.length - 1}`);
  return block;
}

function matrixOf(plan: BlockPlan, block: SourceBlock): LdpcMatrix {
  const p = ldpcParams(plan.oti);
  return matrixFor(block.k, block.n, p.n1, p.seed);
}

export const ldpcStaircase: FecScheme = {
  encodingId: 3,
  name: 'ldpc-staircase',
  validate(oti) {
    ldpcParams(oti);
  },
  partition(oti) {
    const p = ldpcParams(oti);
    return { oti, blocks: partitionBlocks(oti, (k) => ldpcBlockN(k, p.maxN, oti.maxSourceBlockLength)) };
  },
  createEncoder(plan, sbn, source, opts?: EncoderOptions): BlockEncoder {
    const block = blockOf(plan, sbn);
    if (source.length !== block.length) {
      throw new LocalProtocolError('FEC_SYMBOL_SIZE', `block ${sbn} source is ${source.length} bytes, expected ${block.length}`);
    }
    // The native codec when the addon has it, unless `native: false` asks for TypeScript.
    const codec = opts?.native === false ? undefined : nativeCodec();
    if (codec !== undefined) {
      const p = ldpcParams(plan.oti);
      return new NativeLdpcEncoder(block, plan.oti.symbolSize, source, codec, () => nativeCodeFor(codec, block.k, block.n, p.n1, p.seed));
    }
    return new LdpcEncoder(block, plan.oti.symbolSize, source, () => matrixOf(plan, block), tsExecutor);
  },
  createDecoder(plan, sbn, opts?: DecoderOptions): BlockDecoder {
    const block = blockOf(plan, sbn);
    const codec = opts?.native === false ? undefined : nativeCodec();
    if (codec !== undefined) {
      const p = ldpcParams(plan.oti);
      const code = nativeCodeFor(codec, block.k, block.n, p.n1, p.seed);
      return new NativeLdpcDecoder(codec, code, block, plan.oti.symbolSize, opts?.iterativeOnly ?? false, opts?.arena);
    }
    return new LdpcDecoder({
      block,
      symbolSize: plan.oti.symbolSize,
      matrix: matrixOf(plan, block),
      executor: tsExecutor,
      iterativeOnly: opts?.iterativeOnly ?? false,
      ...(opts?.arena === undefined ? {} : { arena: opts.arena }),
    });
  },
};
