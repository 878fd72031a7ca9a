// Flexicast control frames (src/wire/flexicast.ts): round trips for every message kind, stream
// reassembly from arbitrary chunking, and fuzz showing that only typed errors escape the decoder.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isFcastError } from '../../../src/errors.js';
import {
  FLOW_CIPHER_AES256GCM, FrameDecoder, decodeFrame, encodeFrame, frameSize,
  type FlexMessage, type StateAction,
} from '../../../src/wire/flexicast.js';

const FUZZ_CASES = Number(process.env.FCAST_FUZZ_CASES ?? 10_000);

const u = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const ipv4 = fc.tuple(u(8), u(8), u(8), u(8)).map((b) => b.join('.'));
const ipv6 = fc.array(u(16), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
const address = fc.oneof(ipv4, ipv6);

const announce = fc.record({
  kind: fc.constant('announce' as const),
  flowId: u(32), tsi: u(48), cipher: fc.constant(FLOW_CIPHER_AES256GCM), source: address,
  channels: fc.array(fc.record({ address, port: u(16) }), { minLength: 1, maxLength: 8 }),
  fcMsg: fc.constantFrom('off' as const, 'on' as const, 'auto' as const), flowAddress: address, flowPort: fc.integer({ min: 1, max: 0xffff }),
  fecEncodingId: u(8), fecInstanceId: u(16),
  symbolSize: fc.integer({ min: 1, max: 0xffff }),
  maxSourceBlockLength: fc.integer({ min: 1, max: 1 << 20 }),
  reportIntervalMs: fc.integer({ min: 1, max: 2 ** 32 - 1 }), dFbMs: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
  rateBps: u(48),
}).chain((a) => fc.integer({ min: a.maxSourceBlockLength, max: 2 ** 32 - 1 })
  // FC-msg off has port 0, on and auto a real one.
  .map((maxEncodingSymbols) => ({ ...a, maxEncodingSymbols, flowPort: a.fcMsg === 'off' ? 0 : a.flowPort })));
const key = fc.record({ kind: fc.constant('key' as const), flowId: u(32), epoch: u(32), secret: fc.uint8Array({ minLength: 32, maxLength: 32 }) });
const state = fc.record({
  kind: fc.constant('state' as const), flowId: u(32),
  action: fc.constantFrom<StateAction>('join', 'listening', 'leave', 'fallback', 'return'),
  origin: fc.constantFrom<'receiver' | 'sender'>('receiver', 'sender'),
});
const report = fc.record({
  kind: fc.constant('report' as const), flowId: u(32), seq: u(32),
  packetsSeen: fc.array(u(48), { maxLength: 8 }),
  needs: fc.array(fc.record({ toi: u(48), sbn: u(32), needed: u(32), received: u(32) }), { maxLength: 40 }),
  completed: fc.array(fc.record({ toi: u(48), digest: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 10 }),
});
const data = fc.record({ kind: fc.constant('data' as const), toi: u(48), sbn: u(32), esi: u(32), symbol: fc.uint8Array({ minLength: 1, maxLength: 1500 }) });
const message: fc.Arbitrary<FlexMessage> = fc.oneof(announce, key, state, report, data);

/** Plain-data form for deep equality (views and arrays alike). */
function plain(m: FlexMessage): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)));
}

