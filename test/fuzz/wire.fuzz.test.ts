// Fuzz test of every wire decoder (issue 2 "Bad input"): random and mutated valid ALC packets,
// FCAST objects, CID objects and lists, metadata blocks and Content-Location values. Only a
// FcastError may escape a decoder: no RangeError/TypeError, no hang, no huge allocation.
// 10^5 cases by default; FCAST_FUZZ_CASES overrides (npm run fuzz sets 10^6); FCAST_FUZZ_SEED
// replays a run. Prints the seed, the cases per second and the ALC decode rate (packets/s).
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { FecOti } from '../../codecs/types.js';
import { isFcastError } from '../../src/errors.js';
import {
  buildCidList,
  decodeAlcPacket,
  decodeCidList,
  decodeCidObject,
  decodeFcastHeader,
  decodeFcastObject,
  decodeMetadata,
  encodeAlcPacket,
  encodeCidObject,
  encodeFcastObject,
  encodeLctHeader,
  internetChecksum,
  safeRelativePath,
} from '../../src/wire/index.js';

const CASES = Number(process.env.FCAST_FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.FCAST_FUZZ_SEED ?? Date.now() % 0x7fffffff) >>> 0 || 1;

/** xorshift32: fast, seeded, good enough to pick mutations. */
class Rng {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

const text = new TextEncoder();
const SPECIAL = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x10, 0x40, 0x2c, 0x2d, 0x28, 0x3a, 0x0d, 0x0a, 0x25, 0x2f, 0x2e];

function alcSeeds(rng: Rng): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  const nocode: FecOti = { encodingId: 0, transferLength: 1_000_000, symbolSize: 1400, maxSourceBlockLength: 300 };
  const ldpc: FecOti = { encodingId: 3, transferLength: 5_000_000, symbolSize: 1024, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, n1m3: 0, symbolsPerPacket: 2, seed: 7 };
  for (let i = 0; i < 40; i++) {
    const codepoint = i % 2 === 0 ? 0 : 3;
    const out = new Uint8Array(1500);
    const n = encodeAlcPacket(out, {
      tsi: rng.next(),
      toi: rng.next(),
      codepoint,
      cci: rng.bytes(4),
      closeObject: i % 7 === 0,
      closeSession: i % 11 === 0,
      fti: i % 3 === 0 ? undefined : codepoint === 0 ? nocode : ldpc,
      time: i % 4 === 0 ? { sctHigh: rng.next(), sctLow: rng.next(), ert: 5, slc: 9 } : undefined,
      auth: i % 5 === 0 ? rng.bytes(18) : undefined,
      ...(i % 9 === 0 ? {} : { sbn: rng.int(4096), esi: rng.int(65536), payload: rng.bytes(rng.int(64)) }),
    });
    seeds.push(out.slice(0, n));
  }
  // Other widths, CCI lengths and extension forms through the LCT encoder (codepoint 0 or 3).
  const widths = [[16, 16], [48, 112], [32, 0], [48, 80], [32, 96]] as const;
  for (const [tsiBits, toiBits] of widths) {
    const out = new Uint8Array(400);
    const n = encodeLctHeader(out, {
      tsi: 5, tsiBits, toi: toiBits === 0 ? undefined : 9, toiBits, codepoint: 3,
      cci: rng.bytes(8),
      extensions: [{ het: 0, content: rng.bytes(6) }, { het: 200, content: rng.bytes(3) }, { het: 2, content: Uint8Array.from([0xf0, 0, ...rng.bytes(16)]) }],
    });
    const pkt = new Uint8Array(n + 12);
    pkt.set(out.subarray(0, n));
    pkt.set(rng.bytes(12), n);
    seeds.push(pkt);
  }
  return seeds;
}

function fcastSeeds(rng: Rng): Uint8Array[] {
  const seeds: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) {
    seeds.push(
      encodeFcastObject(
        {
          global: i % 2 === 1,
          mdEnc: i % 3 === 0 ? 1 : 0,
          metadata: {
            contentLocation: `dir${i}/file ${i}.bin`,
            contentLength: 40 + i,
            contentType: 'application/octet-stream',
            contentEncoding: i % 4 === 0 ? 'gzip' : undefined,
            digestSha256: rng.bytes(32),
            slice: i % 5 === 0 ? { nb: 3, idx: 1, offset: 4096 } : undefined,
            mtime: 1_700_000_000 + i,
            mode: 0o644,
            extra: [{ name: 'X-Note', value: `n${i}` }],
          },
        },
        rng.bytes(i * 7),
      ),
    );
  }
  return seeds;
}

