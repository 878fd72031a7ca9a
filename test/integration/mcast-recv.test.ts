// The receiver's multicast socket (src/net/mcast-recv.ts): datagrams sent by the batched sender
// (sendmmsg with UDP GSO runs of equal-size packets, src/net/batch-send.ts) over loopback
// multicast (239.x, TTL 0, out of 127.0.0.1) arrive one by one, intact and in order, whether the
// socket takes GSO buffers whole (UDP_GRO, split in userspace) or the kernel segments them
// (FCAST_RECV_GRO=0), and through the node:dgram fallback.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nativeStatus } from '../../codecs/native.js';

const GROUP = '239.255.93.29';

/** Packet i: its index, then a byte pattern; runs of equal sizes (GSO) with odd ones between. */
function packet(i: number): Uint8Array {
  const sizes = [1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 1436, 777, 1436, 1436, 9];
  const p = new Uint8Array(sizes[i % sizes.length]!);
  new DataView(p.buffer).setUint32(0, i);
  for (let j = 4; j < p.length; j++) p[j] = (i * 13 + j) & 0xff;
  return p;
}

async function roundTrip(env: Record<string, string>, count: number, idleMs = 0, batches = false): Promise<{ gro: boolean; groBuffers: number }> {
  vi.resetModules();
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  const recv = await import('../../src/net/mcast-recv.js');
  const send = await import('../../src/net/batch-send.js');
  const port = 44_000 + (process.pid % 5000);
  const got: string[] = [];
  // With a batch handler: each run's datagrams, all from the sending address.
  const onBatch = (data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, from: string): void => {
    expect(from).toBe('127.0.0.1');
    for (let i = 0; i < count; i++) got.push(Buffer.from(data.subarray(offsets[i]!, offsets[i]! + lengths[i]!)).toString('hex'));
  };
  const ch = await recv.joinChannel({ group: GROUP, port, iface: '127.0.0.1' }, (b) => got.push(Buffer.from(b).toString('hex')), batches ? onBatch : undefined);
  try {
    const udp = await send.openMulticastSender({ family: 4, ttl: 0, iface: '127.0.0.1' });
    // An idle socket is polled less and less often (up to what its buffer absorbs).
    await new Promise((r) => setTimeout(r, idleMs));
    const sent: string[] = [];
    for (let i = 0; i < count; i++) {
      const p = packet(i);
      sent.push(Buffer.from(p).toString('hex'));
      await udp.send(p, GROUP, port);
      // Yield in full batches now and then, as the pacer does after a dry bucket.
      if (i % 64 === 63) await new Promise((r) => setTimeout(r, 2));
    }
    await udp.close();
    await vi.waitFor(() => expect(got.length).toBe(count), { timeout: 5000, interval: 20 });
    expect(got).toEqual(sent);
    return { gro: ch.gro, groBuffers: ch.groBuffers() };
  } finally {
    await ch.close();
    vi.unstubAllEnvs();
  }
}

