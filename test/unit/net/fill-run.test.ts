// The addon's fillRun (native/src/sendbatch.cc), the send batch's fill of a carousel run: what it
// writes where, and that every bad length, offset or array is refused with a TypeError before a
// byte is written.
import { describe, expect, it } from 'vitest';
import { getNative } from '../../../codecs/native.js';

type FillRun = (stage: Uint8Array, used: number, meta: Uint32Array, at: number, dest: number, headers: unknown[], payloads: unknown[], words: Uint32Array, count: number) => number;
const fillRun = (getNative() as unknown as { fillRun?: FillRun } | undefined)?.fillRun;

const header = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

describe.runIf(fillRun !== undefined)('native fillRun', () => {
  const fill = fillRun!;

  it('writes header, CCI, payload ID and payload of each packet after `used`, and its meta at `at`', () => {
    const stage = new Uint8Array(200).fill(0xee);
    const meta = new Uint32Array(3 * 4);
    const words = new Uint32Array([0x0001_0002, 0x0000_0a0b, 0xdead_beef, 0x0102_0304]);
    const used = fill(stage, 10, meta, 1, 7, [header(16, 0x11), header(12, 0x22)], [new Uint8Array([1, 2, 3]), new Uint8Array(0)], words, 2);
    expect(used).toBe(10 + 19 + 12);
    expect([...meta]).toEqual([0, 0, 0, 10, 19, 7, 29, 12, 7, 0, 0, 0]);
    expect([...stage.subarray(10, 29)]).toEqual([0x11, 0x11, 0x11, 0x11, 0, 0, 0x0a, 0x0b, 0x11, 0x11, 0x11, 0x11, 0, 1, 0, 2, 1, 2, 3]);
    expect([...stage.subarray(29, 41)]).toEqual([0x22, 0x22, 0x22, 0x22, 1, 2, 3, 4, 0xde, 0xad, 0xbe, 0xef]);
    expect(stage[9]).toBe(0xee);
    expect(stage[41]).toBe(0xee);
    // Nothing to fill: `used` comes back.
    expect(fill(stage, 41, meta, 0, 0, [], [], new Uint32Array(0), 0)).toBe(41);
  });

  it('refuses what does not fit or is not what it says, and writes nothing then', () => {
    const stage = new Uint8Array(64);
    const meta = new Uint32Array(6);
    const w = new Uint32Array(4);
    const h = [header(12, 1), header(12, 1)];
    const p = [new Uint8Array(10), new Uint8Array(10)];
    const bad: [string, () => number][] = [
      ['stage too small for the run', () => fill(stage, 30, meta, 0, 0, h, p, w, 2)],
      ['used beyond the stage', () => fill(stage, 65, meta, 0, 0, h, p, w, 1)],
      ['negative used', () => fill(stage, -1, meta, 0, 0, h, p, w, 1)],
      ['meta has no room at `at`', () => fill(stage, 0, meta, 1, 0, h, p, w, 2)],
      ['words shorter than 2 x count', () => fill(stage, 0, meta, 0, 0, h, p, new Uint32Array(3), 2)],
      ['fewer headers than count', () => fill(stage, 0, meta, 0, 0, [h[0]], p, w, 2)],
      ['fewer payloads than count', () => fill(stage, 0, meta, 0, 0, h, [p[0]], w, 2)],
      ['a header under 12 bytes', () => fill(stage, 0, meta, 0, 0, [header(11, 1)], p, w, 1)],
      ['a header that is not a Uint8Array', () => fill(stage, 0, meta, 0, 0, [new Uint16Array(8)], p, w, 1)],
      ['a payload that is not a typed array', () => fill(stage, 0, meta, 0, 0, h, ['x'], w, 1)],
      ['a datagram over 65507 bytes', () => fill(new Uint8Array(70_000), 0, new Uint32Array(3), 0, 0, [header(12, 1)], [new Uint8Array(65_500)], w, 1)],
      ['count over 64', () => fill(stage, 0, new Uint32Array(3 * 65), 0, 0, h, p, new Uint32Array(130), 65)],
      ['negative count', () => fill(stage, 0, meta, 0, 0, h, p, w, -1)],
      ['dest out of range', () => fill(stage, 0, meta, 0, -1, h, p, w, 1)],
      ['meta not a Uint32Array', () => fill(stage, 0, new Float64Array(6) as unknown as Uint32Array, 0, 0, h, p, w, 1)],
    ];
    stage.fill(0xee);
    meta.fill(0xeeee);
    for (const [what, call] of bad) {
      expect(call, what).toThrow(TypeError);
      // Every packet is checked before the first byte is written.
      expect(stage.every((v) => v === 0xee) && meta.every((v) => v === 0xeeee), what).toBe(true);
    }
  });
});
