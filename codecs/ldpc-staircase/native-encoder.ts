// The native LDPC-Staircase encoder (RFC 5170 §6.3) behind the BlockEncoder interface:
// native/src/fec_code.cc EncodeRepair computes all n−k repair symbols in ESI order, reading the
// source symbols where they are. encoder.ts stays the reference and the TypeScript path.
import { LocalProtocolError } from '../../src/errors.js';
import type { BlockEncoder, SourceBlock } from '../types.js';
import { sourceSymbol } from './encoder.js';
import { rethrow, type NativeCode, type NativeCodec } from './native-code.js';

/**
 * Repair symbols of a block into `repair` ((n−k)·E bytes, overwritten). `source` holds the
 * block's bytes (its short last symbol is coded zero-padded).
 */
export function encodeRepairNative(codec: NativeCodec, code: NativeCode, block: SourceBlock, symbolSize: number, source: Uint8Array, repair: Uint8Array): void {
  const { k, n } = block;
  if (source.length !== block.length || block.length <= (k - 1) * symbolSize || block.length > k * symbolSize) {
    throw new LocalProtocolError('FEC_SYMBOL_SIZE', `block ${block.sbn} source is ${source.length} bytes, expected ${block.length}`);
  }
  if (repair.length !== (n - k) * symbolSize) {
    throw new LocalProtocolError('FEC_SYMBOL_SIZE', `repair buffer of ${repair.length} bytes, expected ${(n - k) * symbolSize}`);
  }
  try {
    codec.encodeRepair(code, symbolSize, source, repair);
  } catch (e) {
    rethrow(e, false);
  }
}

/**
 * Repair buffers of disposed encoders, for the next block's encoder of the same (n−k)·E. A
 * carousel cycle encodes each block once into a fresh ~0.7 MB buffer (k 1000, E 1400): without
 * reuse every further cycle (push --cycles N, on-demand) allocated them all again, external
 * memory that drives V8's mark-compacts. Capped, so an idle process keeps at most this many.
 * The encoder writes every byte of a buffer it takes (EncodeRepair), so old contents never leak.
 */
const SPARE_REPAIR_BUFFERS = 16;
const spareRepair: Uint8Array[] = [];

function takeRepairBuffer(length: number): Uint8Array {
  for (let i = spareRepair.length - 1; i >= 0; i--) {
    const b = spareRepair[i]!;
    if (b.length !== length) continue;
    spareRepair[i] = spareRepair[spareRepair.length - 1]!;
    spareRepair.pop();
    return b;
  }
  return new Uint8Array(length);
}

function giveRepairBuffer(b: Uint8Array): void {
  if (spareRepair.length < SPARE_REPAIR_BUFFERS) spareRepair.push(b);
}

export class NativeLdpcEncoder implements BlockEncoder {
  private repair: Uint8Array | undefined;

  constructor(
    readonly block: SourceBlock,
    private readonly symbolSize: number,
    private readonly source: Uint8Array,
    private readonly codec: NativeCodec,
    private readonly code: () => NativeCode,
  ) {}

  symbol(esi: number): Uint8Array {
    const { k, n } = this.block;
    const e = this.symbolSize;
    const own = sourceSymbol(this.block, e, this.source, esi);
    if (own !== undefined) return own;
    if (this.repair === undefined) {
      const repair = takeRepairBuffer((n - k) * e);
      try {
        encodeRepairNative(this.codec, this.code(), this.block, e, this.source, repair);
      } catch (err) {
        giveRepairBuffer(repair);
        throw err;
      }
      this.repair = repair;
    }
    return this.repair.subarray((esi - k) * e, (esi - k + 1) * e);
  }

  /**
   * The repair buffer goes back for another block's encoder: a repair symbol returned before
   * this call is a view of it and must not be read after (every caller copies it into its
   * datagram at once). The encoder stays usable: a later repair symbol is encoded again.
   */
  dispose(): void {
    if (this.repair !== undefined) giveRepairBuffer(this.repair);
    this.repair = undefined;
  }
}
