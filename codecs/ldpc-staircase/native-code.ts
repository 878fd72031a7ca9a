// The door to the native LDPC-Staircase codec (native/src/fec_codec_addon.cc): one code object per
// (k, n, N1, seed) holding the RFC 5170 §6.2 parity-check matrix in C++, the incremental decoder
// (native-decoder.ts) and the repair encoder (native-encoder.ts). matrix.ts, decoder.ts and
// encoder.ts stay the reference and the TypeScript path; test/unit/fec-native.test.ts checks both
// paths agree. Everything is validated here before the call; the addon checks again and throws an
// Error whose message starts with the fcast code, which `rethrow` turns into a typed error.
import { FcastError, LocalProtocolError, RemoteProtocolError, isFcastError, type ErrorCode } from '../../src/errors.js';
import { getNative } from '../native.js';

/** Opaque handle of one code: the matrix lives in native memory, shared by decoders and encoders. */
export interface NativeCode {
  readonly __nativeLdpcCode: never;
  /** Let go of the matrix now (decoders using it keep it until they complete); see releaseNativeCode. */
  release(): void;
}

/** The addon's decoder object (fec_codec_addon.cc DecoderWrap). */
export interface NativeDecoderHandle {
  push(esi: number, symbol: Uint8Array): boolean;
  pushBatch(esis: Uint32Array, data: Uint8Array, offsets: Uint32Array, count: number): number;
  knownBitmap(bits: Uint8Array): void;
  heldBitmap(bits: Uint8Array): void;
}

export interface NativeCodec {
  readonly LdpcCode: new (k: number, n: number, n1: number, seed: number) => NativeCode;
  readonly LdpcDecoder: new (
    code: NativeCode, symbolSize: number, blockLength: number, iterativeOnly: boolean, out: Uint8Array, state: Int32Array, repair?: Uint8Array,
  ) => NativeDecoderHandle;
  encodeRepair(code: NativeCode, symbolSize: number, source: Uint8Array, repair: Uint8Array): void;
}

let cached: NativeCodec | null | undefined;

/** The native codec, or undefined when the addon (or a build with these classes) is not loaded. */
export function nativeCodec(): NativeCodec | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const addon = getNative();
  const code = addon?.['LdpcCode'];
  const decoder = addon?.['LdpcDecoder'];
  const encode = addon?.['encodeRepair'];
  cached = typeof code === 'function' && typeof decoder === 'function' && typeof encode === 'function' ? (addon as unknown as NativeCodec) : null;
  return cached ?? undefined;
}

/** A native error ("CODE: text") as the typed error it stands for; anything else as INTERNAL. */
export function rethrow(e: unknown, remote: boolean): never {
  if (isFcastError(e)) throw e;
  const message = e instanceof Error ? e.message : String(e);
  const code = /^([A-Z_]+): /.exec(message)?.[1];
  if (code === 'FEC_PARAMS' || code === 'FEC_ESI' || code === 'FEC_SYMBOL_SIZE') {
    const c: ErrorCode = code;
    throw remote ? new RemoteProtocolError(c, message) : new LocalProtocolError(c, message);
  }
  throw new FcastError('INTERNAL', 'internal', `native LDPC codec: ${message}`);
}

function checkCode(k: number, n: number, n1: number, seed: number): void {
  const ok = [k, n, n1, seed].every(Number.isInteger) && k >= 1 && n >= k && n <= 1 << 20 && seed >= 1 && seed <= 0x7ffffffe;
  if (!ok || (n > k && (n1 < 1 || n1 > n - k || n1 > 64))) {
    throw new LocalProtocolError('FEC_PARAMS', `LDPC code k=${k} n=${n} N1=${n1} seed=${seed}`);
  }
}

/** A freshly built code (what a cold decoder or encoder pays; `fcast fec bench` times it). */
export function buildNativeCode(codec: NativeCodec, k: number, n: number, n1: number, seed: number): NativeCode {
  checkCode(k, n, n1, seed);
  try {
    return new codec.LdpcCode(k, n, n1, seed);
  } catch (e) {
    rethrow(e, false);
  }
}

/**
 * Free a code from buildNativeCode now instead of when the GC finalises it (never one from
 * nativeCodeFor: the cache shares those). Decoders and encoders already made from it are not
 * affected; building anything else from it afterwards throws FEC_PARAMS. Finalizers run only when
 * the event loop turns, so a synchronous loop that builds a code per block (`fcast fec bench`, as
 * OpenFEC creates and releases a session per block) would otherwise hold every matrix it built.
 */
export function releaseNativeCode(code: NativeCode): void {
  code.release();
}

// Blocks of one object share (k, n) for all but one size and every block re-seeds the PRNG with
// the same seed (matrix.ts matrixFor), so the same code serves many blocks: keep the last few.
const CACHE_SIZE = 4;
const codes: Array<{ key: string; code: NativeCode }> = [];

/** buildNativeCode with a small most-recently-used cache (codes are immutable). */
export function nativeCodeFor(codec: NativeCodec, k: number, n: number, n1: number, seed: number): NativeCode {
  const key = `${k}/${n}/${n1}/${seed}`;
  const i = codes.findIndex((c) => c.key === key);
  if (i >= 0) {
    const hit = codes[i]!;
    if (i > 0) {
      codes.splice(i, 1);
      codes.unshift(hit);
    }
    return hit.code;
  }
  const code = buildNativeCode(codec, k, n, n1, seed);
  codes.unshift({ key, code });
  if (codes.length > CACHE_SIZE) codes.pop();
  return code;
}
