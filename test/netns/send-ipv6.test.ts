// `fcast send` over IPv6 multicast with an SSM source, between network namespaces (the host's lo
// has no MULTICAST flag, so IPv6 cannot loop back there): the sender binds --source, the session
// file says IP6 with a=source-filter, and `fcast receive` joins (source, group) and gets every
// file byte for byte. Root only (skipped with the reason otherwise); bounded; torn down always.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSdp } from '../../src/wire/index.js';
import { ROOT, ensureBuilt } from '../cli/cli-helpers.js';
import { treeDigests } from '../helpers/loop-sender.js';
import { TestNet, netnsUnavailable, waitForJoin } from '../helpers/netns.js';

const skip = netnsUnavailable();
const RUN = join(ROOT, 'bin', 'run.js');

describe.skipIf(skip !== undefined)(`fcast send over IPv6 SSM${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNet | undefined;
  const work = mkdtempSync(join(tmpdir(), 'fcast-netns-v6-'));

  beforeAll(async () => {
    await ensureBuilt();
    net = await TestNet.create({ receivers: 1, subnet: 93 });
  }, 120_000);

  afterAll(async () => {
    await net?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  it('sends a tree to [ff3e::…]:port from --source; an SSM receiver gets it all', async (ctx) => {
    const n = net!;
    const source = n.sender.ip6;
    if (source === undefined) ctx.skip();
    const src = join(work, 'tree');
    mkdirSync(join(src, 'v6/sub'), { recursive: true });
    writeFileSync(join(src, 'v6/blob.bin'), randomBytes(400_000));
    writeFileSync(join(src, 'v6/sub/note.txt'), 'over IPv6\n');
    const group = 'ff3e::77:93';
    const out = join(work, 'out');
    const rx = n.spawn(0, [process.execPath, RUN, 'receive', `[${group}]:4793`, '-o', out, '--iface', 'eth0', '--source', source!, '--timeout', '40s', '--json']);
    // Joined (MLDv2, source-specific) before the first packet, rather than after a fixed wait.
    await waitForJoin(n, 0, group, 20_000);
    const sdpFile = join(work, 'v6.sdp');
    const sent = await n.exec('sender', [process.execPath, RUN, 'send', join(src, 'v6'), '--to', `[${group}]:4793`, '--iface', 'eth0', '--source', source!, '--ttl', '1', '--rate', '20M', '--cycles', '2', '--session-file', sdpFile, '--json'], { timeoutMs: 60_000 });
    expect(sent.code, sent.stderr).toBe(0);
    const r = await rx.exited;
    expect(r.code, r.stderr.slice(-1000)).toBe(0);
    expect((JSON.parse(r.stdout) as { status: string }).status).toBe('complete');
    expect(treeDigests(out)).toEqual(treeDigests(src));
    const desc = parseSdp(readFileSync(sdpFile, 'utf8'));
    expect(desc.family).toBe('IP6');
    expect(desc.source).toBe(source);
    expect(desc.channels).toEqual([{ cn: 0, group, port: 4793 }]);
  }, 90_000);
});
