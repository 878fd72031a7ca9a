// The carousel's batched multicast socket (src/net/batch-send.ts): packets of mixed sizes to two
// channels, queued at the send loop's pace, arrive intact and in order on a loopback listener
// (239.x, TTL 0, out of 127.0.0.1), through the native sendmmsg path and through the node:dgram
// fallback (FCAST_SEND_PATH=dgram, FCAST_NO_NATIVE=1).
import dgram from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nativeStatus } from '../../codecs/native.js';

const GROUP = '239.255.91.17';

interface Listener {
  readonly got: Buffer[];
  stop(): Promise<void>;
}

async function listen(port: number): Promise<Listener> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => sock.bind(port, GROUP, resolve));
  sock.addMembership(GROUP, '127.0.0.1');
  sock.setRecvBufferSize(8 << 20);
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  return { got, stop: () => new Promise<void>((resolve) => sock.close(() => resolve())) };
}

/** Packet i: its index, then a byte pattern of i; sizes vary (short, MTU, jumbo, empty). */
function packet(i: number): Uint8Array {
  const sizes = [1428, 1428, 1428, 97, 1428, 9000, 4, 1428];
  const p = new Uint8Array(sizes[i % sizes.length]!);
  const view = new DataView(p.buffer);
  if (p.length >= 4) view.setUint32(0, i);
  for (let j = 4; j < p.length; j++) p[j] = (i * 7 + j) & 0xff;
  return p;
}

async function roundTrip(mod: typeof import('../../src/net/batch-send.js'), count: number): Promise<void> {
  const base = 42_000 + (process.pid % 5000) * 2;
  const a = await listen(base);
  const b = await listen(base + 1);
  try {
    const udp = await mod.openMulticastSender({ family: 4, ttl: 0, iface: '127.0.0.1' });
    expect(udp.address().port).toBeGreaterThan(0);
    const sent: Uint8Array[][] = [[], []];
    for (let i = 0; i < count; i++) {
      // Two channels, interleaved in runs of three (a WEBRC-like mix of destinations).
      const ch = Math.floor(i / 3) % 2;
      const p = packet(i);
      sent[ch]!.push(p);
      await udp.send(p, GROUP, base + ch);
      // Yield now and then, as the pacer does: partial batches must go out, not wait for 64.
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
    }
    await udp.close();
    await vi.waitFor(() => expect(a.got.length + b.got.length).toBe(count), { timeout: 5000, interval: 20 });
    // Hex strings: a deep compare of thousands of Buffers byte by byte takes seconds.
    const hex = (list: readonly Uint8Array[]): string[] => list.map((m) => Buffer.from(m).toString('hex'));
    expect(hex(a.got)).toEqual(hex(sent[0]!));
    expect(hex(b.got)).toEqual(hex(sent[1]!));
  } finally {
    await a.stop();
    await b.stop();
  }
}

describe('batched multicast send', () => {
  afterEach(() => {
    delete process.env.FCAST_SEND_PATH;
    delete process.env.FCAST_NO_NATIVE;
    vi.resetModules();
  });

  it.runIf(process.platform === 'linux' && nativeStatus().loaded)('native sendmmsg: packets intact, in order, per channel', async () => {
    const mod = await import('../../src/net/batch-send.js');
    expect(mod.sendPath(4)).toBe('sendmmsg');
    expect(mod.sendPath(6)).toBe('dgram');
    await roundTrip(mod, 1000);
  });

  it('a packet queued alone leaves when the loop yields, not at the next batch', async () => {
    const mod = await import('../../src/net/batch-send.js');
    const port = 43_000 + (process.pid % 5000);
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve) => sock.bind(port, GROUP, resolve));
    sock.addMembership(GROUP, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    const udp = await mod.openMulticastSender({ family: 4, ttl: 0, iface: '127.0.0.1' });
    try {
      await udp.send(packet(3), GROUP, port);
      await vi.waitFor(() => expect(got.length).toBe(1), { timeout: 2000, interval: 10 });
      expect(Buffer.from(got[0]!)).toEqual(Buffer.from(packet(3)));
    } finally {
      await udp.close();
      await new Promise<void>((resolve) => sock.close(() => resolve()));
    }
  });

  it('node:dgram fallback with FCAST_SEND_PATH=dgram', async () => {
    process.env.FCAST_SEND_PATH = 'dgram';
    const mod = await import('../../src/net/batch-send.js');
    expect(mod.sendPath(4)).toBe('dgram');
    await roundTrip(mod, 300);
  });

  it('node:dgram fallback with FCAST_NO_NATIVE=1', async () => {
    process.env.FCAST_NO_NATIVE = '1';
    vi.resetModules();
    const mod = await import('../../src/net/batch-send.js');
    expect(mod.sendPath(4)).toBe('dgram');
    await roundTrip(mod, 300);
  });

  it('binds the given source; a source that is not local is an errno error (exit 6), on either path', async () => {
    for (const path of ['native', 'dgram']) {
      if (path === 'dgram') process.env.FCAST_SEND_PATH = 'dgram';
      const mod = await import('../../src/net/batch-send.js');
      const udp = await mod.openMulticastSender({ family: 4, ttl: 0, iface: '127.0.0.1', source: '127.0.0.1' });
      expect(udp.address().address).toBe('127.0.0.1');
      await udp.close();
      // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails before anything is sent.
      await expect(mod.openMulticastSender({ family: 4, ttl: 0, source: '192.0.2.1' })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
    }
  });

  it('refuses a bad TTL and a source of the wrong family, on either path', async () => {
    const mod = await import('../../src/net/batch-send.js');
    await expect(mod.openMulticastSender({ family: 4, ttl: 256 })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(mod.openMulticastSender({ family: 4, ttl: 1, source: '::1' })).rejects.toMatchObject({ code: 'USAGE' });
    process.env.FCAST_SEND_PATH = 'dgram';
    await expect(mod.openMulticastSender({ family: 4, ttl: -1 })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
