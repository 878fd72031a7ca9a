// Flexicast shells on loopback (issue 6): src/net/flex-sender.ts hooked on the real send loop and
// src/net/flex-receiver.ts on the real receive loop, over real QUIC and sealed multicast on
// 127.0.0.1 (TTL 0). One receiver takes the flow, one (--no-multicast) takes everything by
// unicast DATA; both rebuild the file byte for byte. Also: the doctor's QUIC check, fcast:// URLs
// and allow-list files.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { schemeFor } from '../../codecs/index.js';
import { FEC_SCHEMES } from '../../src/assembly/index.js';
import { CarouselSender, type SenderConfig } from '../../src/carousel/index.js';
import { checkQuic } from '../../src/cli/doctor-quic.js';
import { parseFcastUrl } from '../../src/cli/flex-receive.js';
import { readAllowList } from '../../src/cli/flex-send.js';
import { resolveTarget } from '../../src/cli/receive-target.js';
import { encodeSdp } from '../../src/wire/index.js';
import { flexReceive } from '../../src/net/flex-receiver.js';
import { FlexSender } from '../../src/net/flex-sender.js';
import { identityFromPem, publicKeyText } from '../../src/net/quic-identity.js';
import { sendSession } from '../../src/net/send-session.js';
import { hashFile } from '../../src/store/source-tree.js';
import { waitUntil } from '../helpers/wait.js';

const identity = () => identityFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const work = mkdtempSync(join(tmpdir(), 'fcast-flex-loop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function startSender(path: string, size: number, admit: (k: Uint8Array) => boolean, rotateIntervalMs?: number) {
  const files = [{ key: 0, contentLocation: 'a.bin', contentLength: size, contentType: 'application/octet-stream', sha256: await hashFile(path), mtime: 0, mode: 0o644 }];
  const core: SenderConfig = { tsi: 77, files, fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 0 }, schemes: schemeFor, mode: 'push', cycles: 2, seed: 77 };
  const id = identity();
  const flex = await FlexSender.start({
    identity: id, host: '127.0.0.1', port: 0, admit,
    announce: { flowId: 11, tsi: 77, source: '127.0.0.1', channels: [{ address: '239.255.61.1', port: 47611 }], fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1400, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, rateBps: 40e6, reportIntervalMs: 100, dFbMs: 400 },
    objects: new CarouselSender(core).planned(), paths: [path], unicastBudgetBytesPerSec: 20e6, rotateIntervalMs,
  });
  return { flex, core, id };
}

