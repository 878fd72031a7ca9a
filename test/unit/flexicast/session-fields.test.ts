// Session descriptions naming a flexicast endpoint (src/wire/session.ts, issue 6): `flexicast`
// (host:port) and `senderKey` (raw Ed25519, base64url) round-trip through SDP and JSON, and bad
// values are rejected with SESSION_VALUE.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeSdp, encodeSessionJson, parseSdp, parseSessionJson, type SessionDescription } from '../../../src/wire/session.js';

const key = (generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as { x: string }).x;
const base: SessionDescription = {
  version: 1, name: 'flex-1', tsi: 7, family: 'IP4', ttl: 1, channels: [{ cn: 0, group: '239.1.2.3', port: 5000 }],
  fec: [{ codepoint: 0, encodingId: 0, symbolSize: 1400, maxSourceBlockLength: 1000 }], cci: 'webrc-short',
  rate: { control: 'fixed', bitsPerSecond: 1e8 }, mode: 'push', packetSize: 1448, extensions: ['EXT_FTI'], auth: 'none',
  flexicast: '10.0.0.1:4433', senderKey: key,
};

describe('session flexicast fields', () => {
  it('round-trip SDP and JSON, IPv4, IPv6 and names', () => {
    for (const flexicast of ['10.0.0.1:4433', '[2001:db8::1]:443', 'sender.example:9000']) {
      const d = { ...base, flexicast };
      const sdp = encodeSdp(d);
      expect(sdp).toContain(`a=fcast-flexicast:${flexicast}`);
      expect(sdp).toContain(`a=fcast-sender-key:${key}`);
      expect(parseSdp(sdp)).toEqual(d);
      expect(parseSessionJson(encodeSessionJson(d))).toEqual(d);
    }
    const { flexicast: _f, senderKey: _k, ...plain } = base;
    expect(encodeSdp(plain)).not.toContain('flexicast');
    expect(parseSdp(encodeSdp(plain))).toEqual(plain);
  });

  it('rejects bad endpoints and keys', () => {
    const bad = (d: Record<string, unknown>) => expect(() => parseSessionJson(JSON.stringify({ ...base, ...d }))).toThrow(expect.objectContaining({ code: 'SESSION_VALUE' }));
    bad({ flexicast: '10.0.0.1' });
    bad({ flexicast: '10.0.0.1:0' });
    bad({ flexicast: '10.0.0.1:70000' });
    bad({ flexicast: '[zz::1]:80' });
    bad({ flexicast: 5 });
    bad({ senderKey: key.slice(1) });
    bad({ senderKey: `${key.slice(0, 42)}=` });
    bad({ senderKey: undefined });
    expect(() => parseSdp(encodeSdp(base).replace('a=fcast-tsi', `a=fcast-sender-key:${key}\r\na=fcast-tsi`))).toThrow(expect.objectContaining({ code: 'SESSION_PARSE' }));
  });
});
