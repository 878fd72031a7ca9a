// Receiver's native fast path (src/assembly/receiver.ts "Native fast path",
// codecs/ldpc-staircase/native-fast.ts): the same datagram sequences through the core with it on
// and off give the same events (kinds, order, contents) and the same stats. Sequences: a real
// carousel's packets (LDPC, the mixed tree: CID, short last symbols, several objects) with loss,
// duplicates, reordering, other sessions and sources, No-Code objects interleaved, and broken
// ones (bad SBN, ESI, lengths, truncated headers), in batches of random sizes, with and without a
// memory budget that keeps blocks cold until their decode request.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecvFastTable } from '../../../codecs/ldpc-staircase/native-fast.js';
import { nativeCodec } from '../../../codecs/ldpc-staircase/native-code.js';
import type { FecOti } from '../../../codecs/types.js';
import { CarouselSender } from '../../../src/carousel/sender.js';
import { Receiver, type AssemblyEvent } from '../../../src/assembly/index.js';
import { decodeAlcPacket, encodeAlcPacket, encodeContentLocation } from '../../../src/wire/index.js';
import { SCHEMES, TSI, bytes, rng } from './sim.js';
import { MIXED } from './tree-fixture.js';

const hasFast = typeof (nativeCodec() as unknown as Record<string, unknown> | undefined)?.['LdpcRecvFast'] === 'function';

/** The first `count` packets of an on-demand carousel of the mixed tree (E = 256, k <= 64). */
function carouselPackets(count: number): Uint8Array[] {
  const files = [...MIXED, { path: 'second.bin', data: bytes(256 * 64 * 2 + 5, 9) }];
  const sender = new CarouselSender({
    tsi: TSI,
    files: files.map((f, key) => ({
      key, contentLocation: encodeContentLocation(f.path), contentLength: f.data.length, contentType: 'application/octet-stream',
      sha256: createHash('sha256').update(f.data).digest(), mtime: 1_700_000_000, mode: 0o644,
    })),
    fec: { encodingId: 3, symbolSize: 256, maxSourceBlockLength: 64, codeRate: 2 / 3, n1m3: 0 },
    schemes: (id) => SCHEMES.get(id)!,
    mode: 'on-demand', deadline: 1e12, seed: 1, cidIntervalMs: 50,
  });
  const out: Uint8Array[] = [];
  let now = 0;
  while (out.length < count) {
    const o = sender.poll(now);
    if (o.kind === 'done') break;
    if (o.kind === 'read') {
      o.target.set(files[o.key]!.data.subarray(o.fileOffset, o.fileOffset + o.target.length));
      sender.readDone(o.id);
    } else if (o.kind === 'wait') now = o.until ?? now + 1;
    else {
      now += 0.01;
      out.push(o.bytes.slice());
    }
  }
  return out;
}

const POOL = carouselPackets(2600);
const NOCODE_OTI: FecOti = { encodingId: 0, transferLength: 300, symbolSize: 256, maxSourceBlockLength: 4 };
function noCodePacket(toi: number, esi: number): Uint8Array {
  const buf = new Uint8Array(400);
  const len = esi === 1 ? 44 : 256;
  return buf.slice(0, encodeAlcPacket(buf, { tsi: TSI, toi, codepoint: 0, fti: NOCODE_OTI, sbn: 0, esi, payload: new Uint8Array(len).fill(esi + 1) }));
}

