// Smoke test of our QUIC adapter (src/net/quic.ts) over the pinned @chainsafe/libp2p-quic on
// 127.0.0.1: handshake with Ed25519 identities, bidirectional echo, unidirectional streams,
// 200 MB on one stream (MB/s printed), pinned sender key, refusal of a non-admitted receiver,
// and no connections or sockets left after close.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
import { afterAll, describe, expect, it } from 'vitest';
import { isFcastError } from '../../src/errors.js';
import { createQuicEndpoint, type QuicConnection, type QuicEndpoint, type QuicListener, type QuicRecvStream } from '../../src/net/quic.js';
import {
  identityFromPem, publicKeyFromMultiaddr, publicKeyFromText, publicKeyText, readIdentityFile, readPublicKeyFile, type QuicIdentity,
} from '../../src/net/quic-identity.js';

function newIdentity(): QuicIdentity {
  const { privateKey } = generateKeyPairSync('ed25519');
  return identityFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
}

async function readAll(s: QuicRecvStream): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (let c = await s.read(); c !== undefined; c = await s.read()) parts.push(c);
  return Buffer.concat(parts);
}

const openFds = () => readdirSync('/proc/self/fd').length;

const sender = newIdentity();
const admitted = newIdentity();
const stranger = newIdentity();
const cleanup: Array<() => unknown> = [];
afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

async function startSender(): Promise<{ ep: QuicEndpoint; listener: QuicListener; conns: QuicConnection[] }> {
  const ep = await createQuicEndpoint(sender);
  const allow = publicKeyText(admitted.publicKey);
  const listener = await ep.listen('127.0.0.1', 0, (key) => publicKeyText(key) === allow);
  cleanup.push(() => listener.close(), () => ep.close());
  const conns: QuicConnection[] = [];
  void (async () => { for (let c = await listener.accept(); c !== undefined; c = await listener.accept()) conns.push(c); })();
  return { ep, listener, conns };
}

