// A fleet starts its receivers before the sender (task G): `fcast receive` dials the flexicast
// sender with backoff until it is up (src/net/flex-receiver.ts), and waits for an http(s) session
// description that is not published yet (src/cli/receive-target.ts), both bounded by --timeout.
// Loopback, real QUIC and sealed multicast on 127.0.0.1 (TTL 0). The control path cut
// mid-transfer (reconnect and re-join) is in test/netns/flex-reconnect.test.ts.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, fcast } from '../cli/cli-helpers.js';
import { schemeFor } from '../../codecs/index.js';
import { FEC_SCHEMES } from '../../src/assembly/index.js';
import { CarouselSender, type SenderConfig } from '../../src/carousel/index.js';
import { resolveTarget } from '../../src/cli/receive-target.js';
import { isFcastError } from '../../src/errors.js';
import { flexReceive } from '../../src/net/flex-receiver.js';
import { FlexSender } from '../../src/net/flex-sender.js';
import { identityFromPem, publicKeyText } from '../../src/net/quic-identity.js';
import { sendSession } from '../../src/net/send-session.js';
import { hashFile } from '../../src/store/source-tree.js';
import { encodeSdp } from '../../src/wire/index.js';
import { waitUntil } from '../helpers/wait.js';

const identity = () => identityFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const work = mkdtempSync(join(tmpdir(), 'fcast-flex-reconnect-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A UDP port free on 127.0.0.1 now (bound and released), for a sender that starts later. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(r));
  return port;
}

describe('flexicast receivers started before their sender', () => {
  beforeAll(ensureBuilt, 180_000);

  it('a flow receiver and a --no-multicast receiver started 2 s before the sender both complete; they report the dialling', async () => {
    const size = 1_500_000;
    const path = join(work, 'a.bin');
    writeFileSync(path, randomBytes(size));
    const port = await freeUdpPort();
    const id = identity();
    const notices: string[][] = [[], []];
    const t0 = performance.now();
    const rx = [false, true].map((noMulticast, i) => flexReceive({
      host: '127.0.0.1', port, senderKey: id.publicKey, identity: identity(), noMulticast,
      dir: join(work, `out${i}`), schemes: FEC_SCHEMES, iface: '127.0.0.1', timeoutMs: 25_000, onNotice: (t) => notices[i]!.push(t),
    }));
    await sleep(2000);
    const files = [{ key: 0, contentLocation: 'a.bin', contentLength: size, contentType: 'application/octet-stream', sha256: await hashFile(path), mtime: 0, mode: 0o644 }];
    const core: SenderConfig = { tsi: 78, files, fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 0 }, schemes: schemeFor, mode: 'push', cycles: 2, seed: 78 };
    const senderStartWall = Date.now();
    const flex = await FlexSender.start({
      identity: id, host: '127.0.0.1', port, admit: () => true,
      announce: { flowId: 12, tsi: 78, source: '127.0.0.1', channels: [{ address: '239.255.61.3', port: 47613 }], fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1400, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, rateBps: 40e6, reportIntervalMs: 100, dFbMs: 400 },
      objects: new CarouselSender(core).planned(), paths: [path], unicastBudgetBytesPerSec: 20e6,
    });
    try {
      // Both receivers on the air before the carousel starts, as the sender sees them (the flow
      // receiver listening, the other on unicast): they find it within one backoff step.
      await waitUntil('both receivers on their paths', () => flex.stats().receivers.map((r) => r.path).sort().join() === 'multicast,unicast', 10_000);
      await sendSession({ core, paths: [path], channels: [{ cn: 0, group: '239.255.61.3', port: 47613 }], family: 4, ttl: 0, iface: '127.0.0.1', bitsPerSecond: 40e6, flow: flex });
      expect(await flex.linger(15_000)).toBe('complete');
      const results = await Promise.all(rx);
      for (const [i, r] of results.entries()) {
        expect(r.status).toBe('complete');
        expect(readFileSync(join(work, `out${i}`, 'a.bin')).equals(readFileSync(path))).toBe(true);
        expect(r.flex.control.connects).toBe(1);
        expect(r.flex.control.attempts).toBeGreaterThan(1);
        // Measured from the receiver's own start: its start stamp plus firstConnectMs is when it
        // connected, after the sender started (not 'started + 1900 ms' by this test's clock, which
        // a loaded machine shifts by the receiver's slow start).
        expect(r.flex.timeline.startedAt + r.flex.control.firstConnectMs!).toBeGreaterThanOrEqual(senderStartWall);
        // Found within one backoff step (<= 5 s + 25 %) of the sender starting, here far sooner.
        expect(r.flex.control.firstConnectMs).toBeLessThan(2000 + 6250 + 2000);
        expect(r.flex.control.state).toBe('closed');
        expect(notices[i]![0]).toMatch(/^waiting for the flexicast sender 127\.0\.0\.1:\d+: attempt 1 failed/);
      }
      expect(results[0]!.flex.flowPackets).toBeGreaterThan(0);
      expect(results[1]!.flex.pathsUsed).toBe('unicast');
      console.log(`receivers started 2 s early: connected after ${results.map((r) => `${r.flex.control.firstConnectMs} ms (${r.flex.control.attempts} attempts)`).join(', ')}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await flex.close();
    }
  }, 30_000);

  it('no sender within --timeout: TIMEOUT naming the endpoint, the attempts and the last failure', async () => {
    const port = await freeUdpPort();
    const t0 = performance.now();
    const err = await flexReceive({
      host: '127.0.0.1', port, senderKey: identity().publicKey, identity: identity(), dir: join(work, 'none'), schemes: FEC_SCHEMES, timeoutMs: 2600,
    }).catch((e: unknown) => e);
    const took = performance.now() - t0;
    expect(isFcastError(err) && err.code === 'TIMEOUT').toBe(true);
    expect((err as Error).message).toMatch(/no flexicast sender at 127\.0\.0\.1:\d+ after \d+ connection attempts in 2\.\d s \(last: .*timed out/);
    expect(took).toBeGreaterThanOrEqual(2500);
    expect(took).toBeLessThan(5000);
  }, 10_000);

  it('fcast receive: no sender within --timeout exits 4, with the waiting notice on stderr', async () => {
    const port = await freeUdpPort();
    const keyFile = join(work, 'rx.key');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const k = publicKeyText(identity().publicKey);
    const r = await fcast(['receive', `fcast://127.0.0.1:${port}/x?key=${k}`, '-o', join(work, 'cli-out'), '--key', keyFile, '--timeout', '2500ms'], { timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/waiting for the flexicast sender 127\.0\.0\.1:\d+: attempt 1 failed/);
    expect(r.stderr).toMatch(/no flexicast sender at 127\.0\.0\.1:\d+ after \d+ connection attempts/);
  }, 20_000);

  it('a key not on the allow-list, or another key at the address, fails at once: waiting does not change it', async () => {
    const port = await freeUdpPort();
    const id = identity();
    const flex = await FlexSender.start({
      identity: id, host: '127.0.0.1', port, admit: () => false,
      announce: { flowId: 13, tsi: 79, source: '127.0.0.1', channels: [{ address: '239.255.61.5', port: 47615 }], fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1400, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, rateBps: 1e6, reportIntervalMs: 100, dFbMs: 400 },
      objects: [], paths: [], unicastBudgetBytesPerSec: 1e6,
    });
    try {
      const t0 = performance.now();
      const opts = { host: '127.0.0.1', port, identity: identity(), dir: join(work, 'refused'), schemes: FEC_SCHEMES, timeoutMs: 20_000 };
      await expect(flexReceive({ ...opts, senderKey: id.publicKey })).rejects.toThrow(/allow-list/);
      await expect(flexReceive({ ...opts, senderKey: identity().publicKey })).rejects.toMatchObject({ code: 'FLEX_PEER_KEY' });
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      await flex.close();
    }
  }, 15_000);

  it('an http(s) description not published yet (404, then the server down) is waited for until it is, within --timeout', async () => {
    const k = publicKeyText(identity().publicKey);
    const sdp = encodeSdp({
      version: 1, name: 'late', tsi: 9, family: 'IP4', ttl: 1, channels: [{ cn: 0, group: '239.255.61.4', port: 4000 }],
      fec: [{ codepoint: 0, encodingId: 0, symbolSize: 1400, maxSourceBlockLength: 1000 }], cci: 'webrc-short',
      rate: { control: 'fixed', bitsPerSecond: 1e8 }, mode: 'push', packetSize: 1448, extensions: ['EXT_FTI'], auth: 'none',
      flexicast: '127.0.0.1:4433', senderKey: k,
    });
    let published = false;
    const server: Server = createServer((_req, res) => {
      if (published) res.end(sdp);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/late.sdp`;
    try {
      const notices: string[] = [];
      const pending = resolveTarget(url, undefined, { timeoutMs: 10_000, onNotice: (t) => notices.push(t) });
      await sleep(1200);
      published = true;
      const t = await pending;
      expect(t.flexicast).toMatchObject({ host: '127.0.0.1', port: 4433, senderKey: k });
      expect(t.waitedMs).toBeGreaterThanOrEqual(1100);
      expect(notices[0]).toMatch(/^waiting for the session description: .*HTTP 404; retrying until --timeout/);
      // A 403 does not change by waiting: reported at once.
      published = false;
      const forbidden = createServer((_req, res) => res.writeHead(403).end());
      await new Promise<void>((r) => forbidden.listen(0, '127.0.0.1', r));
      const t1 = performance.now();
      await expect(resolveTarget(`http://127.0.0.1:${(forbidden.address() as { port: number }).port}/x.sdp`, undefined, { timeoutMs: 10_000 })).rejects.toThrow(/HTTP 403/);
      expect(performance.now() - t1).toBeLessThan(1000);
      forbidden.close();
    } finally {
      server.close();
    }
    // Nothing listening at all: NETWORK (exit 6) once --timeout is spent.
    const t2 = performance.now();
    const err = await resolveTarget(url, undefined, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isFcastError(err) && err.code === 'NETWORK').toBe(true);
    expect(performance.now() - t2).toBeGreaterThanOrEqual(500);
    expect(performance.now() - t2).toBeLessThan(2500);
  }, 20_000);
});
