// The first push cycle's repair encodings off the send loop (src/carousel/sender.ts BlockRead.encode,
// codecs/ldpc-staircase/native-encoder.ts encodeAhead, the addon's encodeRepairAsync on libuv's
// thread pool): the packets are byte for byte those of the lazy, synchronous path (and of the
// TypeScript codec), repair buffers are reused across blocks within the pool's bound, and a
// failed encode is a typed error, in the codec and out of the send loop.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildNativeCode, nativeCodec, releaseNativeCode } from '../../../codecs/ldpc-staircase/native-code.js';
import { NativeLdpcEncoder, encodeRepairNativeAsync } from '../../../codecs/ldpc-staircase/native-encoder.js';
import { ldpcStaircase } from '../../../codecs/ldpc-staircase/scheme.js';
import { noCode } from '../../../codecs/nocode/scheme.js';
import type { BlockEncoder, FecEncodingId, FecScheme } from '../../../codecs/types.js';
import { CarouselSender, type CarouselFile, type FecSettings, type SenderConfig } from '../../../src/carousel/index.js';
import { LocalProtocolError, isFcastError } from '../../../src/errors.js';
import { sendSession } from '../../../src/net/send-session.js';

const LDPC: FecSettings = { encodingId: 3, symbolSize: 64, maxSourceBlockLength: 40, codeRate: 2 / 3, n1m3: 0 };

function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 17 + (i >> 7) * 3) & 0xff;
  return b;
}

function fileOf(key: number, name: string, data: Uint8Array): CarouselFile {
  return {
    key,
    contentLocation: name,
    contentLength: data.length,
    contentType: 'application/octet-stream',
    sha256: new Uint8Array(createHash('sha256').update(data).digest()),
    mtime: 1_700_000_000,
    mode: 0o644,
  };
}

// 15 blocks with repair symbols, of three sizes (k 38, 37 and 30: the FCAST header shifts the
// data), and a 5-byte file whose one block has none (n = k).
const DATA = [bytesOf(12 * 40 * 64, 1), bytesOf(40 * 64 + 1000, 2), bytesOf(5, 3)];
const FILES = DATA.map((d, i) => fileOf(i, `f${i}.bin`, d));

/** LDPC-Staircase with every encoder made as `make` says (the scheme's own, or wrapped). */
function ldpcWith(make: (e: BlockEncoder) => BlockEncoder, native = true): FecScheme {
  return {
    ...ldpcStaircase,
    createEncoder: (plan, sbn, source, opts) => make(ldpcStaircase.createEncoder(plan, sbn, source, { ...opts, native })),
  };
}

const lookup = (ldpc: FecScheme) => (id: FecEncodingId): FecScheme => (id === 3 ? ldpc : noCode);

interface Run {
  readonly packets: Uint8Array[];
  /** Reads that carried an encode, by cycle. */
  readonly encodes: number[];
}

/**
 * Run a sender to its end. Reads complete when the core waits (all at once, in id order, as a
 * shell's reads complete while its send loop yields); `ahead` runs their encodes first, on the
 * thread pool, else they are ignored and the encoders compute repair symbols on first use.
 */
