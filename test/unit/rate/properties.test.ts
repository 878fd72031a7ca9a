// Properties of the WEBRC core over generated parameters and packet streams (fast-check): the
// sender's PSN and rate rules hold for any valid session, and no packet stream can push the
// receiver outside its invariants (RFC 3738 §3.1.2, §3.2; SPEC-NOTES §7 rows 20-22).
// FCAST_RATE_RUNS overrides the number of runs per property (40 / 300 by default).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { resolveWebrcParams } from '../../../src/rate/params.js';
import { WebrcReceiver } from '../../../src/rate/receiver.js';
import { SenderSchedule } from '../../../src/rate/sender-schedule.js';

const sessions = fc.record({
  tsd: fc.double({ min: 0.2, max: 3, noNaN: true }),
  qdSlots: fc.integer({ min: 2, max: 12 }),
  bcr: fc.double({ min: 1, max: 8, noNaN: true }),
  p: fc.double({ min: 0.5, max: 0.9, noNaN: true }),
  headroom: fc.double({ min: 1, max: 3, noNaN: true }),
  n: fc.integer({ min: 2, max: 8 }),
  constantRate: fc.boolean(),
  startCtsi: fc.nat(),
});

describe('sender schedule properties', () => {
  it('keeps every PSN rule and the nominal rate bound for any valid session', () => {
    fc.assert(
      fc.property(sessions, (s) => {
        const peak = s.bcr * ((Math.pow(1 / s.p, s.n + 1) - 1) / (1 / s.p - 1));
        const params = resolveWebrcParams({
          srBps: peak * s.headroom * 8 * 100,
          packetLength: 100,
          bcr: s.bcr,
          p: s.p,
          n: s.n,
          tsd: s.tsd,
          qd: s.qdSlots * s.tsd,
          constantRate: s.constantRate,
        });
        const ctsi0 = s.startCtsi % params.t;
        const sched = new SenderSchedule(params, 0, ctsi0);
        const lastPsn = new Map<number, { psn: number; ctsi: number }>();
        let prevAt = -Infinity;
        const until = params.cycle * 1000 * 1.2;
        for (let pkt = sched.next(until); pkt !== undefined; pkt = sched.next(until)) {
          if (!Number.isFinite(pkt.at) || pkt.at < prevAt) return false;
          prevAt = pkt.at;
          const prev = lastPsn.get(pkt.cn);
          if (pkt.cn === params.baseCn) {
            if (prev !== undefined && pkt.psn !== (prev.psn + 1) % params.basePsnModulus) return false;
            if ((pkt.psn % params.l === 0) !== (prev === undefined || prev.ctsi !== pkt.ctsi)) return false;
          } else {
            const active = (((pkt.cn - pkt.ctsi) % params.t) + params.t) % params.t < params.n;
            if (!active) return false;
            // A new wave starts right after the 2^16 − 1 that ended the previous one.
            if (prev !== undefined && pkt.psn !== ((prev.psn + 1) & 0xffff) && prev.psn !== 0xffff) return false;
          }
          lastPsn.set(pkt.cn, { psn: pkt.psn, ctsi: pkt.ctsi });
        }
        for (let ms = 0; ms < params.cycle * 1000; ms += params.tsd * 137) {
          const agg = sched.rates(ms).aggregate;
          if (agg > params.srP * (1 + 1e-9)) return false;
          if (params.constantRate && Math.abs(agg - params.srP) > 1e-6 * params.srP) return false;
        }
        return true;
      }),
      // Includes the session that once made the schedule compute NaN times (a wave done before startMs).
      {
        numRuns: Number(process.env.FCAST_RATE_RUNS ?? 40),
        examples: [[{ tsd: 0.2, qdSlots: 2, bcr: 1, p: 0.530642448903982, headroom: 1, n: 4, constantRate: true, startCtsi: 0 }]],
      },
    );
  });
});

describe('receiver invariants under arbitrary packet streams', () => {
  const params = resolveWebrcParams({ srBps: 200 * 8 * 100, packetLength: 100, tsd: 1, qd: 6, bcr: 4 });
  const events = fc.array(
    fc.oneof(
      fc.record({
        kind: fc.constant('packet' as const),
        dt: fc.integer({ min: 0, max: 400 }),
        cn: fc.oneof(fc.constant(params.t), fc.integer({ min: 0, max: params.t })),
        ctsi: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: params.t - 1 })),
        psn: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0xfff0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })),
      }),
      fc.record({ kind: fc.constant('time' as const), dt: fc.integer({ min: 0, max: 3000 }) }),
    ),
    { maxLength: 400 },
  );

  it('joins only the base first, keeps NWC in 0..N, never joins a channel twice, leaves the session once, and its timers move forward', () => {
    fc.assert(
      fc.property(events, (evs) => {
        let now = 0;
        const rx = new WebrcReceiver(params, now);
        const joined = new Set<number>();
        let left = false;
        const first = rx.poll();
        if (first?.kind !== 'join' || first.cn !== params.baseCn) return false;
        joined.add(first.cn);
        for (const e of evs) {
          now += e.dt;
          if (e.kind === 'packet') rx.onPacket(now, { cn: e.cn, ctsi: e.ctsi, psn: e.psn });
          for (let i = 0, t = rx.nextTimeout(); t !== undefined && t <= now && i < 1000; i++, t = rx.nextTimeout()) {
            rx.handleTimeout(t);
            if ((rx.nextTimeout() ?? Infinity) <= t) return false; // a timer that does not move on
          }
          for (let a = rx.poll(); a !== undefined; a = rx.poll()) {
            if (left) return false; // nothing after leave-session
            if (a.kind === 'leave-session') left = true;
            else if (a.kind === 'join') {
              if (joined.has(a.cn) || a.cn >= params.t) return false;
              joined.add(a.cn);
            } else if (a.kind === 'leave') {
              if (!joined.delete(a.cn)) return false;
            }
          }
          const s = rx.status();
          if (s.nwc < 0 || s.nwc > params.n || s.nwc !== s.joined.length) return false;
          if (!s.closed && s.joined.some((cn) => !joined.has(cn))) return false;
          if (![s.trr, s.arr, s.lossp, s.artt, s.targetRate].every(Number.isFinite)) return false;
        }
        return true;
      }),
      { numRuns: Number(process.env.FCAST_RATE_RUNS ?? 300) },
    );
  });
});
