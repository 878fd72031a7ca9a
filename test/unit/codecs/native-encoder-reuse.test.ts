// The native LDPC encoder hands a disposed encoder's repair buffer to the next block's encoder
// (codecs/ldpc-staircase/native-encoder.ts): the next block's repair symbols must be its own,
// byte for byte as the TypeScript encoder gives them, whatever the buffer held; a disposed
// encoder asked again encodes again; disposing twice must not give one buffer to two encoders.
import { describe, expect, it } from 'vitest';
import { ldpcStaircase } from '../../../codecs/index.js';
import { nativeCodec } from '../../../codecs/ldpc-staircase/native-code.js';
import type { BlockPlan, FecOti } from '../../../codecs/types.js';

const E = 48;
const K = 120;
// Three blocks of k = 120 (same n − k, so the same repair buffer length), a short last symbol.
const LENGTH = 3 * K * E - 5;
const oti: FecOti = { encodingId: 3, transferLength: LENGTH, symbolSize: E, maxSourceBlockLength: K, maxEncodingSymbols: 180, n1m3: 0, symbolsPerPacket: 1, seed: 7 };
// One block of k = 100: another repair buffer length.
const otherOti: FecOti = { ...oti, transferLength: 100 * E, maxSourceBlockLength: 100, maxEncodingSymbols: 150 };
const object = new Uint8Array(LENGTH).map((_, i) => (i * 131 + (i >> 7)) & 0xff);

function blockSource(plan: BlockPlan, sbn: number): Uint8Array {
  const b = plan.blocks[sbn]!;
  expect(b.offset + b.length).toBeLessThanOrEqual(object.length);
  return object.subarray(b.offset, b.offset + b.length);
}

/** Every repair symbol of block `sbn` from the TypeScript encoder (the reference). */
function reference(plan: BlockPlan, sbn: number): Buffer[] {
  const b = plan.blocks[sbn]!;
  const enc = ldpcStaircase.createEncoder(plan, sbn, blockSource(plan, sbn), { native: false });
  const out: Buffer[] = [];
  for (let esi = b.k; esi < b.n; esi++) out.push(Buffer.from(enc.symbol(esi)));
  return out;
}

function repairOf(enc: { symbol(esi: number): Uint8Array }, k: number, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let esi = k; esi < n; esi++) out.push(Buffer.from(enc.symbol(esi)));
  return out;
}

describe.skipIf(nativeCodec() === undefined)('native LDPC encoder: repair buffers reused across blocks', () => {
  const plan = ldpcStaircase.partition(oti);

  it('a later block gets the disposed block repair buffer and still its own symbols', () => {
    expect(plan.blocks.map((b) => b.k)).toEqual([K, K, K]);
    const [b0, b1] = [plan.blocks[0]!, plan.blocks[1]!];
    expect(b0.n - b0.k).toBe(b1.n - b1.k);
    const enc0 = ldpcStaircase.createEncoder(plan, 0, blockSource(plan, 0), { native: true });
    const first = enc0.symbol(b0.k);
    expect(repairOf(enc0, b0.k, b0.n)).toEqual(reference(plan, 0));
    enc0.dispose();
    const enc1 = ldpcStaircase.createEncoder(plan, 1, blockSource(plan, 1), { native: true });
    expect(enc1.symbol(b1.k).buffer).toBe(first.buffer);
    expect(repairOf(enc1, b1.k, b1.n)).toEqual(reference(plan, 1));
    // The disposed encoder encodes again, into a buffer of its own.
    expect(enc0.symbol(b0.k).buffer).not.toBe(first.buffer);
    expect(repairOf(enc0, b0.k, b0.n)).toEqual(reference(plan, 0));
    expect(repairOf(enc1, b1.k, b1.n)).toEqual(reference(plan, 1));
    enc0.dispose();
    enc1.dispose();
  });

  it('a buffer of another length is not taken; disposing twice gives one buffer to one encoder', () => {
    const other = ldpcStaircase.partition(otherOti);
    const last = 0;
    const bl = other.blocks[last]!;
    const b0 = plan.blocks[0]!;
    expect(bl.n - bl.k).not.toBe(b0.n - b0.k);
    const enc0 = ldpcStaircase.createEncoder(plan, 0, blockSource(plan, 0), { native: true });
    const buf0 = enc0.symbol(b0.k).buffer;
    enc0.dispose();
    enc0.dispose();
    const encL = ldpcStaircase.createEncoder(other, last, blockSource(other, last), { native: true });
    expect(encL.symbol(bl.k).buffer).not.toBe(buf0);
    expect(repairOf(encL, bl.k, bl.n)).toEqual(reference(other, last));
    const encA = ldpcStaircase.createEncoder(plan, 1, blockSource(plan, 1), { native: true });
    const encB = ldpcStaircase.createEncoder(plan, 0, blockSource(plan, 0), { native: true });
    expect(encA.symbol(b0.k).buffer).not.toBe(encB.symbol(b0.k).buffer);
    expect(repairOf(encA, b0.k, b0.n)).toEqual(reference(plan, 1));
    expect(repairOf(encB, b0.k, b0.n)).toEqual(reference(plan, 0));
    for (const e of [encL, encA, encB]) e.dispose();
  });
});
