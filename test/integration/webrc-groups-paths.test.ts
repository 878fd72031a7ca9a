// WebrcGroups' two receive paths on loopback multicast (127.0.0.1, TTL 0): the native one (recvmmsg,
// kernel arrival stamps, one batch per read to the core) and node:dgram (FCAST_RECV_PATH=dgram)
// hand the controller the same packets in the same order, count the same bad ones, and give the
// core the same datagrams. A separate process sends a script to the base channel while this
// process's event loop is blocked: the native path's controller times are the packets' arrival
// (an 80 ms pause in the sending is 80 ms apart for it), node:dgram's are when they were read.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { WebrcGroups } from '../../src/net/webrc-groups.js';
import { WebrcReceiver, resolveWebrcParams } from '../../src/rate/index.js';
import { waitUntil } from '../helpers/wait.js';

const params = resolveWebrcParams({ srBps: 10e6, packetLength: 1000, bcr: 50, p: 0.85, tsd: 1, qd: 10 });
const T = params.t;
/** The longest the event loop is blocked waiting for the sender's script to end (about 0.25 s unloaded). */
const BLOCK_MAX_MS = 10_000;
const work = mkdtempSync(join(tmpdir(), 'fcast-webrc-paths-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The sender: 20 base packets 2 ms apart, an 80 ms pause, 20 more; forged ones between; then it creates the file `done`. */
const SENDER = `
const dgram = require('node:dgram');
const [group, port, t] = process.argv.slice(1, 4).map((v, i) => (i === 0 ? v : Number(v)));
const done = process.argv[4];
const s = dgram.createSocket('udp4');
const pkt = (ctsi, cn, psn, tsi) => Buffer.from([0x10, 0x80, 0x04, 0x00, ctsi, cn, psn >> 8, psn & 255, 0, 0, 0, tsi, 0, 0, 0, 1, ...new Array(200).fill(7)]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const send = (b) => new Promise((r) => s.send(b, port, group, r));
s.bind(0, '127.0.0.1', async () => {
  s.setMulticastInterface('127.0.0.1');
  s.setMulticastTTL(0);
  process.stdout.write('ready\\n');
  await sleep(30);
  for (let psn = 0; psn < 40; psn++) {
    if (psn === 20) await sleep(80);
    await send(pkt(0, t, psn, 77));
    if (psn === 5) for (let i = 0; i < 3; i++) await send(pkt(0, 0, 900 + i, 77)); // CN of wave 0 on the base group
    if (psn === 10) for (let i = 0; i < 2; i++) await send(pkt(t, t, 950 + i, 77)); // CTSI >= T: bad CCI
    if (psn === 30) for (let i = 0; i < 4; i++) await send(pkt(0, t, 1000 + i, 78)); // another session's TSI
    await sleep(2);
  }
  require('node:fs').writeFileSync(done, '');
  s.close();
});
`;

interface PathRun {
  recvPath: string;
  packets: { t: number; cn: number; psn: number }[];
  datagrams: number;
  mismatched: number;
  badCci: number;
}

async function run(dgramPath: boolean): Promise<PathRun> {
  if (dgramPath) process.env.FCAST_RECV_PATH = 'dgram';
  else delete process.env.FCAST_RECV_PATH;
  const group = `239.255.${1 + Math.floor(Math.random() * 200)}.`;
  const port = 20000 + Math.floor(Math.random() * 30000);
  const channels = Array.from({ length: T + 1 }, (_, cn) => ({ cn, group: `${group}${cn === T ? 1 : cn + 2}`, port }));
  const spy = vi.spyOn(WebrcReceiver.prototype, 'onPacket');
  const t0 = performance.now();
  let datagrams = 0;
  const g = await WebrcGroups.open({
    params, channels, iface: '127.0.0.1', tsi: 77, now: () => performance.now() - t0,
    onDatagram: () => void datagrams++,
    onBatch: (_data, _offsets, _lengths, count) => void (datagrams += count),
  });
  try {
    const done = join(work, `done-${dgramPath ? 'dgram' : 'native'}`);
    const child = spawn(process.execPath, ['-e', SENDER, `${group}1`, String(port), String(T), done], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    // The receive loop is busy (a decode, a write) for the whole script: nothing is read meanwhile.
    // Until the sender says it is done, not for a fixed time: a loaded machine can stretch its
    // 40 sleeps of 2 ms past any fixed block, and what came after the block would be read on time.
    const until = performance.now() + BLOCK_MAX_MS;
    while (!existsSync(done) && performance.now() < until);
    expect(existsSync(done), `the sender's script did not end within ${BLOCK_MAX_MS} ms`).toBe(true);
    await exited;
    // Read what waited in the sockets (all of it, or what there is after 5 s: the counts say).
    await waitUntil('44 datagrams read', () => datagrams >= 44 && spy.mock.calls.length >= 40, 5000).catch(() => undefined);
    const status = g.status();
    return {
      recvPath: g.recvPath,
      packets: spy.mock.calls.map(([t, p]) => ({ t, cn: p.cn, psn: p.psn })),
      datagrams,
      mismatched: status.mismatched,
      badCci: status.badCci,
    };
  } finally {
    spy.mockRestore();
    await g.close();
  }
}

describe('WebrcGroups receive paths', () => {
  afterEach(() => {
    delete process.env.FCAST_RECV_PATH;
  });

  it('native (kernel stamps) and node:dgram: same controller packets and counts; only the stamps see the pause', async () => {
    const native = await run(false);
    const dgram = await run(true);
    expect(native.recvPath).toBe('recvmmsg');
    expect(dgram.recvPath).toBe('dgram');
    const psns = Array.from({ length: 40 }, (_, i) => i);
    for (const r of [native, dgram]) {
      expect(r.packets.map((p) => p.psn)).toEqual(psns);
      expect(r.packets.every((p) => p.cn === T)).toBe(true);
      expect([r.mismatched, r.badCci, r.datagrams]).toEqual([3, 2, 44]);
      for (let i = 1; i < r.packets.length; i++) expect(r.packets[i]!.t).toBeGreaterThanOrEqual(r.packets[i - 1]!.t);
    }
    const pause = (r: PathRun): number => r.packets[20]!.t - r.packets[19]!.t;
    // Sent 80 ms apart (more if the sender was slow), all read after the block.
    expect(pause(native)).toBeGreaterThan(70);
    expect(pause(dgram)).toBeLessThan(20);
    // Stamped before the block ended, not when read.
    expect(native.packets[0]!.t).toBeLessThan(native.packets[39]!.t - 100);
  }, 20_000);
});
