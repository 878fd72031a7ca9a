// `fcast doctor SESSION` on the namespace test network: it sees a session's flow packets on a
// receiver's link, and tells when multicast to that receiver is blocked (issue 6's "says in one
// line what works and why not"). Bounded: two doctor runs of 1 s each, 4 s of traffic at most.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { TestNet, UDP_PROBE, netnsUnavailable } from '../helpers/netns.js';
import { ROOT, ensureBuilt } from '../cli/cli-helpers.js';
import { encodeAlcPacket } from '../../src/wire/index.js';
import type { DoctorReport } from '../../src/cli/doctor.js';

const skip = netnsUnavailable();

describe.skipIf(skip !== undefined)(`fcast doctor on a test network${skip !== undefined ? ` (skipped: ${skip})` : ''}`, () => {
  let net: TestNet;
  const port = 47100;

  beforeAll(async () => {
    await ensureBuilt();
    net = await TestNet.create({ receivers: 1, subnet: 2 });
  });
  afterAll(async () => {
    await net?.destroy();
  });

  async function doctor(): Promise<{ code: number | null; report: DoctorReport }> {
    const r = await net.exec(0, [process.execPath, join(ROOT, 'bin', 'run.js'), 'doctor', `${net.groupBase}.1:${port}`, '--iface', 'eth0', '--wait', '1', '--json'],
      { check: false, timeoutMs: 20_000, cwd: ROOT });
    return { code: r.code, report: JSON.parse(r.stdout) as DoctorReport };
  }

  it('reports the flow arriving, then multicast blocked on the receiver link', async () => {
    const buf = new Uint8Array(256);
    const len = encodeAlcPacket(buf, { tsi: 9, toi: 1, codepoint: 0, sbn: 0, esi: 0, payload: new Uint8Array(100) });
    const hex = Buffer.from(buf.subarray(0, len)).toString('hex');
    const tx = net.spawn('sender', [process.execPath, UDP_PROBE, 'send', '--iface-addr', net.sender.ip,
      '--to', `${net.groupBase}.1:${port}`, '--hex', hex, '--count', '2000', '--pps', '200', '--max-ms', '15000']);

    const ok = await doctor();
    const flow = ok.report.checks.find((c) => c.check === 'session-flow');
    expect(flow?.ok, JSON.stringify(flow)).toBe(true);
    expect((flow?.data as { alcPackets: number }).alcPackets).toBeGreaterThan(50);
    expect(ok.code).toBe(ok.report.ok ? 0 : 3);

    await net.blockMulticast(0, true);
    const blocked = await doctor();
    expect(blocked.code).toBe(3);
    expect(blocked.report.failed).toContain('session-flow');
    expect(blocked.report.summary).toMatch(/session flow \(nothing arrived in 1 s\)/);
    expect(await net.droppedPackets(0)).toBeGreaterThan(50);
    await tx.stop();
  });
});
