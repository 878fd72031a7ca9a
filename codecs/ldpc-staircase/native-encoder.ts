// The native LDPC-Staircase encoder (RFC 5170 §6.3) behind the BlockEncoder interface:
// native/src/fec_code.cc EncodeRepair computes all n−k repair symbols in ESI order, reading the
// source symbols where they are, on the calling thread (symbol()) or on libuv's thread pool
// (encodeAhead()). encoder.ts stays the reference and the TypeScript path.
import { FcastError, LocalProtocolError } from '../../src/errors.js';
import type { BlockEncoder, SourceBlock } from '../types.js';
import { sourceSymbol } from './encoder.js';
import { rethrow, type NativeCode, type NativeCodec } from './native-code.js';

/**
 * Repair symbols of a block into `repair` ((n−k)·E bytes, overwritten). `source` holds the
 * block's bytes (its short last symbol is coded zero-padded).
 */
export function encodeRepairNative(codec: NativeCodec, code: NativeCode, block: SourceBlock, symbolSize: number, source: Uint8Array, repair: Uint8Array): void {
  checkBuffers(block, symbolSize, source, repair);
  try {
    codec.encodeRepair(code, symbolSize, source, repair);
  } catch (e) {
    rethrow(e, false);
  }
}

function checkBuffers(block: SourceBlock, symbolSize: number, source: Uint8Array, repair: Uint8Array): void {
  const { k, n } = block;
  if (source.length !== block.length || block.length <= (k - 1) * symbolSize || block.length > k * symbolSize) {
    throw new LocalProtocolError('FEC_SYMBOL_SIZE', `block ${block.sbn} source is ${source.length} bytes, expected ${block.length}`);
  }
  if (repair.length !== (n - k) * symbolSize) {
    throw new LocalProtocolError('FEC_SYMBOL_SIZE', `repair buffer of ${repair.length} bytes, expected ${(n - k) * symbolSize}`);
  }
}

/**
 * encodeRepairNative on libuv's thread pool (the addon's encodeRepairAsync; a build without it
 * encodes here, synchronously). Resolves when `repair` holds every repair symbol; rejects with
 * the typed error of a bad call. Until then `source` must not change and `repair` is not ready.
 */
export function encodeRepairNativeAsync(codec: NativeCodec, code: NativeCode, block: SourceBlock, symbolSize: number, source: Uint8Array, repair: Uint8Array): Promise<void> {
  const run = codec.encodeRepairAsync;
  if (run === undefined) {
    return new Promise((resolve) => {
      encodeRepairNative(codec, code, block, symbolSize, source, repair);
      resolve();
    });
  }
  return new Promise((resolve, reject) => {
    checkBuffers(block, symbolSize, source, repair);
    try {
      run(code, symbolSize, source, repair, (err) => {
        if (err === null) resolve();
        else reject(typed(err));
      });
    } catch (e) {
      rethrow(e, false);
    }
  });
}

/** rethrow's typed error, as a value for a rejection. */
function typed(e: unknown): unknown {
  try {
    rethrow(e, false);
  } catch (t) {
    return t;
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
  /** An encodeAhead in flight: its buffer is the pool thread's until it settles. */
  private pending: Promise<void> | undefined;
  /** dispose() came while `pending` ran: its buffer goes back, not into `repair`, when it settles. */
  private dropPending = false;

  /** `given`: the caller's repair buffer (EncoderOptions.repair), else one from the spares here. */
  constructor(
    readonly block: SourceBlock,
    private readonly symbolSize: number,
    private readonly source: Uint8Array,
    private readonly codec: NativeCodec,
    private readonly code: () => NativeCode,
    private readonly given?: Uint8Array,
  ) {}

  symbol(esi: number): Uint8Array {
    const { k } = this.block;
    const e = this.symbolSize;
    const own = sourceSymbol(this.block, e, this.source, esi);
    if (own !== undefined) return own;
    if (this.pending !== undefined) throw new FcastError('INTERNAL', 'internal', `repair symbol ${esi} of block ${this.block.sbn} asked while encodeAhead runs`);
    if (this.repair === undefined) {
      const repair = this.takeBuffer();
      try {
        encodeRepairNative(this.codec, this.code(), this.block, e, this.source, repair);
      } catch (err) {
        this.giveBuffer(repair);
        throw err;
      }
      this.repair = repair;
    }
    return this.repair.subarray((esi - k) * e, (esi - k + 1) * e);
  }

  encodeAhead(): Promise<void> {
    if (this.repair !== undefined) return Promise.resolve();
    if (this.pending !== undefined) {
      this.dropPending = false;
      return this.pending;
    }
    const repair = this.takeBuffer();
    let started: Promise<void>;
    try {
      started = encodeRepairNativeAsync(this.codec, this.code(), this.block, this.symbolSize, this.source, repair);
    } catch (err) {
      this.giveBuffer(repair);
      return Promise.reject(err);
    }
    this.dropPending = false;
    const settle = (ok: boolean): void => {
      this.pending = undefined;
      if (ok && !this.dropPending) this.repair = repair;
      else this.giveBuffer(repair);
      this.dropPending = false;
    };
    this.pending = started.then(
      () => settle(true),
      (err: unknown) => {
        settle(false);
        throw err;
      },
    );
    return this.pending;
  }

  /**
   * The repair buffer goes back for another block's encoder (or to the caller that gave it): a
   * repair symbol returned before this call is a view of it and must not be read after (every
   * caller copies it into its datagram at once). During an encodeAhead it goes back when that
   * settles. The encoder stays usable: a later repair symbol is encoded again.
   */
  dispose(): void {
    if (this.pending !== undefined) this.dropPending = true;
    if (this.repair !== undefined) this.giveBuffer(this.repair);
    this.repair = undefined;
  }

  private takeBuffer(): Uint8Array {
    return this.given ?? takeRepairBuffer((this.block.n - this.block.k) * this.symbolSize);
  }

  /** Only this module's spares go back to the pool; a given buffer is the caller's again. */
  private giveBuffer(b: Uint8Array): void {
    if (b !== this.given) giveRepairBuffer(b);
  }
}
