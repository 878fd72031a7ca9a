// Carousel sender core (src/carousel) in virtual time: order properties, push cycles and close
// flags, on-demand ERT, CID contents, TOI uniqueness, bounded memory for a huge virtual object.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ldpcStaircase } from '../../../codecs/ldpc-staircase/scheme.js';
import { noCode } from '../../../codecs/nocode/scheme.js';
import type { FecEncodingId, FecScheme } from '../../../codecs/types.js';
import { CarouselSender, type CarouselFile, type FecSettings, type SenderConfig } from '../../../src/carousel/index.js';
import { alcHeaderSize, decodeAlcPacket, decodeCidObject, decodeFcastObject, encodeAlcPacket, type AlcPacket, type AlcPacketInit } from '../../../src/wire/index.js';

const schemes = (id: FecEncodingId): FecScheme => (id === 3 ? ldpcStaircase : noCode);
const LDPC: FecSettings = { encodingId: 3, symbolSize: 64, maxSourceBlockLength: 40, codeRate: 2 / 3, n1m3: 0 };

function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

function fileOf(key: number, name: string, data: Uint8Array): CarouselFile {
  return {
    key,
    contentLocation: name,
    contentLength: data.length,
    contentType: 'application/octet-stream',
    sha256: new Uint8Array(createHash('sha256').update(data).digest()),
    mtime: 1_700_000_000 + key,
    mode: 0o640,
  };
}

interface Sent {
  readonly at: number;
  readonly p: AlcPacket;
}