function cidSeeds(): Uint8Array[] {
  const lists = [
    buildCidList([1, 2, 3, 100, 101, 102, 103, 104, 200, 201, 202, 203, 299]),
    buildCidList([4294967290, 4294967291, 4294967292, 4294967293, 4294967294, 4294967295, 0, 1, 2, 3, 4], {
      from: 4294967290,
      equivalences: [{ newToi: 9, oldToi: 1, ciid: 2 }],
    }),
    buildCidList([]),
  ];
  return lists.flatMap((list, i) => [
    encodeCidObject({ list, complete: i === 0, ciid: i }),
    encodeCidObject({ list, mdEnc: 1, global: false, ciid: 7 }),
  ]);
}

const LIST_SEEDS = ['1,2,3,100-104,200-203,299', '4294967290-4294967295,0-5,(9=1/2),(10=3/2)', '', '5,(5=1/0)'].map((s) => text.encode(s));
const METADATA_SEEDS = [
  'Content-Location: a/b.txt\r\nContent-Length: 12\r\nContent-Encoding: gzip\r\n',
  'Fcast-Obj-Slice-Nb: 2\r\nFcast-Obj-Slice-Idx: 1\r\nFcast-Obj-Slice-Offset: 9\r\nFcast-CID-Complete: 1\r\nFcast-CID-ID: 4\r\n',
  'Fcast-Obj-Digest-SHA1: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\nFcast-Obj-Mtime: -5\r\nFcast-Obj-Mode: 755\r\nX-A:\t b \r\n',
].map((s) => text.encode(s));
const PATH_SEEDS = ['dir/sub/file.bin', 'file:a/b', '%2e%2e/x', 'C:/x', 'a%00b', 'été/%C3%A9.txt', '../../etc/passwd'].map((s) => text.encode(s));

function mutate(rng: Rng, seed: Uint8Array): Uint8Array {
  let b: Uint8Array = seed.slice();
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    switch (rng.int(8)) {
      case 0: // bit flip
        if (b.length > 0) b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      case 1: // special byte, often in the first words where the length fields live
        if (b.length > 0) b[rng.int(Math.min(b.length, rng.int(2) === 0 ? 12 : b.length))] = rng.pick(SPECIAL);
        break;
      case 2: // random byte
        if (b.length > 0) b[rng.int(b.length)] = rng.next() & 0xff;
        break;
      case 3: // truncate
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 4: { // append random bytes
        const tail = rng.bytes(1 + rng.int(16));
        const c = new Uint8Array(b.length + tail.length);
        c.set(b);
        c.set(tail, b.length);
        b = c;
        break;
      }
      case 5: { // delete one byte
        if (b.length === 0) break;
        const at = rng.int(b.length);
        const c = new Uint8Array(b.length - 1);
        c.set(b.subarray(0, at));
        c.set(b.subarray(at + 1), at);
        b = c;
        break;
      }
      case 6: { // insert one byte
        const at = rng.int(b.length + 1);
        const c = new Uint8Array(b.length + 1);
        c.set(b.subarray(0, at));
        c[at] = rng.pick(SPECIAL);
        c.set(b.subarray(at), at + 1);
        b = c;
        break;
      }
      default: // a whole random buffer now and then
        if (rng.int(8) === 0) b = rng.bytes(rng.int(80));
        break;
    }
  }
  return b;
}

/** Re-seal a mutated FCAST object so half the cases get past the checksum into the metadata. */
function fixChecksum(b: Uint8Array): void {
  if (b.length < 8) return;
  const hl = new DataView(b.buffer, b.byteOffset, b.length).getUint32(4);
  const covered = b[0]! & 2 ? b.length : Math.min(hl, b.length);
  b[2] = 0;
  b[3] = 0;
  const c = internetChecksum(b.subarray(0, covered));
  b[2] = c >>> 8;
  b[3] = c & 0xff;
}

type Target = 'alc' | 'fcast' | 'cid' | 'list' | 'metadata' | 'path';

function runTarget(target: Target, input: Uint8Array, rng: Rng): void {
  switch (target) {
    case 'alc': {
      const p = decodeAlcPacket(input, rng.int(2) === 0 ? undefined : { cciLength: 4, requireToi: true });
      // Views, never copies: whatever the decoder returns lives in the datagram's memory.
      if (p.payload.length > 0 && p.payload.buffer !== input.buffer) throw new Error('payload was copied');
      if (p.lct.cci.buffer !== input.buffer) throw new Error('CCI was copied');
      return;
    }
    case 'fcast': {
      // A transfer length from the OTI that may disagree with the bytes at hand.
      const transferLength = rng.int(4) === 0 ? rng.int(input.length + 64) : input.length;
      if (rng.int(2) === 0) decodeFcastHeader(input, transferLength);
      else decodeFcastObject(input);
      return;
    }
    case 'cid':
      decodeCidObject(input);
      return;
    case 'list':
      decodeCidList(input, rng.int(2) === 0 ? undefined : { maxToi: 0xffff });
      return;
    case 'metadata':
      decodeMetadata(rng.int(8) === 0 ? gzipSync(input) : input);
      return;
    case 'path':
      safeRelativePath(new TextDecoder().decode(input));
      return;
  }
}

