// Symbol size vs the outgoing interface's MTU (src/cli/path-mtu.ts): routing-table lookups on
// fixed /proc texts, the interface of --iface, and the refuse/cap/override rules.
import { describe, expect, it } from 'vitest';
import { isFcastError } from '../../../src/errors.js';
import { IP_UDP_BYTES, chooseSymbolSize, interfaceName, routeGetInterface, routeInterface4, routeInterface6 } from '../../../src/cli/path-mtu.js';

const ROUTE4 = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
mc0\t000000E0\t00000000\t0001\t0\t0\t0\t000000F0\t0\t0\t0
down0\t0100FFEF\t00000000\t0000\t0\t0\t0\tFFFFFFFF\t0\t0\t0
`;
const ROUTE6 = `00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth1
`;

describe('path MTU', () => {
  it('finds the interface of a group by longest prefix (224.0.0.0/4 beats the default; routes that are down are skipped)', () => {
    expect(routeInterface4('239.255.0.1', ROUTE4)).toBe('mc0');
    expect(routeInterface4('239.255.0.1', ROUTE4.split('\n').filter((l) => !l.startsWith('mc0')).join('\n'))).toBe('eth0');
    expect(routeInterface4('192.0.2.77', ROUTE4)).toBe('eth0');
    expect(routeInterface6('ff3e::4321', ROUTE6)).toBe('eth1');
    expect(routeInterface6('2001:db8::1', ROUTE6)).toBe('eth0');
  });

  // Several ff00::/8 routes (one per multicast interface, metric 256 = 0x100 unless set), a
  // route added with metric 100 (0x64), and the reject default route every IPv6 host has on lo.
  const MANY6 = `ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000004 00000000 00000001     eth0
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000064 00000002 00000000 00000001       a1
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001       a0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
`;

  it('of several routes of equal prefix takes the lowest metric, then the first listed; skips reject routes (IPv6)', () => {
    expect(routeInterface6('ff15::1', MANY6)).toBe('a1');
    const noA1 = MANY6.split('\n').filter((l) => !l.endsWith(' a1')).join('\n');
    expect(routeInterface6('ff15::1', noA1)).toBe('eth0');
    // Only the reject default route covers a unicast address here: no interface, not lo.
    expect(routeInterface6('2001:db8::1', MANY6)).toBeUndefined();
  });

  it('of several IPv4 routes of equal prefix takes the lowest metric', () => {
    const two = `${ROUTE4}mc1\t000000E0\t00000000\t0001\t0\t0\t5\t000000F0\t0\t0\t0\nmc2\t000000E0\t00000000\t0201\t0\t0\t0\t000000F0\t0\t0\t0\n`;
    const withMetric = two.replace('mc0\t000000E0\t00000000\t0001\t0\t0\t0', 'mc0\t000000E0\t00000000\t0001\t0\t0\t10');
    expect(routeInterface4('239.255.0.1', two)).toBe('mc0');
    expect(routeInterface4('239.255.0.1', withMetric)).toBe('mc1');
  });

  it("reads the device of the kernel's own answer (ip -o route get)", () => {
    expect(routeGetInterface('multicast ff15::1 from :: dev a1 table local src fe80::1 metric 100 pref medium')).toBe('a1');
    expect(routeGetInterface('multicast 239.255.1.1 dev eth0 src 192.0.2.2 uid 0 \\    cache <mc> ')).toBe('eth0');
    expect(routeGetInterface('')).toBeUndefined();
  });

  it('names the interface of --iface given as a name or as one of its addresses', () => {
    expect(interfaceName('lo')).toBe('lo');
    expect(interfaceName('127.0.0.1')).toBe('lo');
    expect(interfaceName('192.0.2.254')).toBeUndefined();
  });

  const path = { iface: 'eth0', mtu: 1500, from: 'iface' } as const;
  const overhead = IP_UDP_BYTES[4] + 44;

  it('keeps a symbol that fits, lowers the default that does not, refuses an explicit one (USAGE) unless fragments are allowed', () => {
    expect(chooseSymbolSize({ requested: 1400, defaultSize: 1400, overhead, path, allowFragments: false, family: 4 })).toEqual({ symbolSize: 1400, capped: false, largest: 1428 });
    expect(chooseSymbolSize({ requested: undefined, defaultSize: 1400, overhead, path: { ...path, mtu: 1280 }, allowFragments: false, family: 4 })).toEqual({ symbolSize: 1208, capped: true, largest: 1208 });
    let err: unknown;
    try {
      chooseSymbolSize({ requested: 8000, defaultSize: 1400, overhead, path, allowFragments: false, family: 4 });
    } catch (e) {
      err = e;
    }
    expect(isFcastError(err) && err.code).toBe('USAGE');
    expect(String((err as Error).message)).toContain('8072-byte IPv4 packets, larger than the MTU of eth0 (MTU 1500)');
    expect(String((err as Error).message)).toContain('--symbol-size 1428 or less');
    expect(chooseSymbolSize({ requested: 8000, defaultSize: 1400, overhead, path, allowFragments: true, family: 4 }).symbolSize).toBe(8000);
    // No interface found (not Linux, no route): no check.
    expect(chooseSymbolSize({ requested: 60000, defaultSize: 1400, overhead, path: undefined, allowFragments: false, family: 4 }).symbolSize).toBe(60000);
  });
});
