// CarouselSender.pollRun against poll(): the same sessions driven packet by packet and in runs
// (random run lengths and byte budgets, reads completing a few polls late, runs never spanning a
// read's completion) give the same stream: every datagram byte, every read and wait, in order.
// The runs' datagrams are filled by the addon's fillRun (the shell's native fill, when built)
// and by a TypeScript fill of the DataRun rules, which must agree.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { schemeFor } from '../../../codecs/index.js';
import { getNative } from '../../../codecs/native.js';
import { CarouselSender, DataRun, Rng, type SenderConfig } from '../../../src/carousel/index.js';
import { E, LDPC, fileOf, mid, onDemandTwoFiles, pushOneFile, pushThreeFiles, type SessionCase } from './session-data.js';

const OVERHEAD = 28;
/** Time per packet and per wait, ms of `now`. */
const TX_MS = 0.25;
const WAIT_MS = 1;

type FillRun = (stage: Uint8Array, used: number, meta: Uint32Array, at: number, dest: number, headers: Uint8Array[], payloads: Uint8Array[], words: Uint32Array, count: number) => number;
const nativeFill = (getNative() as unknown as { fillRun?: FillRun } | undefined)?.fillRun;

/** Packet i of a run as DataRun documents it, in TypeScript. */
function datagramOf(run: DataRun, i: number): Uint8Array {
  const h = run.headers[i]!;
  const p = run.payloads[i]!;
  const d = new Uint8Array(h.length + p.length);
  const view = new DataView(d.buffer);
  d.set(h);
  view.setUint32(4, run.words[2 * i + 1]!);
  view.setUint32(h.length - 4, run.words[2 * i]!);
  d.set(p, h.length);
  return d;
}

interface Stream {
  readonly digest: string;
  readonly packets: number;
  /** Runs of more than one packet (runs mode). */
  readonly longRuns: number;
}

/**
 * Drive a session to its end: `runs` = pollRun first (a random length and budget each time), poll()
 * when it gives nothing. Each packet counts as one poll for the reads' delays, and takes TX_MS.
 */
