// Compact No-Code FEC, FEC Encoding ID 0 (RFC 5445 §3): no repair symbols; ESI Y of a block is
// bytes [Y·E, (Y+1)·E) of it (§3.4.1). Partitioning is RFC 5052 §9.1 (§3.3). Limits from the
// 16-bit SBN and ESI of the FEC Payload ID (§3.2.1; SPEC-NOTES §7 row 17).
import { LocalProtocolError, RemoteProtocolError } from '../../src/errors.js';
import { pushEach } from '../push-batch.js';
import { MAX_BLOCK_BYTES, partitionBlocks, partitionCounts } from '../partition.js';
import type { BlockDecoder, BlockEncoder, BlockPlan, DecoderOptions, DecoderProgress, FecOti, FecScheme, SourceBlock } from '../types.js';

const MAX_BLOCK = 1 << 16;
const MAX_BLOCKS = 1 << 16;
const MAX_TRANSFER_LENGTH = 2 ** 48;

function bad(reason: string): never {
  throw new LocalProtocolError('FEC_PARAMS', reason);
}

function isUint(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

function validate(oti: FecOti): void {
  if (oti.encodingId !== 0) bad(`encoding ID ${oti.encodingId} is not Compact No-Code (0)`);
  const { transferLength: l, symbolSize: e, maxSourceBlockLength: b } = oti;
  if (!isUint(l) || l >= MAX_TRANSFER_LENGTH) bad(`transfer length ${l} is not an integer in 0..2^48-1`);
  if (!isUint(e) || e > 0xffff) bad(`symbol size E=${e} is not in 0..65535`);
  if (!isUint(b) || b > MAX_BLOCK) bad(`max source block length B=${b} is not in 0..65536 (16-bit ESI)`);
  if (l === 0) return;
  if (e === 0) bad('symbol size E=0 with a non-empty object');
  if (b === 0) bad('max source block length B=0 with a non-empty object');
  const p = partitionCounts(l, e, b);
  if (p.blockCount > MAX_BLOCKS) bad(`${p.blockCount} source blocks exceed the 16-bit SBN (65536)`);
  if (p.largeK * e > MAX_BLOCK_BYTES) bad(`a block of ${p.largeK} symbols of ${e} bytes exceeds the ${MAX_BLOCK_BYTES}-byte codec limit`);
}

function blockOf(plan: BlockPlan, sbn: number): SourceBlock {
  const block = Number.isInteger(sbn) ? plan.blocks[sbn] : undefined;
  if (block === undefined) throw new LocalProtocolError('FEC_SBN', `SBN ${sbn} outside 0..${plan.blocks.length - 1}`);
  return block;
}

class NoCodeEncoder implements BlockEncoder {
  constructor(
    readonly block: SourceBlock,
    private readonly e: number,
    private readonly source: Uint8Array,
  ) {}

  symbol(esi: number): Uint8Array {
    const { k } = this.block;
    const e = this.e;
    if (!Number.isInteger(esi) || esi < 0 || esi >= k) {
      throw new LocalProtocolError('FEC_ESI', `ESI ${esi} outside 0..${k - 1} of block ${this.block.sbn}`);
    }
    if ((esi + 1) * e <= this.source.length) return this.source.subarray(esi * e, (esi + 1) * e);
    const padded = new Uint8Array(e);
    padded.set(this.source.subarray(esi * e));
    return padded;
  }

  dispose(): void {
    // Nothing is cached: every symbol is a view of the caller's block.
  }
}

class NoCodeDecoder implements BlockDecoder {
  private arena: Uint8Array | undefined;
  private readonly have: Uint8Array;
  private received = 0;

  constructor(
    readonly block: SourceBlock,
    private readonly e: number,
    arena: Uint8Array | undefined,
  ) {
    this.have = new Uint8Array(block.k);
    if (arena !== undefined) {
      if (arena.length < block.k * e) throw new LocalProtocolError('FEC_PARAMS', `arena of ${arena.length} bytes, block needs ${block.k * e}`);
      this.arena = arena.subarray(0, block.k * e);
    }
  }

  push(esi: number, symbol: Uint8Array): boolean {
    const { k, length, sbn } = this.block;
    const e = this.e;
    if (!Number.isInteger(esi) || esi < 0 || esi >= k) {
      throw new RemoteProtocolError('FEC_ESI', `ESI ${esi} outside 0..${k - 1} of block ${sbn}`);
    }
    const shortLen = length - (k - 1) * e;
    if (symbol.length !== e && !(esi === k - 1 && symbol.length === shortLen)) {
      throw new RemoteProtocolError('FEC_SYMBOL_SIZE', `ESI ${esi}: ${symbol.length} bytes, expected ${e}`);
    }
    if (this.have[esi] === 1) return false;
    this.have[esi] = 1;
    this.received++;
    this.arena ??= new Uint8Array(k * e);
    this.arena.set(symbol, esi * e);
    return true;
  }

  pushBatch(esis: Uint32Array, data: Uint8Array, offsets: Uint32Array, count: number): number {
    return pushEach(this, this.e, esis, data, offsets, count);
  }

  progress(): DecoderProgress {
    return { received: this.received, knownSource: this.received, complete: this.received === this.block.k };
  }

  finish(): boolean {
    return this.received === this.block.k;
  }

  heldSymbol(esi: number): Uint8Array | undefined {
    const { k, length } = this.block;
    if (this.received === k || this.have[esi] !== 1 || this.arena === undefined) return undefined;
    return this.arena.subarray(esi * this.e, Math.min(length, (esi + 1) * this.e));
  }

  sourceBlock(): Uint8Array {
    if (this.received !== this.block.k) {
      throw new LocalProtocolError('FEC_NOT_DECODABLE', `block ${this.block.sbn} is not complete`);
    }
    return (this.arena ?? new Uint8Array(0)).subarray(0, this.block.length);
  }

  knownBitmap(): Uint8Array {
    const bits = new Uint8Array((this.block.k + 7) >>> 3);
    for (let i = 0; i < this.block.k; i++) if (this.have[i] === 1) bits[i >>> 3]! |= 1 << (i & 7);
    return bits;
  }
}

export const noCode: FecScheme = {
  encodingId: 0,
  name: 'nocode',
  validate,
  partition(oti) {
    validate(oti);
    return { oti, blocks: partitionBlocks(oti, (k) => k) };
  },
  createEncoder(plan, sbn, source) {
    const block = blockOf(plan, sbn);
    if (source.length !== block.length) {
      throw new LocalProtocolError('FEC_SYMBOL_SIZE', `block ${sbn} source is ${source.length} bytes, expected ${block.length}`);
    }
    return new NoCodeEncoder(block, plan.oti.symbolSize, source);
  },
  createDecoder(plan, sbn, opts?: DecoderOptions) {
    return new NoCodeDecoder(blockOf(plan, sbn), plan.oti.symbolSize, opts?.arena);
  },
};
