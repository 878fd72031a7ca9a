// Receiver.blockNeeds (src/assembly/receiver.ts): what a flexicast REPORT asks for. Partial
// receptions list exactly the undecoded blocks with k − held symbols; objects of the CID not heard
// yet are probes (sbn 0, needed 1); a complete reception needs nothing.
import { describe, expect, it } from 'vitest';
import { bytes, simulate, type SimFile } from '../assembly/sim.js';

const files: SimFile[] = [
  { path: 'a.bin', data: bytes(256 * 64 * 4 + 5, 1) },
  { path: 'b.bin', data: bytes(3000, 2) },
];

describe('Receiver.blockNeeds', () => {
  it('complete: nothing needed', () => {
    const r = simulate({ files });
    expect(r.complete).toBe(true);
    expect(r.receiver.blockNeeds(100)).toEqual([]);
  });

  it('partial: undecoded blocks with k minus held, sorted, capped; unseen objects probed', () => {
    const r = simulate({ files, maxPackets: 40, channel: { loss: 0.3 }, seed: 4 });
    expect(r.complete).toBe(false);
    const needs = r.receiver.blockNeeds(1000);
    expect(needs.length).toBeGreaterThan(0);
    const keys = needs.map((n) => n.toi * 1e6 + n.sbn);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    for (const n of needs) expect(n.needed).toBeGreaterThan(0);
    const stats = new Map(r.receiver.allObjectStats().map((o) => [o.toi, o]));
    for (const n of needs) {
      const o = stats.get(n.toi);
      if (o === undefined) expect(n).toEqual({ toi: n.toi, sbn: 0, needed: 1 });
      else expect(o.phase).not.toBe('verified');
    }
    expect(r.receiver.blockNeeds(2)).toEqual(needs.slice(0, 2));
  });
});