/** One LDPC packet broken in one of the ways a wire can break it (or a harmless CCI change). */
function mutate(p: Uint8Array, r: () => number): Uint8Array {
  const q = p.slice();
  const hl = decodeAlcPacket(p, { cciLength: 4, requireToi: true }).lct.headerLength;
  const dv = new DataView(q.buffer);
  const word = dv.getUint32(hl);
  switch (Math.floor(r() * 7)) {
    case 0: dv.setUint32(hl, ((4000 << 20) | (word & 0xfffff)) >>> 0); return q; // SBN past the blocks
    case 1: dv.setUint32(hl, ((word & ~0xfffff) | 0xffff0) >>> 0); return q; // ESI past n
    case 2: return q.subarray(0, Math.floor(r() * (hl + 4))); // truncated header
    case 3: return q.subarray(0, hl + 4 + Math.floor(r() * (q.length - hl - 4))); // short payload
    case 4: { const x = new Uint8Array(q.length + 1 + Math.floor(r() * 8)); x.set(q); return x; } // long payload
    case 5: q[11] = q[11]! ^ 0x5a; return q; // another session (TSI)
    default: dv.setUint32(4, Math.floor(r() * 2 ** 32)); return q; // another CCI: still the common case
  }
}

interface Params { seed: number; loss: number; dup: number; bad: number; reorder: number; other: number; nocode: number; batch: number; length: number; budget: number }

/** The datagrams of one run, each with its source, derived from `p`. */
function sequence(p: Params): Array<{ bytes: Uint8Array; source: string }> {
  const r = rng(p.seed);
  const out: Array<{ bytes: Uint8Array; source: string }> = [];
  const late: Uint8Array[] = [];
  for (let i = 0; i < p.length && i < POOL.length; i++) {
    if (r() < p.loss) continue;
    let d = POOL[i]!;
    if (r() < p.bad) d = mutate(d, r);
    if (r() < p.reorder) {
      late.push(d);
      continue;
    }
    out.push({ bytes: d, source: r() < p.other ? '10.0.0.9' : '10.0.0.1' });
    if (r() < p.dup) out.push({ bytes: d, source: '10.0.0.1' });
    if (late.length > 0 && r() < 0.3) out.push({ bytes: late.shift()!, source: '10.0.0.1' });
    if (r() < p.nocode) out.push({ bytes: noCodePacket(900 + Math.floor(r() * 2), Math.floor(r() * 3)), source: '10.0.0.1' });
  }
  for (const d of late) out.push({ bytes: d, source: '10.0.0.1' });
  return out;
}

function digest(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex').slice(0, 12);
}

/** An event as comparable data (bytes as digests: views of buffers that are reused). */
function record(ev: AssemblyEvent): unknown {
  if (ev.kind === 'spool-run') {
    const entries = Array.from({ length: ev.count }, (_, i) => [ev.sbns[i], ev.esis[i], digest(ev.data.subarray(ev.offsets[i]!, ev.offsets[i]! + ev.lengths[i]!))]);
    return { kind: ev.kind, toi: ev.toi, record: ev.record, entries };
  }
  return JSON.parse(JSON.stringify(ev, (_k, v: unknown) => (v instanceof Uint8Array || v instanceof Uint32Array ? `${v.constructor.name}:${digest(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}` : v)));
}

