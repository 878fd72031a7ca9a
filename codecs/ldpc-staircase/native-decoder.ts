// The native incremental LDPC-Staircase decoder (RFC 5170 §6.4) behind the BlockDecoder interface:
// native/src/fec_decoder.cc does the peeling bookkeeping, the ML elimination and all symbol work
// in C++, so a push costs one native call, and pushBatch one call for a whole receive batch. It
// decodes exactly like decoder.ts (same acceptance, progress after every symbol, completion on the
// same symbol), which stays the reference and the TypeScript path; test/unit/fec-native.test.ts
// and the shared vectors check both.
//
// Source symbols are copied straight into the output buffer: the caller's arena when it gives one
// (DecoderOptions.arena, reused by the receiver), else one block.length buffer per decoder. Repair
// symbols go to the arena's tail (it holds n·E bytes) or else to native memory, released as soon
// as the block completes; the bookkeeping then goes back to a small native pool for the next block.
import { LocalProtocolError, RemoteProtocolError } from '../../src/errors.js';
import { checkBatch } from '../push-batch.js';
import type { BlockDecoder, DecoderProgress, SourceBlock } from '../types.js';
import { rethrow, type NativeCode, type NativeCodec, type NativeDecoderHandle } from './native-code.js';

export class NativeLdpcDecoder implements BlockDecoder {
  readonly block: SourceBlock;
  private readonly e: number;
  private readonly shortLen: number;
  private readonly handle: NativeDecoderHandle;
  private readonly out: Uint8Array;
  /** heldSymbol: the addon's held bitmap, as of `received` = heldAt. */
  private readonly held: Uint8Array;
  private heldAt = -1;
  /** The arena's tail (repair symbols), when the arena holds n·E bytes. */
  private readonly repair: Uint8Array | undefined;
  /** received, knownSource, complete: written by the addon after every call. */
  private readonly state = new Int32Array(new ArrayBuffer(12));

  /**
   * `code` must be the code of (block.k, block.n) for this OTI; `arena`, when given, holds at
   * least block.length bytes and becomes the decoded block (sourceBlock() is a view of it); when it
   * holds n·E bytes (DecoderOptions.arena's contract) its tail takes the repair symbols too.
   */
  constructor(codec: NativeCodec, code: NativeCode, block: SourceBlock, symbolSize: number, iterativeOnly: boolean, arena?: Uint8Array) {
    this.block = block;
    this.e = symbolSize;
    this.shortLen = block.length - (block.k - 1) * symbolSize;
    if (arena !== undefined && arena.length < block.length) {
      throw new LocalProtocolError('FEC_PARAMS', `arena of ${arena.length} bytes, block needs ${block.length}`);
    }
    // A fresh ArrayBuffer, never a small on-heap typed array: the addon keeps its address.
    this.out = arena?.subarray(0, block.length) ?? new Uint8Array(new ArrayBuffer(block.length));
    const { k, n } = block;
    const repair = arena !== undefined && arena.length >= n * symbolSize ? arena.subarray(k * symbolSize, n * symbolSize) : undefined;
    this.repair = repair;
    this.held = new Uint8Array((n + 7) >>> 3);
    try {
      this.handle = new codec.LdpcDecoder(code, symbolSize, block.length, iterativeOnly, this.out, this.state, repair);
    } catch (e) {
      rethrow(e, false);
    }
  }

  push(esi: number, symbol: Uint8Array): boolean {
    const { k, n } = this.block;
    if (!Number.isInteger(esi) || esi < 0 || esi >= n) {
      throw new RemoteProtocolError('FEC_ESI', `ESI ${esi} outside 0..${n - 1} of block ${this.block.sbn}`);
    }
    if (symbol.length !== this.e && !(esi === k - 1 && symbol.length === this.shortLen)) {
      throw new RemoteProtocolError('FEC_SYMBOL_SIZE', `ESI ${esi}: ${symbol.length} bytes, expected ${this.e}`);
    }
    // The addon writes into `out` (and the arena's tail) by address: never after the caller has
    // detached (transferred) that buffer, which a view reports as length 0.
    if (this.out.byteLength === 0) throw new LocalProtocolError('FEC_PARAMS', `block ${this.block.sbn}: the decoder's arena was detached`);
    try {
      return this.handle.push(esi, symbol);
    } catch (e) {
      rethrow(e, true);
    }
  }

  /** One native call for the whole batch; the addon checks every ESI and offset (typed errors). */
  pushBatch(esis: Uint32Array, data: Uint8Array, offsets: Uint32Array, count: number): number {
    checkBatch(esis, offsets, count);
    if (this.out.byteLength === 0) throw new LocalProtocolError('FEC_PARAMS', `block ${this.block.sbn}: the decoder's arena was detached`);
    try {
      return this.handle.pushBatch(esis, data, offsets, count);
    } catch (e) {
      rethrow(e, true);
    }
  }

  /** The addon's decoder object, for the receiver's native fast path (native-fast.ts) only. */
  nativeHandle(): NativeDecoderHandle {
    return this.handle;
  }

  progress(): DecoderProgress {
    const s = this.state;
    return { received: s[0]!, knownSource: s[1]!, complete: s[2] === 1 };
  }

  /** ML runs as soon as it may succeed (on push), so there is nothing left to try here. */
  finish(): boolean {
    return this.state[2] === 1;
  }

  /**
   * The addon copies a received symbol into its slot unless peeling already knew it, and runs all
   * symbol work at completion; which slots hold one is its held bitmap, read once per change of
   * `received`. The short last source symbol waits zero-padded in native memory: not shown here.
   */
  heldSymbol(esi: number): Uint8Array | undefined {
    const { k, n } = this.block;
    const e = this.e;
    if (this.state[2] === 1 || !Number.isInteger(esi) || esi < 0 || esi >= n) return undefined;
    if (this.heldAt !== this.state[0]) {
      this.handle.heldBitmap(this.held);
      this.heldAt = this.state[0]!;
    }
    if ((this.held[esi >>> 3]! & (1 << (esi & 7))) === 0) return undefined;
    if (esi >= k) return this.repair?.subarray((esi - k) * e, (esi - k + 1) * e);
    if (esi === k - 1 && this.shortLen < e) return undefined;
    return this.out.subarray(esi * e, (esi + 1) * e);
  }

  sourceBlock(): Uint8Array {
    if (this.state[2] !== 1) throw new LocalProtocolError('FEC_NOT_DECODABLE', `block ${this.block.sbn} is not complete`);
    return this.out;
  }

  knownBitmap(): Uint8Array {
    const bits = new Uint8Array((this.block.k + 7) >>> 3);
    this.handle.knownBitmap(bits);
    return bits;
  }
}
