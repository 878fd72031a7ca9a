// The real send path (src/net/send-session.ts -> batch-send.ts -> the addon) with the native fill
// of data-packet runs (fillRun) and without it (FCAST_SEND_FAST=0, a datagram per packet made in
// TypeScript): the same session gives the same datagrams, byte for byte, on a loopback listener
// (239.x, TTL 0, out of 127.0.0.1). Unpaced (runs of up to 64) and paced (runs of what the token
// bucket holds); push with LDPC (source and repair passes, close flags, CID). Which blocks share
// the window depends on when the shell's reads complete, so the interleaving of blocks (hence each
// packet's PSN, and which packet of an object is its last and carries B) may differ between two
// runs of either path: the datagrams are compared with the PSN and B masked, as multisets, and
// each stream's PSNs must count up from 0 with as many B flags. The order itself is the core's
// (test/unit/carousel/data-run.test.ts: pollRun against poll(), packet for packet).
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { schemeFor } from '../../codecs/index.js';
import { getNative, nativeStatus } from '../../codecs/native.js';
import { Rng, type SenderConfig } from '../../src/carousel/index.js';
import { sendSession } from '../../src/net/send-session.js';

const GROUP = '239.255.91.23';
const dir = mkdtempSync(join(tmpdir(), 'fcast-send-fill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Addon = Record<string, unknown>;
const addon = getNative() as unknown as Addon | undefined;
const hasFill = process.platform === 'linux' && nativeStatus().loaded && typeof addon?.fillRun === 'function';

function fileOf(length: number, seed: number): string {
  const rng = new Rng(seed);
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = rng.next() & 0xff;
  const path = join(dir, `f${seed}.bin`);
  writeFileSync(path, b);
  return path;
}

/** One session to a listener; the datagrams it got (hex) and how many runs the native fill made. */
/** A datagram with its PSN (CCI bytes 6-7) zeroed and its B flag cleared. */
function masked(m: Buffer): string {
  const c = Buffer.from(m);
  c[1] = c[1]! & ~1;
  c[6] = 0;
  c[7] = 0;
  return c.toString('hex');
}

/** The stream's PSNs count up from 0 (mod 2^16); returns its B flags. */
function checkPsnAndCountB(stream: readonly Buffer[]): number {
  let b = 0;
  stream.forEach((m, i) => {
    expect(m.readUInt16BE(6)).toBe(i & 0xffff);
    b += m[1]! & 1;
  });
  return b;
}

async function session(port: number, path: string, length: number, bitsPerSecond: number, fast: boolean): Promise<{ got: Buffer[]; packets: number; runs: number }> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => sock.bind(port, GROUP, resolve));
  sock.addMembership(GROUP, '127.0.0.1');
  sock.setRecvBufferSize(4 << 20);
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  const fill = addon!.fillRun as (...args: unknown[]) => number;
  let runs = 0;
  addon!.fillRun = (...args: unknown[]): number => {
    runs++;
    return fill(...args);
  };
  process.env.FCAST_SEND_FAST = fast ? '1' : '0';
  try {
    const core: SenderConfig = {
      tsi: 5,
      files: [{ key: 0, contentLocation: 'f.bin', contentLength: length, contentType: 'application/octet-stream', sha256: new Uint8Array(32).fill(7), mtime: 1_700_000_000, mode: 0o644 }],
      fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 200, codeRate: 2 / 3, n1m3: 2 },
      schemes: schemeFor,
      mode: 'push',
      cycles: 2,
      seed: 5,
      maxActiveBlocks: 3,
      prefetchBlocks: 1,
    };
    const res = await sendSession({ core, paths: [path], channels: [{ cn: 0, group: GROUP, port }], family: 4, ttl: 0, iface: '127.0.0.1', bitsPerSecond });
    await vi.waitFor(() => expect(got.length).toBe(res.stats.packets), { timeout: 5000, interval: 20 });
    return { got, packets: res.stats.packets, runs };
  } finally {
    addon!.fillRun = fill;
    delete process.env.FCAST_SEND_FAST;
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

describe('send path: native fill of data-packet runs', () => {
  for (const [name, length, rate] of [
    ['unpaced (10 Gbit/s)', 300_000, 1e10],
    ['paced (100 Mbit/s)', 700_000, 1e8],
  ] as const) {
    it.runIf(hasFill)(`${name}: the datagrams are those of the per-packet path`, async () => {
      const port = 43_000 + (process.pid % 5000) * 2 + (rate > 1e9 ? 0 : 1);
      const path = fileOf(length, rate > 1e9 ? 1 : 2);
      const fast = await session(port, path, length, rate, true);
      const slow = await session(port, path, length, rate, false);
      expect(slow.runs).toBe(0);
      expect(fast.runs).toBeGreaterThan(3);
      // Far fewer fill calls than data packets: the runs hold many packets each.
      expect(fast.runs * 4).toBeLessThan(fast.packets);
      expect(fast.packets).toBe(slow.packets);
      expect(checkPsnAndCountB(fast.got)).toBe(checkPsnAndCountB(slow.got));
      const sorted = (list: readonly Buffer[]): string[] => list.map(masked).sort();
      // Not toEqual on thousands of long strings: a difference would print megabytes.
      const a = sorted(fast.got);
      const b = sorted(slow.got);
      const firstDiff = a.findIndex((x, i) => x !== b[i]);
      expect(firstDiff).toBe(-1);
    });
  }
});