function drive(cfg: SenderConfig, data: readonly Uint8Array[], readDelay: number, runs: boolean): Stream {
  const core = new CarouselSender(cfg);
  const hash = createHash('sha256');
  const pending: { id: number; due: number }[] = [];
  const rng = new Rng(99);
  const run = new DataRun(64);
  const stage = new Uint8Array(1 << 20);
  const meta = new Uint32Array(64 * 3);
  let packets = 0;
  let longRuns = 0;
  let now = 0;
  // When the current CID burst began (its first packet), as the core keeps it.
  let cidAt = -Infinity;
  let inCid = false;
  const datagram = (d: Uint8Array): void => {
    hash.update(`t${d.length}:`).update(d);
    packets++;
  };
  for (let polls = 0; polls < 2_000_000; polls++) {
    while (pending.length > 0 && pending[0]!.due <= polls) core.readDone(pending.shift()!.id);
    if (runs) {
      const untilRead = pending.length > 0 ? pending[0]!.due - polls : Infinity;
      // Packet j of a run goes at now + j·TX_MS in the packet-by-packet drive: keep it before the
      // deadline and the next CID burst (the shell's runs go at one `now`; this drive's clocks must agree).
      const untilEnd = cfg.mode === 'on-demand' ? Math.ceil((cfg.deadline! - now) / TX_MS) : Infinity;
      const untilCid = Math.ceil((cidAt + (cfg.cidIntervalMs ?? 1000) - now) / TX_MS);
      const max = Math.min(1 + (rng.next() % 64), untilRead, untilEnd, untilCid);
      const budget = rng.next() % 4 === 0 ? (rng.next() % 20) * (E + 60) : 1 << 20;
      const n = max > 0 ? core.pollRun(now, run, max, budget, OVERHEAD) : 0;
      if (n > 0) {
        expect(n).toBeLessThanOrEqual(max);
        expect(run.wireBytes).toBeLessThanOrEqual(budget);
        if (n > 1) longRuns++;
        const used = nativeFill?.(stage, 0, meta, 0, 3, run.headers, run.payloads, run.words, n);
        for (let i = 0; i < n; i++) {
          const d = datagramOf(run, i);
          if (used !== undefined) {
            expect(meta[3 * i + 1]).toBe(d.length);
            expect(meta[3 * i + 2]).toBe(3);
            expect(Buffer.from(stage.subarray(meta[3 * i]!, meta[3 * i]! + d.length)).equals(d)).toBe(true);
          }
          datagram(d);
        }
        polls += n - 1;
        now += n * TX_MS;
        inCid = false;
        continue;
      }
    }
    const o = core.poll(now);
    if (o.kind === 'done') return { digest: hash.digest('hex'), packets, longRuns };
    if (o.kind === 'transmit') {
      if (o.toi === 1 && !inCid) cidAt = now;
      inCid = o.toi === 1;
      datagram(o.bytes);
      now += TX_MS;
    } else if (o.kind === 'read') {
      hash.update(`r${o.key}.${o.fileOffset}.${o.target.length};`);
      o.target.set(data[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
      pending.push({ id: o.id, due: polls + readDelay });
    } else {
      hash.update(`w${o.until ?? -1};`);
      now += WAIT_MS;
    }
  }
  throw new Error('the sender did not finish');
}

// No CID repeat within a session's time: only at each cycle's start.
const NO_CID_REPEAT = 1e9;

const cases: SessionCase[] = [
  { name: 'push, one file, repair pass with every block at once', ...pushOneFile({ cidIntervalMs: NO_CID_REPEAT }) },
  { name: 'push, three files, two cycles (close flags), W 4, repair in rounds', ...pushThreeFiles({ cidIntervalMs: NO_CID_REPEAT }) },
  { name: 'on-demand (EXT_TIME), No-Code and LDPC files, CID every 50 ms', ...onDemandTwoFiles({ cidIntervalMs: 50, channel: 3 }) },
];

describe('carousel sender: pollRun gives the packets poll() gives', () => {
  for (const c of cases) {
    it(c.name, () => {
      const one = drive(c.cfg, c.data, c.readDelay, false);
      const inRuns = drive(c.cfg, c.data, c.readDelay, true);
      expect(inRuns.digest).toBe(one.digest);
      expect(inRuns.packets).toBe(one.packets);
      expect(inRuns.longRuns).toBeGreaterThan(10);
    });
  }

  it('a run stops at a full budget and at its capacity, and describes nothing while a read is kept', () => {
    const core = new CarouselSender({ tsi: 1, files: [fileOf(0, 'mid.bin', mid.length)], fec: LDPC, schemes: schemeFor, mode: 'push', seed: 1, cidIntervalMs: NO_CID_REPEAT });
    const run = new DataRun(8);
    // The CID goes first: never in a run.
    expect(core.pollRun(0, run, 8, 1 << 20, 0)).toBe(0);
    let o = core.poll(0);
    expect(o.kind).toBe('transmit');
    // The block reads: each is kept for poll(), which returns it before anything else.
    for (let i = 0; i < 10; i++) {
      if (core.pollRun(0, run, 8, 1 << 20, 0) > 0) break;
      o = core.poll(0);
      if (o.kind === 'read') {
        o.target.set(mid.subarray(o.fileOffset, o.fileOffset + o.target.length));
        core.readDone(o.id);
      }
    }
    expect(core.pollRun(0, run, 100, 1 << 20, 0)).toBe(8);
    expect(core.pollRun(0, run, 8, 2 * (E + 100), OVERHEAD)).toBe(2);
    expect(core.pollRun(0, run, 8, 100, 0)).toBe(0);
    expect(() => new DataRun(0)).toThrow(/capacity/);
  });
});