/** Feed the run through a receiver (batches per source, the time advancing) and play the shell. */
function run(p: Params, fastPath: boolean): { events: unknown[]; stats: unknown } {
  // A small memory budget: blocks start cold and turn hot after a decode request (decodeBlock).
  const rx = new Receiver({ schemes: SCHEMES, cciLength: 4, spoolDelayMs: 2, fastPath, ...(p.budget > 0 ? { maxBufferedBytes: p.budget } : {}) });
  const spool = new Map<number, Array<{ sbn: number; esi: number; symbol: Uint8Array }>>();
  const events: unknown[] = [];
  let now = 0;
  const drain = (): void => {
    for (let ev = rx.poll(); ev !== undefined; ev = rx.poll()) {
      events.push(record(ev));
      const list = spool.get('toi' in ev ? ev.toi : -1) ?? [];
      if (ev.kind === 'spool') list.push({ sbn: ev.sbn, esi: ev.esi, symbol: ev.symbol.slice() });
      if (ev.kind === 'spool-run') for (let i = 0; i < ev.count; i++) list.push({ sbn: ev.sbns[i]!, esi: ev.esis[i]!, symbol: ev.data.slice(ev.offsets[i]!, ev.offsets[i]! + ev.lengths[i]!) });
      if (ev.kind === 'spool' || ev.kind === 'spool-run') spool.set(ev.toi, list);
      if (ev.kind === 'decode-request') rx.decodeBlock(now, ev.toi, ev.sbn, [...ev.records].map((i) => list[i]!));
      if (ev.kind === 'object-decoded') rx.objectVerified(ev.toi);
    }
  };
  const seq = sequence(p);
  for (let i = 0; i < seq.length;) {
    const source = seq[i]!.source;
    let j = i;
    while (j < seq.length && j - i < p.batch && seq[j]!.source === source) j++;
    const offsets = new Uint32Array(j - i);
    const lengths = new Uint32Array(j - i);
    const data = new Uint8Array(seq.slice(i, j).reduce((n, d) => n + d.bytes.length + 5, 0));
    let at = 0;
    for (let m = i; m < j; m++) {
      offsets[m - i] = at;
      lengths[m - i] = seq[m]!.bytes.length;
      data.set(seq[m]!.bytes, at);
      at += seq[m]!.bytes.length + 5;
    }
    rx.handleBatch(now, data, offsets, lengths, j - i, source);
    drain();
    now += 0.03 * (j - i);
    i = j;
  }
  rx.spoolAll();
  drain();
  return { events, stats: { rx: rx.receiverStats(), objects: rx.allObjectStats(), memory: rx.memory(), missing: rx.missing() } };
}

const params: fc.Arbitrary<Params> = fc.record({
  seed: fc.integer({ min: 1, max: 1e9 }),
  loss: fc.constantFrom(0, 0.02, 0.1, 0.3),
  dup: fc.constantFrom(0, 0.05, 0.2),
  bad: fc.constantFrom(0, 0.01, 0.05),
  reorder: fc.constantFrom(0, 0.05),
  other: fc.constantFrom(0, 0.02),
  nocode: fc.constantFrom(0, 0.01),
  batch: fc.integer({ min: 1, max: 200 }),
  length: fc.integer({ min: 50, max: 2600 }),
  budget: fc.constantFrom(0, 0, 3 * 96 * 256),
});

describe.runIf(hasFast)('receiver core: native fast path', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('gives the events and stats of the TypeScript path for random datagram sequences', () => {
    let taken = 0;
    const real = RecvFastTable.prototype.run;
    vi.spyOn(RecvFastTable.prototype, 'run').mockImplementation(function (this: RecvFastTable, ...a: Parameters<RecvFastTable['run']>) {
      const stop = real.apply(this, a);
      taken += stop - a[3];
      return stop;
    });
    fc.assert(fc.property(params, (p) => {
      const off = run(p, false);
      const on = run(p, true);
      expect(on.stats).toEqual(off.stats);
      expect(on.events.length).toBe(off.events.length);
      expect(on.events).toEqual(off.events);
    }), { numRuns: 25, seed: 7 });
    // The fast path did take datagrams (most of them: these runs are mostly clean).
    expect(taken).toBeGreaterThan(10_000);
  });

  it('a full lossless run completes the same way with it, in batches of 64', () => {
    const p: Params = { seed: 3, loss: 0, dup: 0, bad: 0, reorder: 0, other: 0, nocode: 0, batch: 64, length: 2600, budget: 0 };
    const on = run(p, true);
    expect(on).toEqual(run(p, false));
    expect(on.events.some((e) => (e as { kind: string }).kind === 'instance-complete')).toBe(true);
  });

  it('with a memory budget of three hot blocks: cold blocks decode from the spool and turn hot, the same way with it', () => {
    const p: Params = { seed: 5, loss: 0.05, dup: 0, bad: 0, reorder: 0, other: 0, nocode: 0, batch: 64, length: 2600, budget: 3 * 96 * 256 };
    const on = run(p, true);
    expect(on).toEqual(run(p, false));
    expect(on.events.some((e) => (e as { kind: string }).kind === 'decode-request')).toBe(true);
  });
});
