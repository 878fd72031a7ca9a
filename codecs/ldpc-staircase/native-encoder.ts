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
      const repair = new Uint8Array((n - k) * e);
      encodeRepairNative(this.codec, this.code(), this.block, e, this.source, repair);
      this.repair = repair;
    }
    return this.repair.subarray((esi - k) * e, (esi - k + 1) * e);
  }

  dispose(): void {
    this.repair = undefined;
  }
}
