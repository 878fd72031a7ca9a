// Session descriptions (src/wire/session.ts): SDP and JSON round-trips and typed rejections.
import { describe, expect, it } from 'vitest';
import {
  encodeSdp,
  encodeSessionJson,
  parseSdp,
  parseSession,
  parseSessionJson,
  sessionUrlPath,
  type SessionDescription,
} from '../../../src/wire/session.js';

const ldpc: SessionDescription = {
  version: 1,
  name: 'nightly-42',
  tsi: 0xdeadbeef,
  family: 'IP4',
  source: '10.0.0.1',
  ttl: 4,
  channels: [{ cn: 0, group: '239.1.2.3', port: 5000 }],
  fec: [
    { codepoint: 3, encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1024, maxEncodingSymbols: 1536, n1m3: 0, symbolsPerPacket: 1 },
    { codepoint: 0, encodingId: 0, symbolSize: 1400, maxSourceBlockLength: 1024 },
  ],
  cci: 'webrc-short',
  rate: { control: 'fixed', bitsPerSecond: 100_000_000 },
  mode: 'on-demand',
  start: 1_790_000_000,
  stop: 1_790_007_200,
  packetSize: 1448,
  extensions: ['EXT_FTI', 'EXT_TIME'],
  auth: 'none',
};

const v6: SessionDescription = {
  ...ldpc,
  family: 'IP6',
  source: undefined,
  channels: [
    { cn: 0, group: 'ff15::1:2', port: 6000 },
    { cn: 1, group: 'ff15::1:3', port: 6000 },
  ],
  rate: { control: 'webrc', bitsPerSecond: 8_000_000, params: { P: 0.75, TSD: 10 } },
  start: undefined,
  stop: undefined,
};

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('session description', () => {
  it('round-trips SDP and JSON for IPv4 SSM with two codepoints', () => {
    const sdp = encodeSdp(ldpc);
    expect(sdp).toContain('a=source-filter: incl IN IP4 239.1.2.3 10.0.0.1\r\n');
    expect(sdp).toContain('a=fcast-tsi:3735928559\r\n');
    expect(sdp).toContain('c=IN IP4 239.1.2.3/4\r\n');
    expect(parseSdp(sdp)).toEqual(ldpc);
    expect(parseSessionJson(encodeSessionJson(ldpc))).toEqual(ldpc);
    expect(parseSession(sdp)).toEqual(parseSession(encodeSessionJson(ldpc)));
  });

  it('round-trips IPv6 ASM with several channels and WEBRC parameters', () => {
    const clean = JSON.parse(JSON.stringify(v6)) as SessionDescription;
    expect(parseSdp(encodeSdp(v6))).toEqual(clean);
    expect(parseSdp(encodeSdp(v6).replaceAll('\r\n', '\n'))).toEqual(clean);
  });

  it('names the well-known announce path', () => {
    expect(sessionUrlPath('nightly-42', 'sdp')).toBe('/.well-known/fcast/nightly-42.sdp');
  });

  it('rejects bad syntax with SESSION_PARSE', () => {
    const sdp = encodeSdp(ldpc);
    expect(codeOf(() => parseSdp('v=1\r\n'))).toBe('SESSION_PARSE');
    expect(codeOf(() => parseSdp(sdp.replace('a=fcast-tsi:3735928559\r\n', '')))).toBe('SESSION_PARSE');
    expect(codeOf(() => parseSdp(sdp.replace('a=fcast-tsi:3735928559', 'a=fcast-tsi:12x')))).toBe('SESSION_PARSE');
    expect(codeOf(() => parseSdp(`${sdp}a=fcast-tsi:1\r\n`.replace(/m=application[^]*/, 'a=fcast-tsi:1\r\n')))).toBe('SESSION_PARSE');
    expect(codeOf(() => parseSdp(sdp.replace('a=fcast-cn:0', 'a=x:1')))).toBe('SESSION_PARSE');
    expect(codeOf(() => parseSessionJson('{"version":'))).toBe('SESSION_PARSE');
    expect(codeOf(() => parseSdp('x'.repeat(70_000)))).toBe('SESSION_PARSE');
  });

  it('rejects bad values with SESSION_VALUE', () => {
    const sdp = encodeSdp(ldpc);
    expect(codeOf(() => parseSdp(sdp.replace('c=IN IP4 239.1.2.3/4', 'c=IN IP4 10.1.2.3/4')))).toBe('SESSION_VALUE');
    expect(codeOf(() => parseSdp(sdp.replace('a=fcast-tsi:3735928559', 'a=fcast-tsi:0')))).toBe('SESSION_VALUE');
    expect(codeOf(() => parseSdp(sdp.replace('N1m3=0', 'N1m3=9')))).toBe('SESSION_VALUE');
    expect(codeOf(() => parseSdp(sdp.replace('incl IN IP4 239.1.2.3 10.0.0.1', 'incl IN IP4 239.1.2.3 ::1')))).toBe('SESSION_VALUE');
    expect(codeOf(() => parseSessionJson(JSON.stringify({ ...ldpc, mode: 'pull' })))).toBe('SESSION_VALUE');
    expect(codeOf(() => parseSessionJson(JSON.stringify({ ...ldpc, channels: [] })))).toBe('SESSION_VALUE');
    expect(codeOf(() => parseSessionJson('[]'))).toBe('SESSION_VALUE');
  });
});

describe('example session file', () => {
  it('examples/send/nightly-ssm.sdp parses as an SSM on-demand session', async () => {
    const { readFileSync } = await import('node:fs');
    const d = parseSdp(readFileSync(new URL('../../../examples/send/nightly-ssm.sdp', import.meta.url), 'utf8'));
    expect(d.source).toBe('10.0.0.1');
    expect(d.mode).toBe('on-demand');
    expect(d.stop! - d.start!).toBe(7200);
  });
});
