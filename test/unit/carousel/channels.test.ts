// WEBRC channel map and CCI stamping (src/carousel/channels.ts; RFC 3738 §5.1, SPEC-NOTES §7 row 20).
import { describe, expect, it } from 'vitest';
import { ChannelSlots, offsetGroup, readCci, webrcChannels, writeCci } from '../../../src/carousel/channels.js';
import { isFcastError } from '../../../src/errors.js';
import { resolveWebrcParams } from '../../../src/rate/index.js';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isFcastError(e) ? e.code : 'not-fcast';
  }
  return undefined;
}

describe('WEBRC channel map', () => {
  it('base at the given group, waves at the next T groups, same port', () => {
    const ch = webrcChannels('239.1.1.250', 4000, 8);
    expect(ch).toHaveLength(9);
    expect(ch[8]).toEqual({ cn: 8, group: '239.1.1.250', port: 4000 });
    expect(ch[0]).toEqual({ cn: 0, group: '239.1.1.251', port: 4000 });
    expect(ch[7]!.group).toBe('239.1.2.2');
    expect(new Set(ch.map((c) => c.group)).size).toBe(9);
  });

  it('IPv6 adds to the 32-bit group ID; leaving the multicast range is a usage error', () => {
    expect(offsetGroup('ff3e::ffff', 1)).toBe('ff3e:0:0:0:0:0:1:0');
    expect(code(() => offsetGroup('239.255.255.250', 10))).toBe('USAGE');
    expect(code(() => offsetGroup('ff3e::ffff:ffff', 1))).toBe('USAGE');
  });
});

describe('CCI in the LCT header', () => {
  const params = resolveWebrcParams({ srBps: 8e6, packetLength: 1000, tsd: 1, qd: 5, bcr: 5 });

  it('stamps every slot of the schedule into bytes 4..7 and reads it back', () => {
    const slots = new ChannelSlots(params, 0);
    const seen = new Set<number>();
    let sent = 0;
    for (let now = 0; now <= 3000; now += 5) {
      for (;;) {
        const d = new Uint8Array(16);
        d[0] = 0x10;
        const slot = slots.place(now, d);
        if (slot === undefined) break;
        sent++;
        seen.add(slot.cn);
        expect(readCci(d, params.t)).toEqual({ ctsi: slot.ctsi, cn: slot.cn, psn: slot.psn });
      }
      expect(slots.due()).toBeGreaterThan(now);
    }
    // About SR_P packets per second, on the base and on wave channels.
    expect(sent).toBeGreaterThan(2.5 * params.srP);
    expect(sent).toBeLessThan(3.5 * params.srP);
    expect(seen.has(params.baseCn)).toBe(true);
    expect(seen.size).toBeGreaterThan(params.n);
  });

  it('rejects short datagrams, a long CCI, other versions and out-of-range CN/CTSI', () => {
    expect(code(() => readCci(new Uint8Array(7).fill(0x10, 0, 1), params.t))).toBe('LCT_CCI_LENGTH');
    expect(code(() => readCci(Uint8Array.from([0x14, 0, 0, 0, 0, 0, 0, 0]), params.t))).toBe('LCT_CCI_LENGTH');
    expect(code(() => readCci(Uint8Array.from([0x20, 0, 0, 0, 0, 0, 0, 0]), params.t))).toBe('LCT_CCI_LENGTH');
    expect(code(() => readCci(Uint8Array.from([0x10, 0, 0, 0, 0, params.t + 1, 0, 0]), params.t))).toBe('WEBRC_CCI');
    expect(code(() => readCci(Uint8Array.from([0x10, 0, 0, 0, params.t, 0, 0, 0]), params.t))).toBe('WEBRC_CCI');
    expect(code(() => writeCci(Uint8Array.from([0x14, 0, 0, 0, 0, 0, 0, 0]), new Uint8Array(4)))).toBe('INTERNAL');
  });
});
