// A small paced multicast sender for receiver tests: the real carousel core (src/carousel)
// behind a plain node:dgram socket on loopback (127.0.0.1, TTL 0). Only what the receiver
// tests need; `fcast send` is the product's sender shell.
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { openSync, readSync, closeSync, statSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { FEC_SCHEMES } from '../../src/assembly/index.js';
import { CarouselSender, type SenderConfig } from '../../src/carousel/sender.js';
import type { FecSettings } from '../../src/carousel/plan.js';
import { encodeContentLocation } from '../../src/wire/index.js';

export interface LoopSendOptions {
  readonly root: string;
  readonly group: string;
  readonly port: number;
  readonly tsi: number;
  /** bits per second */
  readonly rate: number;
  readonly fec?: Partial<FecSettings>;
  readonly mode?: SenderConfig['mode'];
  readonly cycles?: number;
  /** On-demand: stop after this many ms. */
  readonly durationMs?: number;
  readonly signal?: AbortSignal;
  /** Updated after every packet, so a test can act on progress rather than on wall time. */
  readonly progress?: { packets: number };
}

/** SHA-256 of every file under root by relative path; a receiver's state folder (.fcast*) is not content. */
export function treeDigests(root: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of listTree(root)) {
    const rel = relative(root, f);
    if (rel.startsWith('.fcast')) continue;
    m.set(rel, createHash('sha256').update(readFileSync(f)).digest('hex'));
  }
  return m;
}

export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

function sha256File(path: string): Uint8Array {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest();
}

/** Send the tree under `root`; resolves with the packet count when the session is closed. */
export async function loopSend(o: LoopSendOptions): Promise<{ packets: number }> {
  const paths = listTree(o.root);
  const fds = paths.map((p) => openSync(p, 'r'));
  const files = paths.map((p, key) => {
    const st = statSync(p);
    return {
      key,
      contentLocation: encodeContentLocation(relative(o.root, p).split(sep).join('/')),
      contentLength: st.size,
      contentType: 'application/octet-stream',
      sha256: sha256File(p),
      mtime: Math.floor(st.mtimeMs / 1000),
      mode: st.mode & 0o7777,
    };
  });
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const sender = new CarouselSender({
    tsi: o.tsi,
    files,
    fec: { encodingId: 3, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: 2 / 3, n1m3: 0, ...o.fec },
    schemes: (id) => FEC_SCHEMES.get(id)!,
    mode: o.mode ?? 'push',
    cycles: o.cycles ?? 2,
    deadline: o.durationMs,
    cidIntervalMs: 200,
  });
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.setMulticastInterface('127.0.0.1');
  sock.setMulticastTTL(0);
  sock.setMulticastLoopback(true);
  sock.setSendBufferSize(4 << 20);
  let packets = 0;
  let bits = 0;
  try {
    for (;;) {
      if (o.signal?.aborted) break;
      // Pace: never ahead of rate·t; yield to the event loop in small steps.
      if (bits > (o.rate * now()) / 1000) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const out = sender.poll(now());
      if (out.kind === 'done') break;
      if (out.kind === 'read') {
        readSync(fds[out.key]!, out.target, 0, out.target.length, out.fileOffset);
        sender.readDone(out.id);
        continue;
      }
      if (out.kind === 'wait') {
        await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, (out.until ?? now() + 1) - now()))));
        continue;
      }
      await new Promise<void>((resolve) => sock.send(out.bytes, o.port, o.group, () => resolve()));
      packets++;
      if (o.progress !== undefined) o.progress.packets = packets;
      bits += out.bytes.length * 8;
    }
  } finally {
    for (const fd of fds) closeSync(fd);
    sock.close();
  }
  return { packets };
}
