// The receiver's native fast path for one object (native/src/fec_codec_addon.cc LdpcRecvFast):
// the blocks whose hot decoder is a NativeLdpcDecoder are registered with their `seen` bitmaps,
// and run() takes a receive batch's common datagrams (the remembered header, an E-byte symbol of
// a registered block, or a duplicate) in C++: bit set in `seen`, symbol pushed into its decoder,
// no JavaScript per datagram. src/assembly/receiver.ts ("Native fast path") is the only caller
// and applies each run's record (counts, new ESIs per block) itself. RFC 5170 §6.1 (payload ID),
// RFC 5775 §4.4 (the receiver's steps the remembered header stands for).
import type { BlockDecoder } from '../types.js';
import { rethrow, nativeCodec, type NativeDecoderHandle } from './native-code.js';
import { NativeLdpcDecoder } from './native-decoder.js';

/** The addon's object (its checks are the second line; the arguments are checked here first). */
interface NativeRecvFast {
  hot(sbn: number, decoder: NativeDecoderHandle, seen: Uint8Array): boolean;
  cold(sbn: number): void;
  receiving(flag: boolean): void;
  run(
    data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, from: number, count: number,
    header: Uint8Array, cciEnd: number, esiBits: number, out: Uint32Array,
  ): number;
}

type NativeRecvFastClass = new (ns: Uint32Array, symbolSize: number, done: Uint8Array) => NativeRecvFast;

/** Words of a run's record: packets, bytes, duplicates, blocks; then per block sbn, m, m ESIs. */
export const FAST_HEAD = 4;

export class RecvFastTable {
  /** The last run's record (valid until the next run). */
  out = new Uint32Array(FAST_HEAD + 3 * 1024);
  private readonly blocks: number;

  private constructor(private readonly handle: NativeRecvFast, blocks: number) {
    this.blocks = blocks;
  }

  /**
   * A table for an object of `ns.length` blocks (n per block) and symbol size E, whose `done`
   * bitmap (bit per block, kept by the caller) the addon reads; undefined without the addon.
   */
  static create(ns: Uint32Array, symbolSize: number, done: Uint8Array): RecvFastTable | undefined {
    const cls = nativeCodec() as unknown as { LdpcRecvFast?: NativeRecvFastClass } | undefined;
    const Fast = cls?.LdpcRecvFast;
    if (typeof Fast !== 'function' || ns.length < 1 || done.length < (ns.length + 7) >>> 3) return undefined;
    try {
      return new RecvFastTable(new Fast(ns, symbolSize, done), ns.length);
    } catch (e) {
      rethrow(e, false);
    }
  }

  /**
   * Register block `sbn`'s hot decoder and its `seen` bitmap (ceil(n/8) bytes): false when the
   * decoder is not native (or not of this block's shape); the block then stays on the TS path.
   */
  hot(sbn: number, decoder: BlockDecoder, seen: Uint8Array): boolean {
    if (!(decoder instanceof NativeLdpcDecoder) || !this.valid(sbn)) return false;
    return this.handle.hot(sbn, decoder.nativeHandle(), seen);
  }

  cold(sbn: number): void {
    if (this.valid(sbn)) this.handle.cold(sbn);
  }

  /** false: the object is no longer receiving (decoded, verified, rejected): every symbol is a duplicate. */
  receiving(flag: boolean): void {
    this.handle.receiving(flag);
  }

  /**
   * Datagrams `from` .. `count - 1` of a batch (i at data[offsets[i], + lengths[i])), while each
   * is the common case for `header` (see the header comment); returns the index of the first one
   * it did not take (`count` when it took all). Its record is in `out`.
   */
  run(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, from: number, count: number, header: Uint8Array, cciEnd: number, esiBits: number): number {
    const need = FAST_HEAD + 3 * (count - from);
    if (this.out.length < need) this.out = new Uint32Array(need);
    return this.handle.run(data, offsets, lengths, from, count, header, cciEnd, esiBits, this.out);
  }

  private valid(sbn: number): boolean {
    return Number.isInteger(sbn) && sbn >= 0 && sbn < this.blocks;
  }
}
