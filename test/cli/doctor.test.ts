// `fcast doctor`: the check list runs and reports, a session's flow packets are seen on loopback
// multicast (TTL 0, never leaves the host), a silent session fails with exit 3, and the check list
// can be extended in one place.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKS, runDoctor, type DoctorCheck, type DoctorReport } from '../../src/cli/doctor.js';
import { encodeAlcPacket, encodeSessionJson, type SessionDescription } from '../../src/wire/index.js';
import { ensureBuilt, fcast } from './cli-helpers.js';

beforeAll(async () => {
  await ensureBuilt();
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** Send ALC packets of `tsi` (and a junk datagram every 5th time) to group:port over loopback, TTL 0. */
function loopbackSender(group: string, port: number, tsi: number): void {
  const s = dgram.createSocket('udp4');
  const buf = new Uint8Array(1500);
  let n = 0;
  let timer: NodeJS.Timeout | undefined;
  s.bind(0, '127.0.0.1', () => {
    s.setMulticastInterface('127.0.0.1');
    s.setMulticastTTL(0);
    timer = setInterval(() => {
      n += 1;
      if (n % 5 === 0) {
        s.send(Buffer.from('not an ALC packet'), port, group);
        return;
      }
      const len = encodeAlcPacket(buf, { tsi, toi: 1 + (n % 3), codepoint: 0, sbn: 0, esi: n, payload: new Uint8Array(64) });
      s.send(buf.subarray(0, len), port, group);
    }, 20);
  });
  // Bounded: stops with the test, and after 20 s in any case.
  const stop = setTimeout(() => clearInterval(timer), 20_000);
  cleanups.push(() => {
    clearInterval(timer);
    clearTimeout(stop);
    s.close();
  });
}

const group = () => `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`;

describe('fcast doctor', () => {
  it('runs every check and exits 0 when the required ones pass (--json)', async () => {
    const r = await fcast(['doctor', '--json']);
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(report.checks.map((c) => c.check)).toEqual(CHECKS.filter((c) => c.applies === undefined).map((c) => c.id));
    for (const c of report.checks) expect(c.detail.length).toBeGreaterThan(0);
    // The loopback self-test is required and must work on any Linux machine fcast runs on.
    expect(report.checks.find((c) => c.check === 'loopback-multicast')?.ok, r.stdout).toBe(true);
    expect(r.code).toBe(report.ok ? 0 : 3);
    expect(report.summary).toMatch(/^(ready|NOT READY \(.*\)); works: /);
    expect(report.summary.split('\n')).toHaveLength(1);
  });

  it('sees the flow packets of GROUP:PORT and counts the datagrams that are not ALC', async () => {
    const g = group();
    const port = randomInt(20_000, 60_000);
    loopbackSender(g, port, 77);
    const r = await fcast(['doctor', `${g}:${port}`, '--iface', '127.0.0.1', '--wait', '1', '--json']);
    const report = JSON.parse(r.stdout) as DoctorReport;
    const flow = report.checks.find((c) => c.check === 'session-flow');
    expect(flow?.ok, r.stdout).toBe(true);
    const data = flow?.data as { alcPackets: number; objects: number; bad: Record<string, number> };
    expect(data.alcPackets).toBeGreaterThan(10);
    expect(data.objects).toBe(3);
    expect(Object.values(data.bad).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('with a session file, counts only packets of its TSI', async () => {
    const g = group();
    const port = randomInt(20_000, 60_000);
    const desc: SessionDescription = {
      version: 1,
      name: 'doctor-test',
      tsi: 4242,
      family: 'IP4',
      ttl: 0,
      channels: [{ cn: 0, group: g, port }],
      fec: [{ codepoint: 0, encodingId: 0, symbolSize: 64, maxSourceBlockLength: 32 }],
      cci: 'webrc-short',
      rate: { control: 'fixed', bitsPerSecond: 1_000_000 },
      mode: 'push',
      packetSize: 1400,
      extensions: ['EXT_FTI'],
      auth: 'none',
    };
    const dir = mkdtempSync(join(tmpdir(), 'fcast-doctor-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'session.json');
    writeFileSync(file, encodeSessionJson(desc));
    loopbackSender(g, port, 4243); // another session's TSI on the same group
    const r = await fcast(['doctor', file, '--iface', '127.0.0.1', '--wait', '1', '--json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as DoctorReport;
    expect(report.failed).toContain('session-flow');
    const flow = report.checks.find((c) => c.check === 'session-flow');
    expect((flow?.data as { otherTsi: number }).otherTsi).toBeGreaterThan(10);
    expect(flow?.detail).toMatch(/another TSI/);
  });

  it('exits 3 and names the failing check when nothing arrives', async () => {
    const r = await fcast(['doctor', `${group()}:${randomInt(20_000, 60_000)}`, '--iface', '127.0.0.1', '--wait', '1']);
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe('fcast: required checks failed: session-flow');
    expect(r.stdout).toMatch(/^FAIL session-flow +nothing arrived/m);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^NOT READY \(session-flow\); works: /);
  });

  it('rejects a SESSION that is neither a file nor a multicast GROUP:PORT (exit 2)', async () => {
    const r = await fcast(['doctor', '10.0.0.1:4000']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('takes an added check in one place: required failures, throws and hangs are reported', async () => {
    const extra: DoctorCheck[] = [
      { id: 'always-ok', label: 'always ok', required: true, run: async () => ({ ok: true, detail: 'fine' }) },
      { id: 'optional-bad', label: 'optional bad', required: false, run: async () => ({ ok: false, detail: 'long detail', why: 'short' }) },
      { id: 'throws', label: 'throws', required: true, run: async () => Promise.reject(new Error('boom')) },
      { id: 'hangs', label: 'hangs', required: true, timeoutMs: () => 100, run: () => new Promise(() => undefined) },
    ];
    const report = await runDoctor({ waitMs: 100 }, extra);
    expect(report.ok).toBe(false);
    expect(report.failed).toEqual(['throws', 'hangs']);
    expect(report.checks.find((c) => c.check === 'throws')?.detail).toBe('boom');
    expect(report.checks.find((c) => c.check === 'hangs')?.detail).toBe('no answer within 100 ms');
    expect(report.summary).toBe('NOT READY (throws, hangs); works: always ok; not: optional bad (short); throws (boom); hangs (no answer within 100 ms)');
  });
});
