import { describe, expect, it } from 'vitest';
import { nativeStatus, getNative } from '../../codecs/native.js';
import { xorInto, xorIntoTs } from '../../codecs/xor.js';

function rand(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('symbol XOR', () => {
  it('the native addon is built and loads', () => {
    const s = nativeStatus();
    expect(s.loaded, s.loaded ? '' : s.reason).toBe(true);
  });

  it('native and TypeScript XOR agree on every length and alignment', () => {
    const native = getNative();
    expect(native).toBeDefined();
    for (const len of [0, 1, 3, 7, 8, 31, 32, 33, 127, 128, 129, 1024, 1400, 4097]) {
      for (const off of [0, 1, 3]) {
        const a = rand(len + off, len * 7 + off + 1).subarray(off);
        const b = rand(len + 5, len * 13 + off + 2).subarray(5 - off > 0 ? 5 - off : 0, 5 - off + len);
        const ts = a.slice();
        xorIntoTs(ts, b);
        const nat = a.slice();
        native!.xorInto(nat, b);
        expect(Buffer.from(nat).equals(Buffer.from(ts))).toBe(true);
        const viaFront = a.slice();
        xorInto(viaFront, b);
        expect(Buffer.from(viaFront).equals(Buffer.from(ts))).toBe(true);
        for (let i = 0; i < len; i++) expect(ts[i]).toBe(a[i]! ^ b[i]!);
      }
    }
  });

  it('rejects a source shorter than the destination', () => {
    expect(() => xorInto(new Uint8Array(100), new Uint8Array(99))).toThrowError(expect.objectContaining({ code: 'INTERNAL' }));
    expect(() => getNative()!.xorInto(new Uint8Array(100), new Uint8Array(99))).toThrow(TypeError);
  });
});