async function until<T>(f: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('QUIC adapter over libp2p-quic', () => {
  it('reads keygen files: private PEM, public PEM and base64url text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fcast-quic-id-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'k'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'k.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const id = readIdentityFile(join(dir, 'k'));
    expect(readPublicKeyFile(join(dir, 'k.pub'))).toEqual(id.publicKey);
    writeFileSync(join(dir, 'k.txt'), `${publicKeyText(id.publicKey)}\n`);
    expect(readPublicKeyFile(join(dir, 'k.txt'))).toEqual(id.publicKey);
    expect(() => readIdentityFile(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'INPUT_FILE' }));
    expect(() => readIdentityFile(join(dir, 'k.pub'))).toThrow(expect.objectContaining({ code: 'CONFIG' }));
  });

  it('converts identities: PEM -> libp2p key, peer id -> raw key, base64url text', () => {
    expect(sender.privateKeyProto.length).toBe(68);
    expect(publicKeyFromText(publicKeyText(sender.publicKey))).toEqual(sender.publicKey);
    expect(() => publicKeyFromText('abc')).toThrow(expect.objectContaining({ code: 'CONFIG' }));
    expect(() => publicKeyFromMultiaddr('/ip4/1.2.3.4/udp/1/quic-v1/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')).toThrow(expect.objectContaining({ code: 'FLEX_PEER_KEY' }));
  });

  it('handshakes, pins the sender key, echoes on a bidirectional stream, carries unidirectional streams', async () => {
    const { listener, conns } = await startSender();
    const rx = await createQuicEndpoint(admitted);
    cleanup.push(() => rx.close());
    const t0 = performance.now();
    const conn = await rx.connect('127.0.0.1', listener.port, sender.publicKey);
    const handshakeMs = performance.now() - t0;
    expect(conn.remoteKey).toEqual(sender.publicKey);
    const server = await until(() => conns[0]);
    expect(server.remoteKey).toEqual(admitted.publicKey);
    expect(server.remoteAddress).toBe('127.0.0.1');

    // Echo server: every bidirectional stream gets its bytes back; uni streams are collected.
    const uni: Buffer[] = [];
    void (async () => {
      for (let a = await server.acceptStream(); a !== undefined; a = await server.acceptStream()) {
        if (a.kind === 'bi') { const s = a.stream; void readAll(s).then(async (b) => { await s.write(b); await s.finish(); }); }
        else void readAll(a.stream).then((b) => uni.push(b));
      }
    })();
    const bi = await conn.openBi();
    const msgs = Array.from({ length: 100 }, (_, i) => Buffer.from(`message ${i};`));
    for (const m of msgs) await bi.write(m);
    await bi.finish();
    expect((await readAll(bi)).toString()).toBe(Buffer.concat(msgs).toString());

    const u = await conn.openUni();
    await u.write(Buffer.from('one way'));
    await u.finish();
    await until(() => uni[0]);
    expect(uni[0]!.toString()).toBe('one way');
    console.log(`quic: handshake ${handshakeMs.toFixed(1)} ms, rtt ${conn.stats().rttMs} ms`);
    conn.close();
    await server.closed;
    expect(listener.stats()).toMatchObject({ admitted: 1, refused: 0, open: 0 });
  });

  it('moves 200 MB on one stream and reports MB/s', async () => {
    const { listener, conns } = await startSender();
    const rx = await createQuicEndpoint(admitted);
    cleanup.push(() => rx.close());
    const conn = await rx.connect('127.0.0.1', listener.port, sender.publicKey);
    const server = await until(() => conns[0]);
    const total = 200 * 1024 * 1024;
    const chunk = new Uint8Array(1024 * 1024).fill(0x5a);
    const t0 = performance.now();
    const sending = (async () => {
      const s = await server.openUni();
      for (let sent = 0; sent < total; sent += chunk.length) await s.write(chunk);
      await s.finish();
    })();
    const a = await conn.acceptStream();
    expect(a?.kind).toBe('uni');
    let got = 0;
    for (let c = await a!.stream.read(); c !== undefined; c = await a!.stream.read()) got += c.length;
    await sending;
    const s = (performance.now() - t0) / 1000;
    expect(got).toBe(total);
    console.log(`quic: 200 MiB on one stream in ${s.toFixed(2)} s = ${(total / 1e6 / s).toFixed(0)} MB/s`);
    conn.close();
  }, 60_000);

  it('refuses a wrong sender key at connect, and a non-admitted receiver right after its handshake', async () => {
    const { listener, conns } = await startSender();
    const rx = await createQuicEndpoint(admitted);
    cleanup.push(() => rx.close());
    // The receiver pins a different sender key: connect fails before any stream exists.
    await expect(rx.connect('127.0.0.1', listener.port, stranger.publicKey)).rejects.toMatchObject({ code: 'FLEX_PEER_KEY' });

    const intruder = await createQuicEndpoint(stranger);
    cleanup.push(() => intruder.close());
    const conn = await intruder.connect('127.0.0.1', listener.port, sender.publicKey);
    await until(() => (listener.stats().refused === 1 ? true : undefined));
    await Promise.race([conn.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('not closed')), 3000))]);
    expect(conn.isClosed).toBe(true);
    const err = await conn.openBi().then(async (s) => { await s.write(Uint8Array.of(1)); return s.read(); }).then(() => undefined, (e: unknown) => e);
    expect(isFcastError(err) && err.code).toBe('FLEX_QUIC');
    expect(await conn.acceptStream()).toBeUndefined();
    expect(conns).toHaveLength(1); // only the pinned-key attempt by the admitted receiver got through
    conns[0]!.close();
    expect(listener.stats()).toMatchObject({ admitted: 1, refused: 1 });
  });

  it('leaves no connections or sockets behind after close', async () => {
    // libp2p-quic frees a closed endpoint's UDP socket when its JS handle is garbage-collected,
    // so count file descriptors after a forced GC: they must not grow from round to round.
    const gc = runInNewContext('gc') as () => void;
    const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 100)); } return openFds(); };
    const base = await settle();
    const counts: number[] = [];
    for (let round = 0; round < 4; round++) {
      const { ep, listener, conns } = await startSender();
      const rxs = await Promise.all(Array.from({ length: 10 }, () => createQuicEndpoint(admitted)));
      const cs = await Promise.all(rxs.map((r) => r.connect('127.0.0.1', listener.port, sender.publicKey)));
      await until(() => (conns.length === 10 ? true : undefined));
      for (const r of rxs) r.close();
      await Promise.all(conns.map((c) => c.closed));
      expect(cs.every((c) => c.isClosed)).toBe(true);
      expect(listener.stats().open).toBe(0);
      await listener.close();
      ep.close();
      counts.push(await settle());
    }
    console.log(`quic: open fds at start ${base}, after each round of 10 connections ${counts.join(', ')}`);
    expect(Math.max(...counts) - counts[0]!).toBeLessThanOrEqual(2);
    expect(counts[counts.length - 1]! - base).toBeLessThanOrEqual(12);
  }, 30_000);
});
