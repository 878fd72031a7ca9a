// Shared-flow crypto (src/flexicast/flow-crypto.ts): seal/open, forged, replayed and wrong-epoch
// packets dropped with their codes, the replay window's edges, and key rotation.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FLOW_OVERHEAD, FlowOpener, FlowSealer, ReplayWindow, deriveFlowKey, flowAead, nativeAead, nodeAead, openFlowPacket, peekFlowHeader,
  sealFlowPacket,
} from '../../../src/flexicast/flow-crypto.js';

const secret = new Uint8Array(32).fill(7);

describe('flow crypto', () => {
  it('derives distinct keys per flow and epoch, deterministically', () => {
    const raw = (flow: number, epoch: number, s = secret) => {
      const k = deriveFlowKey(flow, epoch, s);
      return Buffer.concat([k.key.export(), k.iv]).toString('hex');
    };
    expect(raw(1, 0)).toBe(raw(1, 0));
    expect(raw(1, 0)).toHaveLength(88);
    expect(new Set([raw(1, 0), raw(1, 1), raw(2, 0), raw(1, 0, new Uint8Array(32))]).size).toBe(4);
  });

  it('round-trips any packet and never repeats a ciphertext for the same plaintext', () => {
    const key = deriveFlowKey(9, 3, secret);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1500 }), fc.integer({ min: 0, max: 2 ** 48 - 2 }), (p, seq) => {
      const sealed = sealFlowPacket(key, seq, p);
      expect(sealed.length).toBe(p.length + FLOW_OVERHEAD);
      expect(sealed[0]).toBe(0xf1);
      expect(peekFlowHeader(sealed)).toEqual({ epoch: 3, seq });
      expect(Buffer.from(openFlowPacket(key, sealed)).equals(Buffer.from(p))).toBe(true);
      if (p.length > 0) expect(Buffer.from(sealFlowPacket(key, seq + 1, p)).equals(Buffer.from(sealed))).toBe(false);
    }), { numRuns: 300 });
  });

  it('drops forged packets: any altered byte of header, body or tag, or the wrong key', () => {
    const key = deriveFlowKey(1, 0, secret);
    const opener = new FlowOpener();
    opener.install(key);
    const sealed = sealFlowPacket(key, 5, randomBytes(200));
    for (const at of [1, 4, 6, 10, 11, 100, sealed.length - 1]) {
      const forged = sealed.slice();
      forged[at]! ^= 0x01;
      expect(opener.open(forged)).toBeUndefined();
    }
    // The right header under another secret: a non-member cannot produce valid packets.
    expect(opener.open(sealFlowPacket(deriveFlowKey(1, 0, randomBytes(32)), 6, randomBytes(50)))).toBeUndefined();
    // Altering the epoch bytes yields an epoch we do not hold, or fails authentication.
    expect(opener.dropped.FLEX_AUTH + opener.dropped.FLEX_EPOCH).toBe(8);
    expect(opener.dropped.FLEX_AUTH).toBeGreaterThanOrEqual(4);
    // The genuine packet still opens: forgeries did not move the replay window.
    expect(opener.open(sealed)).toBeDefined();
    expect(opener.open(new Uint8Array(10))).toBeUndefined();
    expect(opener.open(new Uint8Array(40).fill(0x10))).toBeUndefined();
    expect(opener.dropped.FLEX_LENGTH).toBe(1);
    expect(opener.dropped.FLEX_VERSION).toBe(1);
  });

  it('drops replays and packets older than the window, accepts reordering inside it', () => {
    const key = deriveFlowKey(1, 0, secret);
    const opener = new FlowOpener(3, 64);
    opener.install(key);
    const packets = Array.from({ length: 200 }, (_, seq) => sealFlowPacket(key, seq, Uint8Array.of(seq & 0xff)));
    expect(opener.open(packets[10]!)).toBeDefined();
    expect(opener.open(packets[3]!)).toBeDefined(); // late but inside the window
    expect(opener.open(packets[10]!)).toBeUndefined();
    expect(opener.open(packets[150]!)).toBeDefined();
    expect(opener.open(packets[86]!)).toBeUndefined(); // 64 below the highest: too old
    expect(opener.open(packets[87]!)).toBeDefined();
    expect(opener.open(packets[87]!)).toBeUndefined();
    expect(opener.dropped.FLEX_REPLAY).toBe(3);
    expect(opener.opened).toBe(4);
  });

  it('a packet that came by multicast and as an FC-msg copy is a duplicate, not FLEX_REPLAY; twice the same way is FLEX_REPLAY', () => {
    const key = deriveFlowKey(1, 0, secret);
    const opener = new FlowOpener(3, 64);
    opener.install(key);
    const packets = Array.from({ length: 200 }, (_, seq) => sealFlowPacket(key, seq, Uint8Array.of(seq & 0xff)));
    expect(opener.open(packets[1]!)).toBeDefined();
    expect(opener.open(packets[1]!, true)).toBeUndefined(); // multicast, then the copy
    expect(opener.open(packets[2]!, true)).toBeDefined();
    expect(opener.open(packets[2]!)).toBeUndefined(); // the copy, then multicast
    expect(opener.dropped.FLEX_REPLAY).toBe(0);
    expect(opener.duplicates).toBe(2);
    expect(opener.open(packets[1]!)).toBeUndefined(); // multicast again
    expect(opener.open(packets[2]!, true)).toBeUndefined(); // the copy again
    expect(opener.dropped.FLEX_REPLAY).toBe(2);
    expect(opener.duplicates).toBe(2);
    // A window slot reused by a later seq forgets the earlier one's way: 2 came as a copy, 66
    // (same slot) by multicast, so a copy of 66 is a duplicate and multicast again a replay.
    expect(opener.open(packets[66]!)).toBeDefined();
    expect(opener.open(packets[66]!, true)).toBeUndefined();
    expect(opener.open(packets[66]!)).toBeUndefined();
    expect(opener.duplicates).toBe(3);
    expect(opener.dropped.FLEX_REPLAY).toBe(3);
    expect(opener.opened).toBe(3);
  });

  it('replay window agrees with a reference set on random sequences', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 400 }), (seqs) => {
      const w = new ReplayWindow(64);
      const seen = new Set<number>();
      let highest = -1;
      for (const s of seqs) {
        const expected = s > highest ? 'fresh' : highest - s >= 64 ? 'old' : seen.has(s) ? 'replay' : 'fresh';
        expect(w.check(s)).toBe(expected);
        if (expected === 'fresh') { w.commit(s); seen.add(s); highest = Math.max(highest, s); }
      }
    }), { numRuns: 300 });
  });

  it('rotates epochs: packets of an unknown or retired epoch are dropped as FLEX_EPOCH', () => {
    const s0 = randomBytes(32);
    const s1 = randomBytes(32);
    const sealer = new FlowSealer(deriveFlowKey(4, 0, s0));
    const opener = new FlowOpener(2);
    opener.install(deriveFlowKey(4, 0, s0));
    const p0 = sealer.seal(Uint8Array.of(1));
    expect(Array.from(opener.open(p0) ?? [])).toEqual([1]);
    sealer.rotate(deriveFlowKey(4, 1, s1));
    const p1 = sealer.seal(Uint8Array.of(2));
    expect(peekFlowHeader(p1)).toEqual({ epoch: 1, seq: 0 });
    expect(opener.open(p1)).toBeUndefined(); // next key not yet received
    expect(opener.dropped.FLEX_EPOCH).toBe(1);
    opener.install(deriveFlowKey(4, 1, s1));
    expect(Array.from(opener.open(p1) ?? [])).toEqual([2]);
    opener.install(deriveFlowKey(4, 2, randomBytes(32)));
    expect(opener.heldEpochs).toEqual([1, 2]);
    expect(opener.open(sealFlowPacket(deriveFlowKey(4, 0, s0), 9, Uint8Array.of(3)))).toBeUndefined();
    expect(opener.dropped.FLEX_EPOCH).toBe(2);
    expect(() => sealer.rotate(deriveFlowKey(4, 1, s1))).toThrow(expect.objectContaining({ code: 'FLEX_VALUE' }));
  });

  it('native and node:crypto AEAD paths produce the same packets and open each other\'s', () => {
    const native = nativeAead();
    expect(native, 'the addon provides aeadSeal/aeadOpen').toBeDefined();
    expect(flowAead().name).toBe('native');
    const key = deriveFlowKey(3, 9, secret);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1500 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), (p, seq) => {
      const a = sealFlowPacket(key, seq, p, nodeAead);
      const b = sealFlowPacket(key, seq, p, native!);
      expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
      expect(Buffer.from(openFlowPacket(key, a, native!)).equals(Buffer.from(p))).toBe(true);
      expect(Buffer.from(openFlowPacket(key, b, nodeAead)).equals(Buffer.from(p))).toBe(true);
      const forged = a.slice();
      forged[forged.length - 1 - (seq % Math.max(1, forged.length - 11))]! ^= 0x80;
      for (const impl of [native!, nodeAead]) expect(() => openFlowPacket(key, forged, impl)).toThrow(expect.objectContaining({ code: 'FLEX_AUTH' }));
    }), { numRuns: 300 });
  });

  it('never evicts the live epoch when several next keys arrive during one rotation', () => {
    const opener = new FlowOpener(3);
    const k0 = deriveFlowKey(1, 0, randomBytes(32));
    opener.install(k0);
    expect(opener.open(sealFlowPacket(k0, 0, Uint8Array.of(1)))).toBeDefined();
    for (const e of [1, 2, 3]) opener.install(deriveFlowKey(1, e, randomBytes(32)));
    expect(opener.heldEpochs).toEqual([0, 2, 3]);
    expect(opener.open(sealFlowPacket(k0, 1, Uint8Array.of(2)))).toBeDefined();
  });
});
