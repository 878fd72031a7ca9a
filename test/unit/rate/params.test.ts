// WEBRC parameters and the short CCI format (RFC 3738 §3.1.1, §5.1; SPEC-NOTES §6.2, §6.5).
import { describe, expect, it } from 'vitest';
import { defaultRateControl } from '../../../src/cli/webrc-flags.js';
import { decodeCci, encodeCci } from '../../../src/rate/cci.js';
import { fromSessionParams, resolveWebrcParams, toSessionParams, withFcastDefaults } from '../../../src/rate/params.js';

const example = { srBps: 68.1 * 8 * 1400, packetLength: 1400, n: 10, constantRate: false } as const;

describe('WEBRC parameters', () => {
  it('derives the SPEC-NOTES §6.5 example: L=9, Q=30, T=40, base CN 40, cycle 400 s', () => {
    const p = resolveWebrcParams(example);
    expect([p.bcr, p.p, p.tsd, p.qd]).toEqual([1, 0.75, 10, 300]);
    expect(p.l).toBe(9);
    expect(p.q).toBe(30);
    expect(p.t).toBe(40);
    expect(p.baseCn).toBe(40);
    expect(p.cycle).toBe(400);
    // Largest multiple of 9 <= 65,536 is 7,281·9 = 65,529: top base PSN 65,528.
    expect(p.basePsnModulus - 1).toBe(65528);
    expect(p.srP).toBeCloseTo(68.1, 9);
  });

  it('picks the largest N whose peak fits in SR_P', () => {
    // S_10 = 68.03, S_11 = 91.71 pkt/s (BCR_P = 1, P = 0.75).
    expect(resolveWebrcParams({ srBps: 70 * 8 * 1000, packetLength: 1000 }).n).toBe(10);
    expect(resolveWebrcParams({ srBps: 91 * 8 * 1000, packetLength: 1000 }).n).toBe(10);
    expect(resolveWebrcParams({ srBps: 92 * 8 * 1000, packetLength: 1000 }).n).toBe(11);
  });

  it('rejects bad values with WEBRC_PARAMS', () => {
    const bad = [
      { srBps: 0, packetLength: 1400 },
      { srBps: 1e6, packetLength: 0 },
      { srBps: 1e6, packetLength: 1400, p: 1 },
      { srBps: 1e6, packetLength: 1400, tsd: -1 },
      { srBps: 1e6, packetLength: 1400, qd: Number.NaN },
      { srBps: 3 * 8 * 1400, packetLength: 1400 }, // SR_P = 3 pkt/s < S_2 = 4.11
      { srBps: 68 * 8 * 1400, packetLength: 1400, n: 11 }, // peak 91.7 > 68
      { srBps: 1e6, packetLength: 1400, qd: 3000 }, // Q = 300: T > 255
    ];
    for (const input of bad) {
      expect(() => resolveWebrcParams(input), JSON.stringify(input)).toThrow(
        expect.objectContaining({ code: 'WEBRC_PARAMS', origin: 'local' }),
      );
    }
  });

  it('round-trips through the session description record and rejects bad records as SESSION_VALUE', () => {
    const p = resolveWebrcParams({ srBps: 2e6, packetLength: 1200, tsd: 2, qd: 20 });
    const json = JSON.parse(JSON.stringify(toSessionParams(p))) as unknown;
    expect(fromSessionParams(json)).toEqual(p);
    for (const bad of [null, [], { ...toSessionParams(p), P: '0.75' }, { ...toSessionParams(p), CONSTANT: 2 }, { ...toSessionParams(p), N: 999 }]) {
      expect(() => fromSessionParams(bad)).toThrow(expect.objectContaining({ code: 'SESSION_VALUE', origin: 'remote' }));
    }
  });
});

describe('short CCI (RFC 3738 §5.1)', () => {
  it('encodes CTSI | CN | PSN big-endian and decodes it back', () => {
    const out = new Uint8Array(6);
    expect(encodeCci({ ctsi: 5, cn: 40, psn: 65528 }, out, 2)).toBe(4);
    expect([...out]).toEqual([0, 0, 5, 40, 0xff, 0xf8]);
    expect(decodeCci(out.subarray(2), 40)).toEqual({ ctsi: 5, cn: 40, psn: 65528 });
  });

  it('rejects CTSI >= T, CN > T and a wrong length', () => {
    expect(() => decodeCci(Uint8Array.of(40, 0, 0, 0), 40)).toThrow(expect.objectContaining({ code: 'WEBRC_CCI' }));
    expect(() => decodeCci(Uint8Array.of(0, 41, 0, 0), 40)).toThrow(expect.objectContaining({ code: 'WEBRC_CCI' }));
    expect(() => decodeCci(Uint8Array.of(0, 40, 0), 40)).toThrow(expect.objectContaining({ code: 'LCT_CCI_LENGTH' }));
  });
});

describe("fcast's default WEBRC parameters (withFcastDefaults)", () => {
  it('fills P 0.85, TSD 1 s, QD 10 s, BCR_P 50 and keeps what is given', () => {
    const p = resolveWebrcParams(withFcastDefaults({ srBps: 100e6, packetLength: 1476 }));
    expect([p.p, p.tsd, p.qd, p.bcr]).toEqual([0.85, 1, 10, 50]);
    expect([p.n, p.q, p.t]).toEqual([20, 10, 30]);
    expect(resolveWebrcParams(withFcastDefaults({ srBps: 1e9, packetLength: 1476 })).n).toBe(34);
    const given = withFcastDefaults({ srBps: 100e6, packetLength: 1476, p: 0.9, bcr: 5, tsd: 2, qd: 20 });
    expect([given.p, given.bcr, given.tsd, given.qd]).toEqual([0.9, 5, 2, 20]);
  });

  it('lowers BCR_P at low rates so that 8 waves fit', () => {
    for (const srBps of [1e6, 2e6, 5e6, 10e6]) {
      const p = resolveWebrcParams(withFcastDefaults({ srBps, packetLength: 1476 }));
      expect(p.bcr).toBeLessThan(50);
      expect(p.n).toBe(8);
    }
    expect(resolveWebrcParams(withFcastDefaults({ srBps: 12e6, packetLength: 1476 })).bcr).toBe(50);
  });
});

describe('fcast send: the default rate control (src/cli/webrc-flags.ts)', () => {
  it('is webrc for on-demand sessions that publish their description, fixed for push, flexicast (which needs fixed) and unpublished sessions', () => {
    expect(defaultRateControl('on-demand', false, true)).toBe('webrc');
    expect(defaultRateControl('on-demand', false, false)).toBe('fixed');
    expect(defaultRateControl('push', false, true)).toBe('fixed');
    expect(defaultRateControl('on-demand', true, true)).toBe('fixed');
    expect(defaultRateControl('push', true, false)).toBe('fixed');
  });
});
