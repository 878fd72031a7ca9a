// dst ^= src over dst.length bytes: the one GF(2) primitive every codec builds on.
// Native (SIMD) when the addon is loaded; otherwise 64-bit or 32-bit words in TypeScript.
import { LocalProtocolError } from '../src/errors.js';
import { getNative } from './native.js';

/** Pure TypeScript XOR, the reference and the fallback. */
export function xorIntoTs(dst: Uint8Array, src: Uint8Array): void {
  const len = dst.length;
  let i = 0;
  // Word-wide when both views are aligned (the common case for our symbol buffers); V8 compiles
  // BigUint64Array XOR to plain 64-bit XORs in optimised code.
  if ((dst.byteOffset & 7) === 0 && (src.byteOffset & 7) === 0) {
    const words = len >>> 3;
    const d64 = new BigUint64Array(dst.buffer, dst.byteOffset, words);
    const s64 = new BigUint64Array(src.buffer, src.byteOffset, words);
    for (let w = 0; w < words; w++) d64[w] ^= s64[w]!;
    i = words << 3;
  } else if ((dst.byteOffset & 3) === 0 && (src.byteOffset & 3) === 0) {
    const words = len >>> 2;
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset, words);
    const s32 = new Uint32Array(src.buffer, src.byteOffset, words);
    for (let w = 0; w < words; w++) d32[w]! ^= s32[w]!;
    i = words << 2;
  }
  for (; i < len; i++) dst[i]! ^= src[i]!;
}

// Below this size the N-API call costs more than it saves.
const NATIVE_MIN_BYTES = 64;

/** dst ^= src; src must be at least dst.length bytes. */
export function xorInto(dst: Uint8Array, src: Uint8Array): void {
  if (src.length < dst.length) throw new LocalProtocolError('INTERNAL', 'xorInto: src shorter than dst');
  const native = dst.length >= NATIVE_MIN_BYTES ? getNative() : undefined;
  if (native !== undefined) native.xorInto(dst, src);
  else xorIntoTs(dst, src);
}
