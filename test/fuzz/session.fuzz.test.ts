// Fuzz the session description parsers (src/wire/session.ts): mutated SDP and JSON texts either
// parse into a description that re-encodes and re-parses to itself, or throw an FcastError with
// SESSION_PARSE / SESSION_VALUE; never another error (no TypeError, RangeError, hang).
// 10 000 cases by default (FCAST_FUZZ_CASES / 5 when set, so `npm run fuzz` scales it);
// FCAST_FUZZ_SEED replays a run.
import { describe, expect, it } from 'vitest';
import { isFcastError } from '../../src/errors.js';
import { encodeSdp, encodeSessionJson, parseSession, type SessionDescription } from '../../src/wire/index.js';

const CASES = process.env.FCAST_FUZZ_CASES !== undefined ? Math.floor(Number(process.env.FCAST_FUZZ_CASES) / 5) : 10_000;
const SEED = Number(process.env.FCAST_FUZZ_SEED ?? Date.now() % 0x7fffffff) >>> 0 || 1;

const base: SessionDescription = {
  version: 1,
  name: 'fuzz',
  tsi: 123456,
  family: 'IP4',
  source: '10.1.2.3',
  ttl: 3,
  channels: [
    { cn: 0, group: '232.9.9.9', port: 7000 },
    { cn: 1, group: '232.9.9.10', port: 7000 },
  ],
  fec: [
    { codepoint: 3, encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, n1m3: 0, symbolsPerPacket: 1 },
    { codepoint: 0, encodingId: 0, symbolSize: 1400, maxSourceBlockLength: 1000 },
  ],
  cci: 'webrc-short',
  rate: { control: 'webrc', bitsPerSecond: 5_000_000, params: { P: 0.75, TSD: 10 } },
  mode: 'on-demand',
  start: 1_800_000_000,
  stop: 1_800_003_600,
  packetSize: 1448,
  extensions: ['EXT_FTI', 'EXT_TIME'],
  auth: 'none',
};

function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const TOKENS = ['0', '-1', '4294967296', '1e9', '::', 'ff15::1', '239.1.1.1', '10.0.0.1', 'IP6', 'IP4', '', ' ', ';', '=', ':', '/', 'NaN', '{}', '[]', 'null', '"x"', '\u0000', 'é', '9'.repeat(20)];

function mutate(text: string, r: () => number): string {
  const n = 1 + Math.floor(r() * 3);
  let t = text;
  for (let i = 0; i < n; i++) {
    const op = Math.floor(r() * 6);
    const pos = Math.floor(r() * (t.length + 1));
    const lines = t.split('\n');
    const li = Math.floor(r() * lines.length);
    switch (op) {
      case 0: // flip a character
        t = t.slice(0, pos) + String.fromCharCode(32 + Math.floor(r() * 95)) + t.slice(pos + 1);
        break;
      case 1: // delete a span
        t = t.slice(0, pos) + t.slice(pos + 1 + Math.floor(r() * 8));
        break;
      case 2: // drop a line
        lines.splice(li, 1);
        t = lines.join('\n');
        break;
      case 3: // duplicate a line
        lines.splice(li, 0, lines[li] ?? '');
        t = lines.join('\n');
        break;
      case 4: // insert a token
        t = t.slice(0, pos) + TOKENS[Math.floor(r() * TOKENS.length)]! + t.slice(pos);
        break;
      default: // replace a number with a token
        t = t.replace(/\d+/, TOKENS[Math.floor(r() * TOKENS.length)]!);
    }
  }
  return t;
}

describe(`session description fuzz (seed ${SEED}, ${CASES} cases)`, () => {
  it('parses or throws SESSION_PARSE / SESSION_VALUE, and what parses round-trips', () => {
    const r = rng(SEED);
    const seeds = [encodeSdp(base), encodeSessionJson(base), encodeSdp({ ...base, family: 'IP6', source: undefined, channels: [{ cn: 0, group: 'ff3e::1', port: 9 }] })];
    let parsed = 0;
    for (let i = 0; i < CASES; i++) {
      const text = mutate(seeds[i % seeds.length]!, r);
      let d: SessionDescription;
      try {
        d = parseSession(text);
      } catch (e) {
        if (!isFcastError(e) || (e.code !== 'SESSION_PARSE' && e.code !== 'SESSION_VALUE')) {
          throw new Error(`case ${i} (seed ${SEED}): unexpected ${String(e)} for ${JSON.stringify(text)}`);
        }
        continue;
      }
      parsed++;
      expect(parseSession(encodeSdp(d))).toEqual(d);
      expect(parseSession(encodeSessionJson(d))).toEqual(d);
    }
    // Some mutations are harmless (unknown attributes, reordering): both paths were exercised.
    expect(parsed).toBeGreaterThan(0);
    expect(parsed).toBeLessThan(CASES);
  });
});