describe('flexicast shells on loopback', () => {
  it('a flow receiver and a --no-multicast receiver both complete; unicast bytes ≈ file size for the latter; the key rotates periodically', async () => {
    const size = 2_500_000;
    const path = join(work, 'a.bin');
    writeFileSync(path, randomBytes(size));
    const { flex, core, id } = await startSender(path, size, () => true, 400);
    try {
      const rx = [false, true].map((noMulticast, i) => flexReceive({
        host: '127.0.0.1', port: flex.port, senderKey: id.publicKey, identity: identity(), noMulticast,
        dir: join(work, `out${i}`), schemes: FEC_SCHEMES, iface: '127.0.0.1', timeoutMs: 30_000,
      }));
      // Both on the air before the carousel starts, as the sender sees them (the flow receiver
      // listening, the other on unicast), rather than after a fixed wait a loaded machine can outrun.
      await waitUntil('both receivers on their paths', () => flex.stats().receivers.map((r) => r.path).sort().join() === 'multicast,unicast', 10_000);
      await sendSession({ core, paths: [path], channels: [{ cn: 0, group: '239.255.61.1', port: 47611 }], family: 4, ttl: 0, iface: '127.0.0.1', bitsPerSecond: 40e6, flow: flex });
      expect(await flex.linger(20_000)).toBe('complete');
      const [flow, uni] = await Promise.all(rx);
      for (const [i, r] of [flow!, uni!].entries()) {
        expect(r.status).toBe('complete');
        expect(readFileSync(join(work, `out${i}`, 'a.bin')).equals(readFileSync(path))).toBe(true);
      }
      expect(flow!.flex.flowPackets).toBeGreaterThan(0);
      expect(uni!.flex.pathsUsed).toBe('unicast');
      expect(uni!.flex.mode).toBe('unicast-only');
      expect(uni!.flex.unicastBytes).toBeGreaterThan(size);
      expect(uni!.flex.unicastBytes).toBeLessThan(1.3 * size);
      const s = flex.stats();
      expect(s.receivers.length).toBe(2);
      expect(s.flowPackets).toBeGreaterThan(0);
      // Rotations every 400 ms while the flow receiver kept opening the flow (no leave before the end).
      expect(s.controller.rotations).toBeGreaterThanOrEqual(2);
      expect(flow!.flex.flowDropped).toEqual({});
    } finally {
      await flex.close();
    }
  }, 60_000);

  it('doctor QUIC check: the pinned key answers; another key is reported', async () => {
    const path = join(work, 'b.bin');
    writeFileSync(path, randomBytes(1000));
    const { flex, id } = await startSender(path, 1000, () => false);
    try {
      const ctx = (senderKey: string) => ({ waitMs: 0, flow: { family: 'IP4' as const, channels: [], flexicast: { host: '127.0.0.1', port: flex.port, senderKey } } });
      const ok = await checkQuic(ctx(publicKeyText(id.publicKey)));
      expect(ok.ok, ok.detail).toBe(true);
      expect(ok.detail).toMatch(/sender key verified/);
      const bad = await checkQuic(ctx(publicKeyText(identity().publicKey)));
      expect(bad.ok).toBe(false);
      expect(bad.why).toBe('another key answers');
      // The throwaway identities were refused after their handshakes.
      await new Promise((r) => setTimeout(r, 100));
      expect(flex.stats().refused).toBeGreaterThanOrEqual(1);
      expect(ok.detail).toMatch(/no ANNOUNCE for a throwaway key/);
    } finally {
      await flex.close();
    }
    // A sender that admits the key names its flow channels in ANNOUNCE: the flow check uses them.
    const open = await startSender(path, 1000, () => true);
    try {
      const learned: { channels?: ReadonlyArray<{ group: string; port: number }> } = {};
      const ctx = { waitMs: 0, learned, flow: { family: 'IP4' as const, channels: [], flexicast: { host: '127.0.0.1', port: open.flex.port, senderKey: publicKeyText(open.id.publicKey) } } };
      const ok = await checkQuic(ctx);
      expect(ok.ok, ok.detail).toBe(true);
      expect(ok.detail).toMatch(/admitted: flow on 239\.255\.61\.1:47611, FC-msg auto/);
      expect(learned.channels).toEqual([{ group: '239.255.61.1', port: 47611 }]);
      // Doctor never joined: the sender rotated nothing when it left.
      await new Promise((r) => setTimeout(r, 100));
      expect(open.flex.stats().controller.rotations).toBe(0);
    } finally {
      await open.flex.close();
    }
  }, 30_000);

  it('a session file naming the endpoint resolves to it, with the sender key to pin', async () => {
    const k = publicKeyText(identity().publicKey);
    const file = join(work, 'session.sdp');
    writeFileSync(file, encodeSdp({
      version: 1, name: 'nightly', tsi: 9, family: 'IP4', ttl: 1, channels: [{ cn: 0, group: '239.255.61.2', port: 4000 }],
      fec: [{ codepoint: 0, encodingId: 0, symbolSize: 1400, maxSourceBlockLength: 1000 }], cci: 'webrc-short',
      rate: { control: 'fixed', bitsPerSecond: 1e8 }, mode: 'push', packetSize: 1448, extensions: ['EXT_FTI'], auth: 'none',
      flexicast: '127.0.0.1:4433', senderKey: k,
    }));
    const t = await resolveTarget(file, undefined);
    expect(t.flexicast).toEqual({ host: '127.0.0.1', port: 4433, senderKey: k, name: 'nightly' });
    const u = await resolveTarget(`fcast://127.0.0.1:4433/nightly?key=${k}`, undefined);
    expect(u).toMatchObject({ from: 'flexicast', channels: [], flexicast: { host: '127.0.0.1', port: 4433, senderKey: k } });
  });

  it('fcast:// URLs and allow-lists', () => {
    const k = publicKeyText(identity().publicKey);
    expect(parseFcastUrl(`fcast://10.0.0.1:4433/nightly?key=${k}`)).toEqual({ host: '10.0.0.1', port: 4433, senderKey: k, name: 'nightly' });
    expect(parseFcastUrl('fcast://[2001:db8::1]:443/x')).toEqual({ host: '2001:db8::1', port: 443, senderKey: undefined, name: 'x' });
    expect(parseFcastUrl('239.1.2.3:4000')).toBeUndefined();
    expect(() => parseFcastUrl('fcast://10.0.0.1/x')).toThrow(expect.objectContaining({ code: 'USAGE' }));
    const k2 = publicKeyText(identity().publicKey);
    const list = join(work, 'allow-list.txt');
    writeFileSync(list, `# receivers\ned25519:${k}\n\n${k2}\n`);
    expect([...readAllowList([list])].sort()).toEqual([k, k2].sort());
    expect([...readAllowList([`ed25519:${k}`])]).toEqual([k]);
    writeFileSync(list, 'ed25519:not-a-key\n');
    expect(() => readAllowList([list])).toThrow(/line 1/);
  });
});
