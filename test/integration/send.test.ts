// `fcast send` on loopback multicast (239.x, TTL 0, out of 127.0.0.1): a raw dgram listener
// decodes every datagram with src/wire and checks what the sender put on the air; the session
// file round-trips; the HTTP announce endpoint serves SDP and JSON during an on-demand session.
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { schemeFor } from '../../codecs/index.js';
import Send, { type SendResult } from '../../src/commands/send.js';
import { sendSession } from '../../src/net/send-session.js';
import { decodeAlcPacket, decodeCidObject, decodeFcastObject, parseSdp, parseSessionJson, type AlcPacket } from '../../src/wire/index.js';
import { waitUntil } from '../helpers/wait.js';

const root = mkdtempSync(join(tmpdir(), 'fcast-send-'));
/** The package root, so oclif loads its config from package.json when commands run in-process. */
const PKG = fileURLToPath(new URL('../..', import.meta.url));
// --json prints the result on stdout; the test reads run()'s return value instead.
beforeAll(() => void vi.spyOn(process.stdout, 'write').mockImplementation(() => true));
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

function tree(): { dir: string; files: Map<string, Buffer> } {
  const dir = join(root, 'tree');
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  const files = new Map<string, Buffer>([
    ['tree/big.bin', randomBytes(200_000)],
    ['tree/sub/a.txt', Buffer.from('hello multicast\n')],
    ['tree/sub/deeper/one', Buffer.from('x')],
    ['tree/empty', Buffer.alloc(0)],
  ]);
  for (const [loc, data] of files) writeFileSync(join(root, loc), data, { mode: 0o640 });
  return { dir, files };
}

/** Listen on group:port (loopback), collect decoded packets until `stop()`. */
async function listen(group: string, port: number): Promise<{ packets: AlcPacket[]; sources: Set<string>; stop: () => Promise<void> }> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => sock.bind(port, group, resolve));
  sock.addMembership(group, '127.0.0.1');
  sock.setRecvBufferSize(32 << 20);
  const packets: AlcPacket[] = [];
  const sources = new Set<string>();
  sock.on('message', (msg, rinfo) => {
    sources.add(rinfo.address);
    packets.push(decodeAlcPacket(new Uint8Array(msg), { requireToi: true }));
  });
  return { packets, sources, stop: () => new Promise<void>((resolve) => sock.close(() => resolve())) };
}

/** Waits until `rx` has read the `sent` datagrams the sender counted (loopback loses none; a fixed sleep could end before a loaded machine read them). */
async function received(rx: { packets: AlcPacket[] }, sent: number): Promise<void> {
  await waitUntil(`${sent} datagrams read (${rx.packets.length} so far)`, () => rx.packets.length >= sent, 5000);
}