describe('wire decoders under fuzzing', () => {
  it(`only FcastError codes escape (${CASES} cases, seed ${SEED})`, () => {
    const rng = new Rng(SEED);
    const seeds: Record<Target, Uint8Array[]> = {
      alc: alcSeeds(rng),
      fcast: fcastSeeds(rng),
      cid: cidSeeds(),
      list: LIST_SEEDS,
      metadata: METADATA_SEEDS,
      path: PATH_SEEDS,
    };
    // Every seed is valid before it is mutated.
    for (const s of seeds.alc) decodeAlcPacket(s);
    for (const s of seeds.fcast) decodeFcastObject(s);
    for (const s of seeds.cid) decodeCidObject(s);

    const codes = new Map<string, number>();
    let accepted = 0;
    let slowest = 0;
    let slowestCase = '';
    const rssBefore = process.memoryUsage().rss;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CASES; i++) {
      const roll = rng.int(100);
      const target: Target = roll < 70 ? 'alc' : roll < 82 ? 'fcast' : roll < 87 ? 'cid' : roll < 92 ? 'list' : roll < 96 ? 'metadata' : 'path';
      const input = mutate(rng, rng.pick(seeds[target]));
      if ((target === 'fcast' || target === 'cid') && rng.int(2) === 0) fixChecksum(input);
      const start = process.cpuUsage();
      try {
        runTarget(target, input, rng);
        accepted++;
      } catch (e) {
        if (!isFcastError(e)) {
          throw new Error(`seed ${SEED} case ${i} (${target}) threw ${String(e)} on ${Buffer.from(input).toString('hex')}`, { cause: e });
        }
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
      const cpu = process.cpuUsage(start);
      const took = (cpu.user + cpu.system) / 1000;
      if (took > slowest) {
        slowest = took;
        slowestCase = `${target} #${i}, ${input.length} bytes`;
      }
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    const top = [...codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    process.stdout.write(
      `wire fuzz: ${CASES} cases in ${seconds.toFixed(2)} s (${Math.round(CASES / seconds)} cases/s incl. mutation), seed ${SEED}\n` +
        `wire fuzz: slowest case ${slowest.toFixed(2)} ms of CPU (${slowestCase}); rss growth ${(rssGrowth / 2 ** 20).toFixed(1)} MiB\n` +
        `wire fuzz: accepted ${accepted}; rejected by code: ${top}\n`,
    );
    // No hang: every case is bounded (a gzip bomb stops at the 1 MiB cap; the margin covers GC).
    // Timed in this process's CPU time, not wall time, so a busy neighbour cannot fail it.
    expect(slowest).toBeLessThan(1000);
    // Lengths on the wire reach 2^32 (HL) and 2^48 (L): one allocation sized from them would show
    // up here as gigabytes. The bound leaves room for garbage not yet collected.
    expect(rssGrowth).toBeLessThan(2 ** 30);
    expect(codes.size).toBeGreaterThan(10);
  }, 30 * 60_000);

  it('decodes valid and mutated packets at hot-path speed (prints packets/s)', () => {
    const rng = new Rng(SEED ^ 0x5a5a5a5a || 1);
    const valid = alcSeeds(rng);
    const mutated = Array.from({ length: 20_000 }, () => mutate(rng, rng.pick(valid)));
    const rate = (packets: readonly Uint8Array[], n: number): { perSecond: number; rejected: number } => {
      let sink = 0;
      let rejected = 0;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        try {
          sink += decodeAlcPacket(packets[i % packets.length]!).payload.length;
        } catch (e) {
          if (!isFcastError(e)) throw e;
          sink++;
          rejected++;
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      expect(sink).toBeGreaterThan(0);
      return { perSecond: Math.round(n / seconds), rejected: rejected / n };
    };
    rate(valid, 20_000); // warm-up
    const validRate = rate(valid, 200_000);
    const mutatedRate = rate(mutated, 100_000);
    process.stdout.write(
      `wire fuzz: ALC decode rate ${validRate.perSecond} packets/s (valid, ${valid.length} shapes), ` +
        `${mutatedRate.perSecond} packets/s (mutated, ${(mutatedRate.rejected * 100).toFixed(0)}% rejected)\n`,
    );
  });
});
