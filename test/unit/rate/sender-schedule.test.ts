// WEBRC sender schedule: channel rates, PSN rules over a whole cycle, constant aggregate with
// shaping (RFC 3738 §3.1.2, §5.1; SPEC-NOTES §6.2, §6.5).
import { describe, expect, it } from 'vitest';
import { decodeCci } from '../../../src/rate/cci.js';
import { resolveWebrcParams, type WebrcParams } from '../../../src/rate/params.js';
import { SenderSchedule, type ScheduledPacket } from '../../../src/rate/sender-schedule.js';
import { layerRateAt } from '../../../src/rate/waves.js';

/** The SPEC-NOTES §6.5 session: P 0.75, BCR_P 1, TSD 10, QD 300, N 10, pure exponential waves. */
const example = resolveWebrcParams({ srBps: 68.1 * 8 * 1400, packetLength: 1400, n: 10, constantRate: false });

function drain(s: SenderSchedule, until: number): ScheduledPacket[] {
  const out: ScheduledPacket[] = [];
  for (let p = s.next(until); p !== undefined; p = s.next(until)) out.push(p);
  return out;
}

describe('channel rates (SPEC-NOTES §6.5 table)', () => {
  const start = [1.0, 1.333, 1.778, 2.37, 3.16, 4.214, 5.619, 7.492, 9.989, 13.32, 17.76];
  it('gives the per-layer rates at slot start and end', () => {
    const s = new SenderSchedule(example, 0, 5);
    const atStart = s.rates(0);
    expect(atStart.ctsi).toBe(5);
    expect(atStart.base).toBeCloseTo(1, 9);
    expect(atStart.waves.map((w) => w.cn)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    atStart.waves.forEach((w, i) => expect(w.rate).toBeCloseTo(start[i + 1], 2));
    expect(atStart.aggregate).toBeCloseTo(68.03, 2);
    const atEnd = s.rates(10_000 - 1e-6);
    expect(atEnd.base).toBeCloseTo(0.75, 6);
    atEnd.waves.forEach((w, i) => expect(w.rate).toBeCloseTo(start[i] * 1, 2));
    expect(atEnd.aggregate).toBeCloseTo(51.02, 2);
    expect(layerRateAt(example, 10, 0)).toBeCloseTo(17.76, 2);
    // Slot 6: CN 5 went quiescent, CN 15 started as layer 10.
    expect(s.rates(10_000).waves.map((w) => w.cn)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('counts 583 packets per exponential wave: first PSN 64,953', () => {
    const s = new SenderSchedule(example, 0);
    expect(s.profile.count).toBe(583);
    expect(s.profile.psnOf(0)).toBe(64953);
    expect(s.profile.psnOf(582)).toBe(65535);
  });
});

/** Check every PSN rule on the packets, in send order; collects violations (one expect, fast). */
function checkPsnRules(params: WebrcParams, packets: readonly ScheduledPacket[], waveCount: number): void {
  const bad: string[] = [];
  const byCn = new Map<number, ScheduledPacket[]>();
  for (const p of packets) {
    const list = byCn.get(p.cn) ?? [];
    list.push(p);
    byCn.set(p.cn, list);
  }
  const base = byCn.get(params.baseCn) ?? [];
  // Base: L packets per slot, the first with PSN ≡ 0 mod L, consecutive modulo the wrap point.
  for (let i = 0; i < base.length; i++) {
    if (i > 0 && base[i].psn !== (base[i - 1].psn + 1) % params.basePsnModulus) bad.push(`base psn ${base[i].psn} at ${i}`);
    const firstOfSlot = i === 0 || base[i].ctsi !== base[i - 1].ctsi;
    if ((base[i].psn % params.l === 0) !== firstOfSlot) bad.push(`base psn ${base[i].psn} first-of-slot ${firstOfSlot}`);
  }
  // Waves: consecutive PSNs, the last before quiescence 65,535, all inside the wave's N slots.
  for (let cn = 0; cn < params.t; cn++) {
    const wave = byCn.get(cn) ?? [];
    for (let i = 1; i < wave.length; i++) {
      const quiescentGap = wave[i].at - wave[i - 1].at > params.q * params.tsd * 1000 * 0.9;
      if (quiescentGap) {
        if (wave[i - 1].psn !== 65535) bad.push(`cn ${cn} wave ended at psn ${wave[i - 1].psn}`);
        if (wave[i].psn !== ((0x10000 - waveCount) & 0xffff)) bad.push(`cn ${cn} wave began at psn ${wave[i].psn}`);
      } else if (wave[i].psn !== ((wave[i - 1].psn + 1) & 0xffff)) {
        bad.push(`cn ${cn} psn ${wave[i].psn} after ${wave[i - 1].psn}`);
      }
    }
    for (const p of wave) {
      const d = (((cn - p.ctsi) % params.t) + params.t) % params.t;
      if (d >= params.n) bad.push(`cn ${cn} sent in ctsi ${p.ctsi}`); // active in CTSI cn−N+1 ... cn
    }
  }
  expect(bad.slice(0, 10)).toEqual([]);
}

describe('PSN rules over a whole cycle (RFC 3738 §3.1.2)', () => {
  it('holds for the exponential example over 1.5 cycles', () => {
    const s = new SenderSchedule(example, 1000, 7);
    const packets = drain(s, 1000 + example.cycle * 1500);
    checkPsnRules(example, packets, s.profile.count);
    // Every wave channel completed at least one whole wave ending in 65,535.
    const ends = packets.filter((p) => p.cn < example.t && p.psn === 65535);
    expect(new Set(ends.map((p) => p.cn)).size).toBe(example.t);
    // Packets come out in time order and the CCI bytes agree with the fields.
    expect(packets.every((p, i) => i === 0 || p.at >= packets[i - 1].at)).toBe(true);
    const sample = packets.slice(0, 500);
    expect(sample.map((p) => decodeCci(p.cci, example.t))).toEqual(sample.map(({ ctsi, cn, psn }) => ({ ctsi, cn, psn })));
  });

  it('wraps the base PSN at the largest multiple of L <= 2^16', () => {
    // BCR_P = 1000 pkt/s: L = ceil(8,690.1) = 8,691, so the wrap comes at 7·8,691 = 60,837 in slot 7.
    const big = resolveWebrcParams({ srBps: 4200 * 8 * 100, packetLength: 100, bcr: 1000, n: 2 });
    expect(big.l).toBe(8691);
    const s = new SenderSchedule(big, 0);
    let last = -1;
    let wrapped = false;
    for (let p = s.next(80_000); p !== undefined; p = s.next(80_000)) {
      if (p.cn !== big.baseCn) continue;
      if (p.psn < last) {
        expect(last).toBe(60836);
        expect(p.ctsi).toBe(7);
        expect(p.psn).toBe(0);
        wrapped = true;
      }
      last = p.psn;
    }
    expect(wrapped).toBe(true);
  });
});

describe('constant aggregate with shaping (RFC 3738 §3.1.2)', () => {
  const shaped = resolveWebrcParams({ srBps: 200 * 8 * 1000, packetLength: 1000, tsd: 2, qd: 20, bcr: 5 });

  it('keeps the nominal aggregate at SR_P at every instant', () => {
    const s = new SenderSchedule(shaped, 0, 3);
    for (let ms = 0; ms < shaped.cycle * 1000; ms += 137) {
      expect(s.rates(ms).aggregate).toBeCloseTo(shaped.srP, 6);
    }
  });

  it('sends SR_P packets per second, within rounding, in every 1 s window over a cycle', () => {
    const s = new SenderSchedule(shaped, 0, 3);
    const packets = drain(s, shaped.cycle * 1000);
    checkPsnRules(shaped, packets, s.profile.count);
    const perSecond = new Array<number>(Math.round(shaped.cycle)).fill(0);
    for (const p of packets) {
      const sec = Math.floor(p.at / 1000);
      if (sec < perSecond.length) perSecond[sec]++;
    }
    // Each of the N + 1 channels can be off by one packet per window.
    for (const count of perSecond) expect(Math.abs(count - shaped.srP)).toBeLessThanOrEqual(shaped.n + 1);
    const total = perSecond.reduce((a, b) => a + b, 0);
    // Rounding only adds: L = ceil(8.69) base packets per slot and a whole last packet per wave.
    expect(total / perSecond.length - shaped.srP).toBeGreaterThanOrEqual(0);
    expect(total / perSecond.length - shaped.srP).toBeLessThan(1);
  });

  it('keeps waves exponential after their first slot and ending at BCR_P', () => {
    const s = new SenderSchedule(shaped, 0);
    const { tsd, n, bcr, p } = shaped;
    for (let slot = 1; slot < n; slot++) {
      const u = slot * tsd + 0.3 * tsd;
      expect(s.profile.rateAt(u)).toBeCloseTo(bcr * Math.pow(1 / p, n - slot) * Math.pow(p, 0.3), 9);
    }
    expect(s.profile.rateAt(n * tsd - 1e-9)).toBeCloseTo(bcr, 6);
  });
});