/** GET `url` once something listens there: the sender starts its HTTP endpoint after its own start-up. */
async function fetchWhenUp(url: string, timeoutMs: number): Promise<Response> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (e) {
      if (performance.now() > end) throw e;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function rebuild(packets: readonly AlcPacket[], toi: number): Uint8Array | undefined {
  const mine = packets.filter((p) => p.lct.toi === toi);
  if (mine.length === 0) return undefined;
  const oti = mine[0]!.fti!;
  const scheme = schemeFor(oti.encodingId);
  const plan = scheme.partition(oti);
  const decoders = plan.blocks.map((b) => scheme.createDecoder(plan, b.sbn));
  const e = oti.symbolSize;
  for (const p of mine) {
    const d = decoders[p.payloadId!.sbn]!;
    const sym = new Uint8Array(e);
    sym.set(p.payload);
    d.push(p.payloadId!.esi, sym);
  }
  const out = new Uint8Array(oti.transferLength);
  for (const d of decoders) {
    if (!d.finish()) return undefined;
    out.set(d.sourceBlock(), d.block.offset);
  }
  return out;
}

const port = 40_000 + Math.floor(Math.random() * 20_000);

describe('fcast send over loopback multicast', () => {
  it('sends a tree: every object decodes from the wire, with its metadata; CID, close flags, session file', async () => {
    const { dir, files } = tree();
    const group = '239.255.41.7';
    const rx = await listen(group, port);
    const sdpFile = join(root, 'session.sdp');
    const result = (await Send.run([dir, '--to', `${group}:${port}`, '--iface', '127.0.0.1', '--ttl', '0', '--rate', '40M', '--cycles', '1', '--json', '--session-file', sdpFile], PKG)) as SendResult;
    await received(rx, result.packets);
    await rx.stop();
    const packets = rx.packets;

    expect(result.status).toBe('closed');
    expect(result.objects).toBe(4);
    expect(result.packets).toBe(packets.length);
    expect(parseSdp(readFileSync(sdpFile, 'utf8'))).toEqual(result.session);
    expect(parseSessionJson(JSON.stringify(result.session))).toEqual(result.session);
    expect(new Set(packets.map((p) => p.lct.tsi))).toEqual(new Set([result.session.tsi]));
    expect(rx.sources).toEqual(new Set(['127.0.0.1']));
    expect(packets.every((p) => p.fti !== undefined && p.lct.cci.length === 4)).toBe(true);
    expect(packets.every((p) => p.payload.length <= result.session.packetSize)).toBe(true);

    const cid = decodeCidObject(rebuild(packets, 1)!);
    expect(cid.complete).toBe(true);
    expect(cid.list.ranges).toEqual([{ first: 2, last: 5 }]);
    const seen = new Map<string, Uint8Array>();
    for (let toi = 2; toi <= 5; toi++) {
      const obj = decodeFcastObject(rebuild(packets, toi)!);
      const m = obj.header.metadata;
      seen.set(m.contentLocation!, obj.data);
      const want = files.get(decodeURIComponent(m.contentLocation!))!;
      expect(Buffer.from(obj.data)).toEqual(want);
      expect(m.contentLength).toBe(want.length);
      expect(m.mode).toBe(0o640);
      expect(Buffer.from(m.digestSha256!)).toEqual(createHash('sha256').update(want).digest());
      expect(m.contentType).toBeDefined();
    }
    expect([...seen.keys()].sort()).toEqual([...files.keys()].sort());
    // Close: B on each file's last packet, A in the final CID bursts.
    for (let toi = 2; toi <= 5; toi++) expect(packets.filter((p) => p.lct.toi === toi && p.lct.closeObject).length).toBe(1);
    expect(packets[packets.length - 1]!.lct.closeSession).toBe(true);
  });

  it('serves the session description over HTTP while an on-demand session runs, with ERT counting down', async () => {
    const { dir } = tree();
    const group = '239.255.41.8';
    const rx = await listen(group, port + 1);
    const httpPort = port + 2;
    // Fixed rate: `rx` listens to the one group and checks the ERT of every packet (WEBRC's default for
    // on-demand spreads the session over T + 1 groups; test/integration/webrc-loopback.test.ts).
    const run = Send.run([dir, '--to', `${group}:${port + 1}`, '--iface', '127.0.0.1', '--ttl', '0', '--rate', '5M', '--mode', 'on-demand', '--rate-control', 'fixed', '--duration', '2s', '--announce', `127.0.0.1:${httpPort}`, '--name', 'loop-test', '--json'], PKG) as unknown as Promise<SendResult>;
    const base = `http://127.0.0.1:${httpPort}/.well-known/fcast/loop-test`;
    const sdp = await fetchWhenUp(`${base}.sdp`, 10_000);
    expect(sdp.headers.get('content-type')).toBe('application/sdp');
    const fromSdp = parseSdp(await sdp.text());
    const fromJson = parseSessionJson(await (await fetch(`${base}.json`)).text());
    expect(fromJson).toEqual(fromSdp);
    expect((await fetch(`http://127.0.0.1:${httpPort}/.well-known/fcast/other.sdp`)).status).toBe(404);
    const result = await run;
    await received(rx, result.packets);
    await rx.stop();
    expect(result.session).toEqual(fromSdp);
    expect(result.session.mode).toBe('on-demand');
    // --rate-control fixed --rate R still gives one channel at R (webrc is only the on-demand default).
    expect(result.session.rate).toEqual({ control: 'fixed', bitsPerSecond: 5_000_000 });
    expect(result.session.channels).toEqual([{ cn: 0, group, port: port + 1 }]);
    expect(result.cycles).toBeGreaterThan(1);
    expect(result.durationSeconds).toBeGreaterThanOrEqual(1.9);
    const erts = rx.packets.filter((p) => !p.lct.closeSession).map((p) => p.time!.ert!);
    expect(erts[0]).toBe(2);
    expect(erts[erts.length - 1]).toBe(1);
    for (let i = 1; i < erts.length; i++) expect(erts[i]!).toBeLessThanOrEqual(erts[i - 1]!);
    // The endpoint is gone with the session.
    await expect(fetch(`${base}.sdp`)).rejects.toThrow();
  });

  it('on-demand defaults to webrc only when it publishes its description: without one its receivers could find only the base channel', async () => {
    const { dir } = tree();
    const base = [dir, '--to', `239.255.41.9:${port + 5}`, '--iface', '127.0.0.1', '--ttl', '0', '--rate', '5M', '--mode', 'on-demand', '--duration', '1s', '--json'];
    const unpublished = (await Send.run(base, PKG)) as unknown as SendResult;
    expect(unpublished.session.rate).toEqual({ control: 'fixed', bitsPerSecond: 5_000_000 });
    expect(unpublished.session.channels).toHaveLength(1);
    const published = (await Send.run([...base, '--session-file', join(root, 'default.sdp')], PKG)) as unknown as SendResult;
    expect(published.session.rate.control).toBe('webrc');
    expect(published.session.channels.length).toBeGreaterThan(2);
  });

  it('an abort (Ctrl-C) closes an on-demand session early with A-flagged CID bursts', async () => {
    const group = '239.255.41.9';
    const rx = await listen(group, port + 3);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 400);
    const data = Buffer.from('abort me\n');
    writeFileSync(join(root, 'abort.txt'), data);
    const files = [{ key: 0, contentLocation: 'abort.txt', contentLength: data.length, contentType: 'text/plain', sha256: new Uint8Array(createHash('sha256').update(data).digest()), mtime: 0, mode: 0o644 }];
    const fec = { encodingId: 3 as const, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 0 };
    const result = await sendSession({
      core: { tsi: 99, files, fec, schemes: schemeFor, mode: 'on-demand' },
      deadlineMs: 30_000,
      paths: [join(root, 'abort.txt')],
      channels: [{ cn: 0, group, port: port + 3 }],
      family: 4,
      ttl: 0,
      iface: '127.0.0.1',
      bitsPerSecond: 2e6,
      signal: abort.signal,
    });
    await received(rx, result.stats.packets);
    await rx.stop();
    expect(result.aborted).toBe(true);
    expect(result.elapsedMs).toBeLessThan(5_000);
    const last = rx.packets.slice(-3);
    expect(last.every((p) => p.lct.closeSession && p.lct.toi === 1)).toBe(true);
  });
});