describe('multicast receive socket', () => {
  afterEach(() => vi.unstubAllEnvs());
  const native = process.platform === 'linux' && nativeStatus().loaded;

  it.runIf(native)('recvmmsg with UDP_GRO: GSO buffers arrive whole and are split into the sent datagrams', async () => {
    const r = await roundTrip({}, 3000);
    expect(r.gro).toBe(true);
    expect(r.groBuffers).toBeGreaterThan(0);
  });

  it.runIf(native)('recvmmsg without UDP_GRO (FCAST_RECV_GRO=0): the kernel segments, same datagrams', async () => {
    const r = await roundTrip({ FCAST_RECV_GRO: '0' }, 2000);
    expect(r.gro).toBe(false);
    expect(r.groBuffers).toBe(0);
  });

  it.runIf(native)('recvmmsg in batches: the addon cuts GRO buffers into runs (mcastRecvRuns), or recv-runs.ts does (FCAST_RECV_FAST=0): same datagrams', async () => {
    const r = await roundTrip({}, 3000, 0, true);
    expect(r.gro).toBe(true);
    expect(r.groBuffers).toBeGreaterThan(0);
    const ts = await roundTrip({ FCAST_RECV_FAST: '0' }, 3000, 0, true);
    expect(ts.groBuffers).toBeGreaterThan(0);
  });

  it.runIf(native)('mcastRecvRuns keeps to the room it is given: datagrams past the offsets array are dropped, every one it reports lies in the buffer', async () => {
    const { getNative } = await import('../../codecs/native.js');
    const { v4 } = await import('../../src/net/socket-addon.js');
    const send = await import('../../src/net/batch-send.js');
    type Fn = (...a: unknown[]) => number;
    const a = getNative() as unknown as Record<'mcastOpen4' | 'mcastRecvRuns' | 'udpClose', Fn>;
    const port = 45_000 + (process.pid % 5000);
    const fd = a.mcastOpen4(v4(GROUP), port, v4('127.0.0.1'), new Uint8Array(0), 1 << 20, 1);
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      const udp = await send.openMulticastSender({ family: 4, ttl: 0, iface: '127.0.0.1' });
      for (let i = 0; i < 40; i++) await udp.send(packet(i), GROUP, port);
      await udp.close();
      const slot = 65_536;
      const buf = new Uint8Array(4 * slot);
      const offsets = new Uint32Array(2);
      const lengths = new Uint32Array(7);
      const runs = new Uint32Array(3 + 2 * 4);
      expect(() => a.mcastRecvRuns(fd, buf, slot, offsets, lengths, new Uint32Array(4))).toThrow(TypeError);
      let got = 0;
      await new Promise((r) => setTimeout(r, 20));
      for (let tries = 0; got === 0 && tries < 50; tries++) {
        got = a.mcastRecvRuns(fd, buf, slot, offsets, lengths, runs);
        if (got === 0) await new Promise((r) => setTimeout(r, 5));
      }
      expect(got).toBeGreaterThan(0);
      expect(got).toBe(4);
      // Room for two: the rest of what was read is dropped.
      expect(runs[0]).toBe(Math.min(got, 2));
      expect(runs[1]).toBe(1);
      expect(runs[3]).toBe(runs[0]);
      for (let i = 0; i < runs[0]!; i++) expect(offsets[i]! + lengths[i]!).toBeLessThanOrEqual(buf.length);
    } finally {
      a.udpClose(fd);
    }
  });

  it.runIf(native)('recvmmsg after an idle spell (polling backed off): a burst arrives whole', async () => {
    const r = await roundTrip({}, 3000, 300);
    expect(r.gro).toBe(true);
  });

  it('the idle poll interval leaves half the socket buffer free at 1 Gbit/s, between 1 and 16 ms', async () => {
    const { idlePollMaxMs } = await import('../../src/net/mcast-recv.js');
    expect(idlePollMaxMs(212_992)).toBe(1); // Linux's default rmem_max: no back-off
    expect(idlePollMaxMs(1 << 20)).toBe(4);
    expect(idlePollMaxMs(4 << 20)).toBe(16);
    expect(idlePollMaxMs(64 << 20)).toBe(16);
    expect(idlePollMaxMs(0)).toBe(1);
  });

  it('the poll interval while datagrams come: 4 ms, less with a small socket buffer', async () => {
    const { busyPollMs } = await import('../../src/net/mcast-recv.js');
    expect(busyPollMs(212_992)).toBe(1);
    expect(busyPollMs(512 * 1024)).toBe(2);
    expect(busyPollMs(1 << 20)).toBe(4);
    expect(busyPollMs(64 << 20)).toBe(4);
  });

  it('node:dgram fallback (FCAST_RECV_PATH=dgram): same datagrams', async () => {
    const r = await roundTrip({ FCAST_RECV_PATH: 'dgram' }, 1000);
    expect(r.gro).toBe(false);
  });
});