async function run(cfg: SenderConfig, ahead: boolean, data: readonly Uint8Array[] = DATA): Promise<Run> {
  const s = new CarouselSender(cfg);
  const packets: Uint8Array[] = [];
  const encodes: number[] = [];
  let pending: { id: number; encode: (() => Promise<void>) | undefined }[] = [];
  let now = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const o = s.poll(now);
    if (o.kind === 'done') return { packets, encodes };
    if (o.kind === 'read') {
      o.target.set(data[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
      if (o.encode !== undefined) encodes[s.stats().cycle] = (encodes[s.stats().cycle] ?? 0) + 1;
      pending.push({ id: o.id, encode: o.encode });
    } else if (o.kind === 'wait') {
      if (pending.length === 0) {
        now = o.until ?? now + 1;
        continue;
      }
      if (ahead) await Promise.all(pending.map((p) => p.encode?.()));
      for (const p of pending) s.readDone(p.id);
      pending = [];
    } else {
      packets.push(o.bytes.slice());
      now += 1;
    }
  }
  throw new Error('sender did not finish');
}

describe('carousel: repair encodings ahead of the repair pass', () => {
  const base = { tsi: 9, files: FILES, fec: LDPC, mode: 'push' as const, cycles: 2, seed: 4, maxActiveBlocks: 4, prefetchBlocks: 2 };
  const blocks = new CarouselSender({ ...base, schemes: lookup(ldpcStaircase) })
    .planned()
    .slice(1)
    .reduce((sum, o) => sum + o.plan.blocks.filter((b) => b.n > b.k).length, 0);

  it('the addon has the thread-pool encoder (else this file tests the fallback only)', () => {
    expect(typeof nativeCodec()?.encodeRepairAsync).toBe('function');
  });

  it('sends the same packets, byte for byte, as the lazy path and the TypeScript codec; only the first repair pass encodes ahead', async () => {
    const native = lookup(ldpcWith((e) => e));
    const ahead = await run({ ...base, schemes: native }, true);
    const lazy = await run({ ...base, schemes: native }, false);
    const ts = await run({ ...base, schemes: lookup(ldpcWith((e) => e, false)) }, false);
    // Cycle 0's repair pass, one read and encode per block with repair; cycle 1 encodes on first use.
    expect(blocks).toBe(15);
    expect(ahead.encodes).toEqual([blocks]);
    expect(ahead.packets.length).toBeGreaterThan(2 * blocks * 40);
    expect(ahead.packets).toEqual(lazy.packets);
    expect(ahead.packets).toEqual(ts.packets);
  });

  it('in rounds over a small repair window the same, and repair buffers are reused across blocks within W + P', async () => {
    const buffers = new Set<ArrayBufferLike>();
    let jobs = 0;
    const seen = lookup({
      ...ldpcStaircase,
      createEncoder: (plan, sbn, source, opts) => {
        if (opts?.repair !== undefined) {
          buffers.add(opts.repair.buffer);
          jobs++;
        }
        return ldpcStaircase.createEncoder(plan, sbn, source, opts);
      },
    });
    // One file of 8 blocks of one size (k 40: with its 220-byte FCAST header, 8·40·64 bytes).
    const one = [bytesOf(8 * 40 * 64 - 220, 6)];
    const cfg = { ...base, files: [fileOf(0, 'f0.bin', one[0]!)], repairWindowBlocks: 3, repairRounds: 3 };
    expect(new CarouselSender({ ...cfg, schemes: seen }).planned()[1]!.plan.blocks.map((b) => b.k)).toEqual(Array(8).fill(40));
    const ahead = await run({ ...cfg, schemes: seen }, true, one);
    const lazy = await run({ ...cfg, schemes: lookup(ldpcStaircase) }, false, one);
    expect(ahead.encodes).toEqual([3 * 8]);
    expect(ahead.packets).toEqual(lazy.packets);
    // A repair buffer per job (cycle 0's three rounds, then cycle 1), but never more buffers than
    // jobs held at once: max(W 4, W_r 3) + P 2.
    expect(jobs).toBe(4 * 8);
    expect(buffers.size).toBeLessThanOrEqual(6);
  });
});

describe('carousel: the repair pass is read and encoded during the source pass\'s last window', () => {
  it('its reads (with their encodes) go out before the source pass\'s last round, as many as the budget holds in bytes; its first packet follows the last source packet', async () => {
    // 16 blocks of one file (k 40, n 60, E 64: 2,560 source bytes, 3,840 with the repair), W 4:
    // the source pass's last window is 4 blocks on the air. A budget of 4 · 2,560 + 16 · 3,840
    // bytes (18.7 jobs): W_r 16, 18 jobs at most, so counted in jobs only 14 of the repair
    // pass's 16 would be queued beside the 4; in bytes all 16 fit.
    const data = [bytesOf(16 * 40 * 64 - 220, 8)];
    const s = new CarouselSender({
      tsi: 9, files: [fileOf(0, 'f0.bin', data[0]!)], fec: LDPC, schemes: lookup(ldpcStaircase), mode: 'push', cycles: 1, seed: 2,
      maxActiveBlocks: 4, prefetchBlocks: 2, memoryBudget: 4 * 2560 + 16 * 3840,
    });
    expect(s.repairPlan()).toEqual({ windowBlocks: 16, rounds: 1 });
    const blocks = s.planned()[1]!.plan.blocks;
    const events: string[] = [];
    for (let now = 0; ; ) {
      const o = s.poll(now);
      if (o.kind === 'done') break;
      if (o.kind === 'read') {
        o.target.set(data[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
        if (o.encode !== undefined) {
          events.push('repair-read');
          await o.encode();
        }
        s.readDone(o.id);
      } else if (o.kind === 'wait') {
        now = o.until ?? now + 1;
      } else {
        if (o.toi === 2) events.push(o.esi < blocks[o.sbn]!.k ? 'source' : 'repair');
        now += 1;
      }
    }
    expect(events.filter((e) => e === 'repair-read')).toHaveLength(16);
    const sources = events.flatMap((e, i) => (e === 'source' ? [i] : []));
    const lastSource = sources[sources.length - 1]!;
    // The last round of the source pass: each of the 4 blocks' last packet.
    const lastRound = sources[sources.length - 4]!;
    const firstRepair = events.indexOf('repair');
    expect(events.slice(0, lastRound).filter((e) => e === 'repair-read')).toHaveLength(16);
    expect(firstRepair).toBeGreaterThan(lastSource);
  });
});

describe('native encoder: encodeAhead', () => {
  const plan = ldpcStaircase.partition({ encodingId: 3, transferLength: 40 * 64, symbolSize: 64, maxSourceBlockLength: 40, maxEncodingSymbols: 60, n1m3: 0, seed: 7 });
  const block = plan.blocks[0]!;
  const source = bytesOf(block.length, 9);
  const codec = nativeCodec()!;

  it('gives the synchronous encoder\'s repair symbols; a repair symbol asked while it runs is INTERNAL; dispose while it runs is safe', async () => {
    const sync = ldpcStaircase.createEncoder(plan, 0, source, { native: true });
    const enc = ldpcStaircase.createEncoder(plan, 0, source, { native: true, repair: new Uint8Array((block.n - block.k) * 64).fill(0xee) });
    const done = enc.encodeAhead!();
    expect(() => enc.symbol(block.k)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    expect(enc.symbol(3)).toEqual(sync.symbol(3));
    await done;
    for (let esi = block.k; esi < block.n; esi++) expect(enc.symbol(esi)).toEqual(sync.symbol(esi));
    enc.dispose();
    const again = enc.encodeAhead!();
    enc.dispose();
    await again;
    expect(enc.symbol(block.n - 1)).toEqual(sync.symbol(block.n - 1));
  });

  it('a failed encode is a typed error: a released code, a repair buffer of the wrong size', async () => {
    const code = buildNativeCode(codec, block.k, block.n, 3, 7);
    releaseNativeCode(code);
    const enc = new NativeLdpcEncoder(block, 64, source, codec, () => code);
    const failed = await enc.encodeAhead().then(() => undefined, (e: unknown) => e);
    expect(failed).toBeInstanceOf(LocalProtocolError);
    expect(failed).toMatchObject({ code: 'FEC_PARAMS' });
    // The encoder is not left busy: the synchronous path reports the same.
    expect(() => enc.symbol(block.k)).toThrow(expect.objectContaining({ code: 'FEC_PARAMS' }));
    const live = buildNativeCode(codec, block.k, block.n, 3, 7);
    await expect(encodeRepairNativeAsync(codec, live, block, 64, source, new Uint8Array(10))).rejects.toMatchObject({ code: 'FEC_SYMBOL_SIZE' });
    // The addon's own check (second line), before anything is queued.
    expect(() => codec.encodeRepairAsync!(live, 64, source, new Uint8Array(10), () => undefined)).toThrow(/^FEC_SYMBOL_SIZE: /);
    expect(() => ldpcStaircase.createEncoder(plan, 0, source, { repair: new Uint8Array(10) })).toThrow(expect.objectContaining({ code: 'FEC_SYMBOL_SIZE' }));
  });
});

describe('send loop: a failed repair encoding', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcast-encode-ahead-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ends the session with the encoder\'s typed error', async () => {
    const data = bytesOf(3 * 40 * 64, 5);
    writeFileSync(join(dir, 'a.bin'), data);
    let asked = 0;
    const failing = ldpcWith((e) => {
      if (e.encodeAhead === undefined) return e;
      return {
        block: e.block,
        symbol: (esi) => e.symbol(esi),
        dispose: () => e.dispose(),
        encodeAhead: () => {
          asked++;
          return Promise.reject(new LocalProtocolError('FEC_PARAMS', 'injected encode failure'));
        },
      };
    });
    const err = await sendSession({
      core: { tsi: 5, files: [fileOf(0, 'a.bin', data)], fec: LDPC, schemes: lookup(failing), mode: 'push', cycles: 1 },
      paths: [join(dir, 'a.bin')],
      channels: [{ cn: 0, group: '239.255.43.17', port: 20000 + (process.pid % 20000) }],
      family: 4,
      ttl: 0,
      iface: '127.0.0.1',
      bitsPerSecond: 50e6,
    }).then(() => undefined, (e: unknown) => e);
    expect(asked).toBeGreaterThan(0);
    expect(isFcastError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'FEC_PARAMS' });
  });
});
