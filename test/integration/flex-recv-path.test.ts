// `fcast receive --json` names the path its data came by (recvPath). A flexicast receiver whose
// host cannot join the groups takes the session by unicast by itself (src/net/flex-receiver.ts);
// its recvPath must then say quic, not the multicast socket it never read from. Loopback, both
// ends as CLI processes: `fcast send --flexicast` writes the session file, `fcast receive` reads
// it and joins on 192.0.2.1 (TEST-NET-1, on no interface here: the join fails with ENODEV and
// sends nothing; every packet of the test stays on 127.0.0.1).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, fcast } from '../cli/cli-helpers.js';
import { writeKey } from '../helpers/keys.js';
import { waitUntil } from '../helpers/wait.js';

const work = mkdtempSync(join(tmpdir(), 'fcast-flex-recvpath-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface RxJson { status: string; recvPath?: string; flexicast: { groupsJoined: boolean; pathsUsed: string; flowPackets: number; unicastBytes: number } }

describe('fcast receive --json recvPath of a flexicast receiver', () => {
  beforeAll(ensureBuilt, 180_000);

  it('a receiver that cannot join the groups (ENODEV) and took the session by unicast says recvPath quic', async () => {
    const file = join(work, 'a.bin');
    writeFileSync(file, randomBytes(300_000));
    const sender = writeKey(work, 'sender');
    const rx = writeKey(work, 'rx');
    const sessionFile = join(work, 'session.json');
    const send = spawn(process.execPath, [
      join(ROOT, 'bin', 'run.js'), 'send', file, '--to', '239.255.61.12:47621', '--iface', '127.0.0.1', '--ttl', '0', '--rate', '10M', '--cycles', '3',
      '--flexicast', '127.0.0.1:0', '--key', sender.file, '--allow', `ed25519:${rx.pub}`, '--session-file', sessionFile, '--linger', '10s', '--expect-receivers', '1', '--json',
    ], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 25_000 });
    let sendOut = '';
    send.stdout.on('data', (d: Buffer) => (sendOut += d.toString()));
    const sent = new Promise<number | null>((r) => send.on('close', (code) => r(code)));
    try {
      // Written whole (send writes it to a temporary name and renames it) once the sender runs.
      await waitUntil('the session file', () => existsSync(sessionFile), 20_000);
      const r = await fcast(['receive', sessionFile, '-o', join(work, 'out'), '--key', rx.file, '--iface', '192.0.2.1', '--timeout', '20s', '--json'], { timeoutMs: 25_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/cannot join the flow's multicast groups \(.*ENODEV\): taking everything by unicast/);
      const out = JSON.parse(r.stdout) as RxJson;
      console.log(`flexicast receiver without multicast: recvPath ${out.recvPath}, ${JSON.stringify(out.flexicast, ['groupsJoined', 'pathsUsed', 'flowPackets', 'unicastBytes'])}`);
      expect(out.flexicast.groupsJoined).toBe(false);
      expect(out.flexicast.flowPackets).toBe(0);
      expect(out.recvPath).toBe('quic');
      expect(readFileSync(join(work, 'out', 'a.bin')).equals(readFileSync(file))).toBe(true);
      expect(await sent).toBe(0);
      expect((JSON.parse(sendOut) as { flexicast: { receivers: Array<{ completed: number }> } }).flexicast.receivers.map((x) => x.completed)).toEqual([1]);
    } finally {
      send.kill();
    }
  }, 30_000);
});