/** Run a sender to completion: reads served at once from `data`, `stepMs` of virtual time per packet. */
function drive(cfg: SenderConfig, data: readonly Uint8Array[], stepMs = 1, maxPackets = 200_000): Sent[] {
  const s = new CarouselSender(cfg);
  const out: Sent[] = [];
  let now = 0;
  for (let i = 0; i < maxPackets * 2; i++) {
    const o = s.poll(now);
    if (o.kind === 'done') return out;
    if (o.kind === 'read') {
      o.target.set(data[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
      s.readDone(o.id);
    } else if (o.kind === 'wait') {
      now = o.until ?? now + 1;
    } else {
      out.push({ at: now, p: decodeAlcPacket(o.bytes, { requireToi: true }) });
      now += stepMs;
    }
  }
  throw new Error('sender did not finish');
}

/** Source symbols of each (toi, sbn) as received, to rebuild compound objects. */
function rebuild(sent: readonly Sent[], toi: number): Uint8Array {
  const pkts = sent.filter((x) => x.p.lct.toi === toi);
  const oti = pkts[0]!.p.fti!;
  const plan = schemes(oti.encodingId).partition(oti);
  const out = new Uint8Array(oti.transferLength);
  for (const { p } of pkts) {
    const block = plan.blocks[p.payloadId!.sbn]!;
    const esi = p.payloadId!.esi;
    if (esi < block.k) out.set(p.payload, block.offset + esi * oti.symbolSize);
  }
  return out;
}

const FILES = [new Uint8Array(0), bytesOf(1, 1), bytesOf(10_000, 2), bytesOf(3_000, 3)];
const CFG_FILES = FILES.map((d, i) => fileOf(i, `dir/f${i}.bin`, d));

describe('carousel sender: push mode', () => {
  const cycles = 2;
  const sent = drive({ tsi: 77, files: CFG_FILES, fec: LDPC, schemes, mode: 'push', cycles, seed: 5, maxActiveBlocks: 4 }, FILES);
  const data = sent.filter((x) => x.p.lct.toi !== 1);

  it('gives the CID TOI 1 and the files TOIs 2.. in order, one TSI', () => {
    expect(new Set(sent.map((x) => x.p.lct.tsi))).toEqual(new Set([77]));
    expect([...new Set(sent.map((x) => x.p.lct.toi))].sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5]);
    for (const toi of [2, 3, 4, 5]) {
      const obj = decodeFcastObject(rebuild(sent, toi));
      const i = toi - 2;
      expect(obj.header.metadata.contentLocation).toBe(`dir/f${i}.bin`);
      expect(obj.header.metadata.mode).toBe(0o640);
      expect(obj.header.metadata.mtime).toBe(1_700_000_000 + i);
      expect(Buffer.from(obj.data)).toEqual(Buffer.from(FILES[i]!));
      expect(obj.header.metadata.digestSha256).toEqual(CFG_FILES[i]!.sha256);
    }
  });

  it('sends a complete CID listing every file', () => {
    const cid = decodeCidObject(rebuild(sent, 1));
    expect(cid.complete).toBe(true);
    expect(cid.ciid).toBe(0);
    expect(cid.list.ranges).toEqual([{ first: 2, last: 5 }]);
  });

  it('sends every encoding symbol exactly `cycles` x repeat times, EXT_FTI in every packet', () => {
    const count = new Map<string, number>();
    for (const { p } of data) {
      expect(p.fti).toBeDefined();
      const key = `${p.lct.toi}/${p.payloadId!.sbn}/${p.payloadId!.esi}`;
      count.set(key, (count.get(key) ?? 0) + 1);
    }
    for (const toi of [2, 3, 4, 5]) {
      const oti = data.find((x) => x.p.lct.toi === toi)!.p.fti!;
      const plan = schemes(oti.encodingId).partition(oti);
      const repeat = oti.encodingId === 0 ? 2 : 1;
      for (const b of plan.blocks) for (let esi = 0; esi < b.n; esi++) expect(count.get(`${toi}/${b.sbn}/${esi}`)).toBe(cycles * repeat);
    }
    // The 10 kB file is LDPC-coded (multi-block), the 1-byte file is No-Code.
    expect(data.find((x) => x.p.lct.toi === 4)!.p.lct.codepoint).toBe(3);
    expect(data.find((x) => x.p.lct.toi === 3)!.p.lct.codepoint).toBe(0);
  });

  it('interleaves blocks: no two consecutive data packets from one block while several are on the air', () => {
    const blocks = data.map((x) => `${x.p.lct.toi}/${x.p.payloadId!.sbn}`);
    let runs = 0;
    for (let i = 1; i < blocks.length; i++) if (blocks[i] === blocks[i - 1]) runs++;
    // Only the tail of a cycle (one block left) may repeat a block back to back.
    expect(runs / blocks.length).toBeLessThan(0.1);
  });

  it('first cycle: every source symbol before any repair symbol; later cycles shuffled, repair mixed in', () => {
    const planOf = (toi: number) => ldpcStaircase.partition(data.find((x) => x.p.lct.toi === toi)!.p.fti!);
    const plan = planOf(4);
    const isRepair = (x: Sent): boolean => x.p.lct.codepoint === 3 && x.p.payloadId!.esi >= planOf(x.p.lct.toi!).blocks[x.p.payloadId!.sbn]!.k;
    const perCycle = data.length / cycles;
    const first = data.slice(0, perCycle);
    const firstRepair = first.findIndex(isRepair);
    expect(firstRepair).toBeGreaterThan(0);
    expect(first.slice(firstRepair).every((x) => isRepair(x) || x.p.lct.codepoint === 0)).toBe(true);
    const ordersOf = (cycle: number): number[] =>
      data
        .slice(cycle * perCycle, (cycle + 1) * perCycle)
        .filter((x) => x.p.lct.toi === 4 && x.p.payloadId!.sbn === 0)
        .map((x) => x.p.payloadId!.esi);
    const a = ordersOf(0);
    const b = ordersOf(1);
    const k = plan.blocks[0]!.k;
    expect(a.slice(0, k)).not.toEqual([...a.slice(0, k)].sort((x, y) => x - y));
    expect([...a].sort((x, y) => x - y)).toEqual([...b].sort((x, y) => x - y));
    expect(b.slice(0, 10).some((esi) => esi >= k)).toBe(true);
  });

  it('sets B once per file in the last cycle and A only at the end', () => {
    const firstB = new Map<number, number>();
    sent.forEach((x, i) => {
      if (x.p.lct.closeObject && x.p.lct.toi !== 1) {
        expect(firstB.has(x.p.lct.toi!)).toBe(false);
        firstB.set(x.p.lct.toi!, i);
      }
    });
    expect([...firstB.keys()].sort()).toEqual([2, 3, 4, 5]);
    for (const [toi, i] of firstB) expect(sent.slice(i + 1).some((x) => x.p.lct.toi === toi)).toBe(false);
    const firstA = sent.findIndex((x) => x.p.lct.closeSession);
    expect(firstA).toBeGreaterThan(0);
    expect(sent.slice(firstA).every((x) => x.p.lct.closeSession && x.p.lct.toi === 1)).toBe(true);
    expect(sent[sent.length - 1]!.p.lct.closeSession).toBe(true);
  });

  it('spreads a burst of loss over many blocks', () => {
    const big = bytesOf(200_000, 9);
    const s = drive({ tsi: 9, files: [fileOf(0, 'big', big)], fec: LDPC, schemes, mode: 'push', cycles: 1, maxActiveBlocks: 16 }, [big]);
    const d = s.filter((x) => x.p.lct.toi === 2);
    const burst = d.slice(1000, 1080);
    const perBlock = new Map<number, number>();
    for (const x of burst) perBlock.set(x.p.payloadId!.sbn, (perBlock.get(x.p.payloadId!.sbn) ?? 0) + 1);
    expect(perBlock.size).toBe(16);
    expect(Math.max(...perBlock.values())).toBeLessThanOrEqual(5);
  });
});

describe('carousel sender: on-demand mode', () => {
  const deadline = 4_000;
  const sent = drive({ tsi: 5, files: CFG_FILES, fec: LDPC, schemes, mode: 'on-demand', deadline, cidIntervalMs: 500 }, FILES, 2);

  it('cycles until the deadline with ERT = seconds left, then closes', () => {
    const before = sent.filter((x) => !x.p.lct.closeSession);
    expect(before.every((x) => x.at < deadline)).toBe(true);
    for (const x of before) expect(x.p.time?.ert).toBe(Math.ceil((deadline - x.at) / 1000));
    expect(before[before.length - 1]!.at).toBeGreaterThan(deadline - 10);
    expect(sent[sent.length - 1]!.p.lct.closeSession).toBe(true);
    // Several cycles went by: each file symbol many times.
    const cyclesSeen = before.filter((x) => x.p.lct.toi === 3).length / 2;
    expect(cyclesSeen).toBeGreaterThan(3);
  });

  it('sends the CID at least every interval', () => {
    const cidTimes = sent.filter((x) => x.p.lct.toi === 1).map((x) => x.at);
    for (let i = 1; i < cidTimes.length; i++) expect(cidTimes[i]! - cidTimes[i - 1]!).toBeLessThanOrEqual(502);
  });
});

describe('carousel sender: bounded memory', () => {
  it('holds at most W + P blocks of a 20 GB virtual object and raises B to fit 4096 blocks', () => {
    const huge: CarouselFile = { ...fileOf(0, 'huge.img', new Uint8Array(0)), contentLength: 20e9 };
    const fec: FecSettings = { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 0 };
    const s = new CarouselSender({ tsi: 1, files: [huge], fec, schemes, mode: 'push', cycles: 1, maxActiveBlocks: 4, prefetchBlocks: 2 });
    const oti = s.planned()[1]!.oti;
    expect(Math.ceil(oti.transferLength / 1400 / oti.maxSourceBlockLength)).toBeLessThanOrEqual(4096);
    const perBlock = oti.maxSourceBlockLength * 1400 + oti.maxEncodingSymbols! * 1400;
    let maxBuffered = 0;
    let reads = 0;
    let pending: number[] = [];
    for (let i = 0; i < 30_000; i++) {
      const o = s.poll(i);
      if (o.kind === 'read') {
        reads++;
        pending.push(o.id);
        if (pending.length >= 2) {
          for (const id of pending) s.readDone(id);
          pending = [];
        }
      } else if (o.kind === 'wait') {
        for (const id of pending) s.readDone(id);
        pending = [];
      }
      maxBuffered = Math.max(maxBuffered, s.stats().bufferedBytes);
      expect(s.stats().activeBlocks + s.stats().pendingReads).toBeLessThanOrEqual(6);
    }
    expect(reads).toBeGreaterThan(6);
    expect(maxBuffered).toBeLessThanOrEqual(6 * perBlock);
  });
});

describe('carousel sender: rate-controller slots', () => {
  it('puts each packet on the channel and with the CCI the slot names', () => {
    const s = new CarouselSender({ tsi: 3, files: CFG_FILES, fec: LDPC, schemes, mode: 'push', cycles: 1 });
    const seen: { cn: number; cci: number[] }[] = [];
    for (let i = 0; i < 200; i++) {
      const slot = { channel: i % 3, cci: new Uint8Array([7, i % 3, 0, i & 0xff]) };
      let o = s.poll(i, slot);
      while (o.kind === 'read') {
        o.target.set(FILES[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
        s.readDone(o.id);
        o = s.poll(i, slot);
      }
      if (o.kind !== 'transmit') break;
      const p = decodeAlcPacket(o.bytes);
      expect(o.channel).toBe(slot.channel);
      seen.push({ cn: o.channel, cci: [...p.lct.cci] });
    }
    expect(seen.length).toBeGreaterThan(100);
    seen.forEach((x, i) => expect(x.cci).toEqual([7, i % 3, 0, i & 0xff]));
  });
});

describe('carousel sender: one reused datagram buffer', () => {
  it('sends the same bytes as fresh buffers, all written into one buffer', () => {
    const cfg: SenderConfig = { tsi: 9, files: CFG_FILES, fec: LDPC, schemes, mode: 'push', cycles: 2, seed: 3, maxActiveBlocks: 3 };
    const fresh = new CarouselSender(cfg);
    const reused = new CarouselSender({ ...cfg, reuseDatagramBuffer: true });
    const buffers = new Set<ArrayBufferLike>();
    const sizes = new Set<number>();
    let packets = 0;
    for (let now = 0; ; now++) {
      const a = fresh.poll(now);
      const b = reused.poll(now);
      expect(b.kind).toBe(a.kind);
      if (a.kind === 'done') break;
      if (a.kind === 'read' && b.kind === 'read') {
        for (const [s, o] of [[fresh, a], [reused, b]] as const) {
          o.target.set(FILES[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
          s.readDone(o.id);
        }
      } else if (a.kind === 'transmit' && b.kind === 'transmit') {
        expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
        buffers.add(b.bytes.buffer);
        sizes.add(b.bytes.length);
        packets++;
      }
    }
    expect(packets).toBeGreaterThan(100);
    // Full symbols, short last symbols and CID packets: several sizes, one buffer.
    expect(sizes.size).toBeGreaterThan(2);
    expect(buffers.size).toBe(1);
  });
});

describe('carousel sender: headers from per-object templates', () => {
  /** Every datagram, byte for byte, against what src/wire's encoder writes for the fields it carries. */
  function checkAgainstWire(cfg: SenderConfig, stepMs: number, slots = false): number {
    const s = new CarouselSender(cfg);
    let checked = 0;
    for (let i = 0, now = 0; i < 400_000; i++) {
      const slot = slots ? { channel: 2, cci: new Uint8Array([9, 2, (i >>> 8) & 0xff, i & 0xff]) } : undefined;
      const o = s.poll(now, slot);
      if (o.kind === 'done') return checked;
      if (o.kind === 'read') {
        o.target.set(FILES[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
        s.readDone(o.id);
      } else if (o.kind === 'wait') {
        now = o.until ?? now + 1;
      } else {
        const p = decodeAlcPacket(o.bytes, { requireToi: true });
        const init: AlcPacketInit = {
          tsi: cfg.tsi,
          toi: o.toi,
          codepoint: p.fti!.encodingId,
          cci: p.lct.cci,
          closeSession: p.lct.closeSession,
          closeObject: p.lct.closeObject,
          fti: p.fti,
          time: cfg.mode === 'on-demand' ? { ert: Math.max(0, Math.ceil((cfg.deadline! - now) / 1000)) } : undefined,
          sbn: o.sbn,
          esi: o.esi,
          payload: p.payload,
        };
        const want = new Uint8Array(alcHeaderSize(init) + p.payload.length);
        encodeAlcPacket(want, init);
        expect(Buffer.from(o.bytes).equals(Buffer.from(want))).toBe(true);
        expect([p.payloadId!.sbn, p.payloadId!.esi]).toEqual([o.sbn, o.esi]);
        if (slots) expect([...p.lct.cci]).toEqual([...slot!.cci]);
        checked++;
        now += stepMs;
      }
    }
    throw new Error('sender did not finish');
  }

  it('push, LDPC and No-Code objects, close flags: every datagram as the wire encoder writes it', () => {
    const n = checkAgainstWire({ tsi: 0xfedc_ba98, files: CFG_FILES, fec: LDPC, schemes, mode: 'push', cycles: 2, seed: 5, maxActiveBlocks: 3 }, 1);
    expect(n).toBeGreaterThan(500);
    const nocode: FecSettings = { encodingId: 0, symbolSize: 64, maxSourceBlockLength: 30, codeRate: 1 / 2, n1m3: 0 };
    expect(checkAgainstWire({ tsi: 77, files: CFG_FILES, fec: nocode, schemes, mode: 'push', cycles: 1 }, 1)).toBeGreaterThan(200);
  });

  it('on-demand: the EXT_TIME ERT of every datagram follows the clock', () => {
    expect(checkAgainstWire({ tsi: 4, files: CFG_FILES, fec: LDPC, schemes, mode: 'on-demand', deadline: 5_500, seed: 2 }, 7)).toBeGreaterThan(500);
  });

  it('rate-controller slots: their CCI in every header', () => {
    expect(checkAgainstWire({ tsi: 6, files: CFG_FILES, fec: LDPC, schemes, mode: 'push', cycles: 1 }, 1, true)).toBeGreaterThan(200);
  });
});
