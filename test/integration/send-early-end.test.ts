// A push session whose receivers all hold the flexicast channel ends once they have reported
// every file complete (src/net/send-session.ts receiversDone, FlexSender.receiversComplete,
// `fcast send --expect-receivers`), instead of sending the rest of its cycles. Real QUIC and
// sealed multicast on 127.0.0.1 (TTL 0).
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { schemeFor } from '../../codecs/index.js';
import { FEC_SCHEMES } from '../../src/assembly/index.js';
import { CarouselSender, type SenderConfig } from '../../src/carousel/index.js';
import Send from '../../src/commands/send.js';
import { flexReceive } from '../../src/net/flex-receiver.js';
import { FlexSender } from '../../src/net/flex-sender.js';
import { identityFromPem } from '../../src/net/quic-identity.js';
import { sendSession } from '../../src/net/send-session.js';
import { hashFile } from '../../src/store/source-tree.js';
import { waitUntil } from '../helpers/wait.js';

const PKG = fileURLToPath(new URL('../..', import.meta.url));
const identity = () => identityFromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const work = mkdtempSync(join(tmpdir(), 'fcast-early-end-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('push session ended by its receivers', () => {
  it('closes after the flexicast receivers report complete, long before its 40 cycles', async () => {
    const size = 1_000_000;
    const path = join(work, 'a.bin');
    writeFileSync(path, randomBytes(size));
    const files = [{ key: 0, contentLocation: 'a.bin', contentLength: size, contentType: 'application/octet-stream', sha256: await hashFile(path), mtime: 0, mode: 0o644 }];
    const cycles = 40;
    const core: SenderConfig = { tsi: 78, files, fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 }, schemes: schemeFor, mode: 'push', cycles, seed: 78 };
    const perCycle = new CarouselSender(core).stats().cycleTotal;
    const id = identity();
    // A group and port of its own: another run's carousel on the same pair would mix in.
    const group = `239.255.${200 + randomInt(50)}.${1 + randomInt(250)}`;
    const port = 40_000 + randomInt(20_000);
    const flex = await FlexSender.start({
      identity: id, host: '127.0.0.1', port: 0, admit: () => true,
      announce: { flowId: 12, tsi: 78, source: '127.0.0.1', channels: [{ address: group, port }], fecEncodingId: 3, fecInstanceId: 0, symbolSize: 1400, maxSourceBlockLength: 1000, maxEncodingSymbols: 1500, rateBps: 20e6, reportIntervalMs: 100, dFbMs: 400 },
      objects: new CarouselSender(core).planned(), paths: [path], unicastBudgetBytesPerSec: 20e6,
    });
    try {
      const rx = [0, 1].map((i) => flexReceive({
        host: '127.0.0.1', port: flex.port, senderKey: id.publicKey, identity: identity(),
        dir: join(work, `out${i}`), schemes: FEC_SCHEMES, iface: '127.0.0.1', timeoutMs: 30_000,
      }));
      // Both listening on the flow before it starts (as the sender sees them), not after a fixed wait.
      await waitUntil('both receivers on the flow', () => flex.stats().receivers.map((r) => r.path).join() === 'multicast,multicast', 10_000);
      // 40 cycles of ~1070 packets at 20 Mbit/s would take ~25 s.
      const t0 = performance.now();
      const res = await sendSession({
        core, paths: [path], channels: [{ cn: 0, group, port }], family: 4, ttl: 0, iface: '127.0.0.1', bitsPerSecond: 20e6, flow: flex,
        receiversDone: () => flex.receiversComplete() >= 2,
      });
      const ms = performance.now() - t0;
      process.stderr.write(`ended ${res.ended} after ${res.stats.packets} packets (one cycle ${perCycle}, ${cycles} cycles ${cycles * perCycle}) in ${ms.toFixed(0)} ms\n`);
      if (res.ended !== 'receivers-complete') process.stderr.write(`receivers at the sender: ${JSON.stringify(flex.stats().receivers)}\n`);
      expect(res.ended).toBe('receivers-complete');
      expect(res.aborted).toBe(false);
      expect(flex.receiversComplete()).toBe(2);
      expect(res.stats.packets).toBeLessThan(3 * perCycle);
      expect(ms).toBeLessThan(10_000);
      for (const [i, r] of (await Promise.all(rx)).entries()) {
        expect(r!.status).toBe('complete');
        expect(readFileSync(join(work, `out${i}`, 'a.bin')).equals(readFileSync(path))).toBe(true);
      }
    } finally {
      await flex.close();
    }
  }, 40_000);

  it('a session without the end condition sends its cycles and says so', async () => {
    const path = join(work, 'b.bin');
    writeFileSync(path, randomBytes(3000));
    const files = [{ key: 0, contentLocation: 'b.bin', contentLength: 3000, contentType: 'application/octet-stream', sha256: await hashFile(path), mtime: 0, mode: 0o644 }];
    const core: SenderConfig = { tsi: 79, files, fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 2 }, schemes: schemeFor, mode: 'push', cycles: 2, cidIntervalMs: 10_000 };
    const res = await sendSession({ core, paths: [path], channels: [{ cn: 0, group: '239.255.61.10', port: 47_999 }], family: 4, ttl: 0, iface: '127.0.0.1', bitsPerSecond: 20e6, receiversDone: () => false });
    expect(res.ended).toBe('cycles');
    expect(res.stats.cycle).toBe(2);
  });

  it('--expect-receivers without --flexicast, or in on-demand mode, is a usage error', async () => {
    const path = join(work, 'c.bin');
    writeFileSync(path, 'x');
    const base = [path, '--to', '239.255.61.11:47998', '--iface', '127.0.0.1', '--ttl', '0', '--expect-receivers', '2', '--json'];
    await expect(Send.run(base, PKG)).rejects.toMatchObject({ oclif: { exit: 2 } });
    await expect(Send.run([...base, '--mode', 'on-demand', '--duration', '1s'], PKG)).rejects.toMatchObject({ oclif: { exit: 2 } });
  });
});