describe('flexicast control frames', () => {
  it('every message kind round-trips, and frameSize is exact', () => {
    fc.assert(fc.property(message, (m) => {
      const bytes = encodeFrame(m);
      expect(bytes.length).toBe(frameSize(m));
      expect(plain(decodeFrame(bytes))).toEqual(plain(m));
    }), { numRuns: 2000 });
  });

  it('FrameDecoder reassembles a stream of frames from any chunking', () => {
    fc.assert(fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1 }), (ms, cuts) => {
      const stream = Buffer.concat(ms.map(encodeFrame));
      const d = new FrameDecoder();
      const out: FlexMessage[] = [];
      let pos = 0;
      for (let i = 0; pos < stream.length; i++) {
        const n = cuts[i % cuts.length]!;
        d.push(new Uint8Array(stream.subarray(pos, pos + n)));
        pos += n;
        for (let f = d.poll(); f !== undefined; f = d.poll()) out.push(f);
      }
      expect(out.map(plain)).toEqual(ms.map(plain));
      expect(d.pending).toBe(0);
    }), { numRuns: 300 });
  });

  it('rejects bad headers and bodies with the right codes', () => {
    const good = encodeFrame({ kind: 'state', flowId: 7, action: 'join', origin: 'receiver' });
    const mutate = (i: number, v: number) => { const b = good.slice(); b[i] = v; return b; };
    const code = (b: Uint8Array) => { try { decodeFrame(b); return 'ok'; } catch (e) { return isFcastError(e) ? e.code : 'untyped'; } };
    expect(code(good)).toBe('ok');
    expect(code(mutate(0, 1))).toBe('FLEX_VERSION'); // version 1 had no FC-msg mode
    expect(code(mutate(0, 3))).toBe('FLEX_VERSION');
    expect(code(mutate(1, 9))).toBe('FLEX_TYPE');
    expect(code(mutate(5, 7))).toBe('FLEX_LENGTH');
    expect(code(mutate(10, 6))).toBe('FLEX_VALUE');
    expect(code(good.subarray(0, 9))).toBe('FLEX_LENGTH');
    const huge = good.slice(); huge.set([0x7f, 0xff, 0xff, 0xff], 2);
    expect(code(huge)).toBe('FLEX_LENGTH');
    // A stream decoder refuses an oversized body from the header alone, before buffering it.
    const d = new FrameDecoder();
    d.push(huge.subarray(0, 6));
    expect(() => d.poll()).toThrow(expect.objectContaining({ code: 'FLEX_LENGTH' }));
    // A REPORT claiming more blocks than its body holds is refused before the loop.
    const r = encodeFrame({ kind: 'report', flowId: 1, seq: 1, packetsSeen: [], needs: [], completed: [] });
    r[15] = 0xff; r[16] = 0xff;
    expect(code(r)).toBe('FLEX_LENGTH');
    // ANNOUNCE: an unknown FC-msg mode, or a mode that disagrees with the flow port.
    const a = { kind: 'announce' as const, flowId: 1, tsi: 2, cipher: FLOW_CIPHER_AES256GCM, source: '10.0.0.1', channels: [{ address: '239.1.1.1', port: 4000 }],
      fcMsg: 'auto' as const, flowAddress: '10.0.0.1', flowPort: 4001, fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1000,
      maxSourceBlockLength: 10, maxEncodingSymbols: 20, rateBps: 1, reportIntervalMs: 250, dFbMs: 1000 };
    const modeAt = 6 + 4 + 6 + 1 + 5 + 1 + 5 + 2;
    const ab = encodeFrame(a);
    expect(ab[modeAt]).toBe(2);
    expect(code(ab)).toBe('ok');
    expect(code(((b) => { b[modeAt] = 3; return b; })(ab.slice()))).toBe('FLEX_VALUE');
    expect(code(((b) => { b[modeAt] = 0; return b; })(ab.slice()))).toBe('FLEX_VALUE');
    expect(() => encodeFrame({ ...a, fcMsg: 'off' })).toThrow(expect.objectContaining({ code: 'FLEX_VALUE', origin: 'local' }));
    // Encoding what we would reject is a local error.
    expect(() => encodeFrame({ kind: 'key', flowId: 1, epoch: 1, secret: new Uint8Array(5) })).toThrow(expect.objectContaining({ origin: 'local' }));
  });

  it(`fuzz: ${FUZZ_CASES} random and mutated frames raise only typed errors`, () => {
    const corpus = fc.sample(message, 64).map(encodeFrame);
    const mutated = fc.tuple(fc.nat(corpus.length - 1), fc.array(fc.tuple(fc.nat(), u(8)), { minLength: 1, maxLength: 4 }), fc.nat())
      .map(([i, flips, cut]) => {
        const b = corpus[i]!.slice();
        for (const [pos, v] of flips) b[pos % b.length] = v;
        return cut % 4 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
      });
    const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated);
    fc.assert(fc.property(input, (b) => {
      for (const run of [() => decodeFrame(b), () => { const d = new FrameDecoder(); d.push(b); while (d.poll() !== undefined); }]) {
        try { run(); } catch (e) {
          if (!isFcastError(e) || e.origin !== 'remote') throw e;
        }
      }
    }), { numRuns: FUZZ_CASES });
  });
});
