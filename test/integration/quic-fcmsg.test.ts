// FC-msg replication (src/net/batch-udp.ts, native/src/sendmmsg.cc) on loopback: one encrypted
// flow packet, 32 receiver sockets, every copy arrives, by sendmmsg and by the node:dgram fallback.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowOpener, FlowSealer, deriveFlowKey } from '../../src/flexicast/flow-crypto.js';
import { batchUdpPath, openBatchSender, type BatchSender } from '../../src/net/batch-udp.js';

const open: Array<Socket | BatchSender> = [];
afterEach(() => { for (const s of open.splice(0)) s.close(); });

async function receivers(n: number): Promise<{ ports: number[]; got: Uint8Array[][] }> {
  const got: Uint8Array[][] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createSocket('udp4');
    open.push(s);
    const box: Uint8Array[] = [];
    got.push(box);
    s.on('message', (m) => box.push(new Uint8Array(m)));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    ports.push(s.address().port);
  }
  return { ports, got };
}

async function until(f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('FC-msg batch UDP replication', () => {
  it('uses sendmmsg on Linux with the addon built', () => {
    expect(batchUdpPath()).toBe(process.platform === 'linux' ? 'sendmmsg' : 'dgram');
  });

  for (const forceDgram of [false, true]) {
    it(`delivers 32 copies of each encrypted flow packet (${forceDgram ? 'node:dgram' : 'native'} path)`, async () => {
      const { ports, got } = await receivers(32);
      const sender = await openBatchSender({ bindAddress: '127.0.0.1', forceDgram });
      open.push(sender);
      expect(sender.path).toBe(forceDgram ? 'dgram' : batchUdpPath());
      expect(sender.localPort).toBeGreaterThan(0);
      sender.setDestinations(ports.map((port) => ({ address: '127.0.0.1', port })));
      const secret = randomBytes(32);
      const sealer = new FlowSealer(deriveFlowKey(5, 0, secret));
      const alc = Array.from({ length: 10 }, (_, i) => randomBytes(1200 + i));
      for (const p of alc) expect(sender.sendCopies(sealer.seal(p))).toBe(32);
      await until(() => got.every((g) => g.length === 10));
      for (const g of got) {
        const opener = new FlowOpener();
        opener.install(deriveFlowKey(5, 0, secret));
        expect(g.map((pkt) => Buffer.from(opener.open(pkt) ?? []).toString('hex'))).toEqual(alc.map((p) => p.toString('hex')));
      }
      expect(sender.stats()).toEqual({ sent: 320, dropped: 0 });
      sender.close();
      expect(() => sender.sendCopies(Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'FLEX_SOCKET' }));
    });
  }

  it('refuses bad input with typed errors', async () => {
    const sender = await openBatchSender({ bindAddress: '127.0.0.1' });
    open.push(sender);
    expect(() => sender.setDestinations([{ address: 'example.org', port: 1 }])).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    expect(() => sender.setDestinations([{ address: '::1', port: 1 }])).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    expect(() => sender.setDestinations([{ address: '127.0.0.1', port: 70000 }])).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    expect(() => sender.sendCopies(new Uint8Array(70000))).toThrow(expect.objectContaining({ code: 'FLEX_VALUE' }));
    // The port is taken: bind fails with the errno named.
    await expect(openBatchSender({ bindAddress: '127.0.0.1', port: sender.localPort })).rejects.toMatchObject({ code: 'FLEX_SOCKET', message: expect.stringContaining('EADDRINUSE') });
  });
});
