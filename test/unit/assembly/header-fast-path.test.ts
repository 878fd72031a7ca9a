// The receiver core reads only the payload ID of a datagram whose header (CCI aside) repeats the
// last data packet's (src/assembly/receiver.ts, LastHeader). These cases check that the shortcut
// keeps every outcome of the full RFC 5775 §4.4 steps: payload IDs of both schemes, per-packet
// CCIs, another sender, a changed flag or EXT_FTI, and bad payloads after a good header.
import { describe, expect, it } from 'vitest';
import type { FecOti } from '../../../codecs/types.js';
import { Receiver, type AssemblyEvent } from '../../../src/assembly/index.js';
import { encodeAlcPacket } from '../../../src/wire/index.js';
import { SCHEMES, TSI } from './sim.js';

const SRC = '10.0.0.1';
const buf = new Uint8Array(2048);
const pkt = (p: Parameters<typeof encodeAlcPacket>[1]): Uint8Array => buf.slice(0, encodeAlcPacket(buf, p));

function spooled(rx: Receiver): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let ev: AssemblyEvent | undefined = rx.poll(); ev !== undefined; ev = rx.poll()) {
    if (ev.kind === 'spool') out.push([ev.toi, ev.sbn, ev.esi]);
  }
  return out;
}

describe('receiver: repeated headers', () => {
  it('LDPC payload IDs (12-bit SBN, 20-bit ESI) and a CCI that changes every packet', () => {
    const rx = new Receiver({ schemes: SCHEMES, tsi: TSI, cciLength: 4 });
    const oti: FecOti = { encodingId: 3, transferLength: 6_000_000, symbolSize: 1000, maxSourceBlockLength: 2000, maxEncodingSymbols: 3000, n1m3: 0, seed: 1 };
    const ids: Array<[number, number]> = [[0, 0], [1, 2999], [1, 1024], [2, 1], [0, 2048]];
    ids.forEach(([sbn, esi], i) => {
      const cci = new Uint8Array([i, 0xff - i, i * 3, 7]);
      rx.handleDatagram(i, pkt({ tsi: TSI, toi: 9, codepoint: 3, cci, fti: oti, sbn, esi, payload: new Uint8Array(1000).fill(i) }), SRC);
    });
    expect(spooled(rx)).toEqual(ids.map(([sbn, esi]) => [9, sbn, esi]));
    expect(rx.objectStats(9)?.packets).toBe(ids.length);
    expect(rx.receiverStats().dropped).toEqual({});
  });

  it('datagrams are views of one reused receive buffer (as from recvmmsg): the remembered header is a copy', () => {
    const rx = new Receiver({ schemes: SCHEMES, tsi: TSI, cciLength: 4 });
    const oti: FecOti = { encodingId: 3, transferLength: 6_000_000, symbolSize: 1000, maxSourceBlockLength: 2000, maxEncodingSymbols: 3000, n1m3: 0, seed: 1 };
    const cidOti: FecOti = { encodingId: 0, transferLength: 200, symbolSize: 100, maxSourceBlockLength: 2 };
    const slot = Buffer.alloc(2048);
    const feed = (p: Parameters<typeof encodeAlcPacket>[1]): void => rx.handleDatagram(0, slot.subarray(0, encodeAlcPacket(slot, p)), SRC);
    feed({ tsi: TSI, toi: 9, codepoint: 3, fti: oti, sbn: 2, esi: 5, payload: new Uint8Array(1000) });
    // Another object's packet lands in the same memory: it must not be read with TOI 9's header.
    feed({ tsi: TSI, toi: 1, codepoint: 0, fti: cidOti, sbn: 0, esi: 0, payload: new Uint8Array(100) });
    feed({ tsi: TSI, toi: 9, codepoint: 3, fti: oti, sbn: 1, esi: 7, payload: new Uint8Array(1000) });
    expect(spooled(rx)).toEqual([[9, 2, 5], [1, 0, 0], [9, 1, 7]]);
    expect(rx.receiverStats().dropped).toEqual({});
  });

  it('the same bytes from another sender are another session; flags and EXT_FTI changes take the full path', () => {
    // No TSI given: the first packet picks the session and its sender.
    const rx = new Receiver({ schemes: SCHEMES, cciLength: 4 });
    const oti: FecOti = { encodingId: 0, transferLength: 160, symbolSize: 16, maxSourceBlockLength: 4 };
    const data = (p: object): Uint8Array => pkt({ tsi: TSI, toi: 5, codepoint: 0, fti: oti, sbn: 0, esi: 0, payload: new Uint8Array(16), ...p });
    rx.handleDatagram(0, data({}), SRC);
    rx.handleDatagram(0, data({}), SRC);
    rx.handleDatagram(0, data({ esi: 1 }), SRC);
    rx.handleDatagram(0, data({ esi: 2 }), '10.0.0.2');
    expect(rx.receiverStats().otherSession).toBe(1);
    // B flag set: same TOI and payload layout, different header byte: the object is closed once.
    rx.handleDatagram(0, data({ esi: 3, closeObject: true }), SRC);
    rx.handleDatagram(0, data({ sbn: 1, esi: 0, closeObject: true }), SRC);
    const events = [] as string[];
    for (let ev = rx.poll(); ev !== undefined; ev = rx.poll()) events.push(ev.kind === 'spool' ? `spool ${ev.sbn}/${ev.esi}` : ev.kind);
    expect(events).toEqual(['session', 'object-open', 'spool 0/0', 'spool 0/1', 'object-closed', 'spool 0/3', 'spool 1/0']);
    // Another OTI for the same TOI: the header differs in EXT_FTI, so it is checked and dropped.
    rx.handleDatagram(0, data({ sbn: 1, esi: 1, fti: { ...oti, transferLength: 170 } }), SRC);
    // Then a good header again, and bad payloads behind it: the same codes as the full path.
    rx.handleDatagram(0, data({ sbn: 1, esi: 2 }), SRC);
    rx.handleDatagram(0, data({ sbn: 99, esi: 0 }), SRC);
    rx.handleDatagram(0, data({ sbn: 1, esi: 7 }), SRC);
    rx.handleDatagram(0, data({ sbn: 1, esi: 1, payload: new Uint8Array(15) }), SRC);
    rx.handleDatagram(0, data({ sbn: 1, esi: 2 }), SRC);
    const st = rx.receiverStats();
    expect(st.dropped).toEqual({ FTI_CONFLICT: 1, FEC_SBN: 1, FEC_ESI: 1, FEC_SYMBOL_SIZE: 1 });
    // The first packet is kept (it waited for the session event): the second, the same, and the
    // second sbn 1/esi 2 are duplicates.
    expect(st.duplicates).toBe(2);
    expect(spooled(rx)).toEqual([[5, 1, 2]]);
  });
});
