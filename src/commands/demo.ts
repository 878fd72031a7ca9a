// `fcast demo`: the whole product on one machine. Sends examples/ (or --path) as an FCAST/ALC
// carousel over loopback multicast (127.0.0.1, TTL 0, a random 239.255.x.y group and port: the
// traffic never leaves this host) to a receiver in a temporary directory, in this same process,
// then compares every file byte for byte and reports. `npm run demo` is the README's "run it".
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flags } from '@oclif/core';
import { schemeFor } from '../../codecs/index.js';
import { FEC_SCHEMES } from '../assembly/index.js';
import { contentTypeFor, type CarouselFile } from '../carousel/index.js';
import { FcastCommand } from '../cli/base.js';
import { EXIT } from '../cli/exit-codes.js';
import { LocalProtocolError } from '../errors.js';
import { receiveSession, type ReceiveResult } from '../net/receive-session.js';
import { sendSession, type SendRunResult } from '../net/send-session.js';
import { hashFile, scanSources } from '../store/source-tree.js';
import { encodeContentLocation } from '../wire/index.js';

export interface DemoFileCheck {
  readonly path: string;
  readonly bytes: number;
  readonly ok: boolean;
  readonly problem: string | undefined;
}

export interface DemoResult {
  readonly ok: boolean;
  readonly group: string;
  readonly port: number;
  readonly outDir: string | undefined;
  readonly files: readonly DemoFileCheck[];
  readonly bytes: number;
  readonly sender: { readonly packets: number; readonly cycles: number; readonly seconds: number; readonly bitsPerSecond: number };
  readonly receiver: { readonly status: ReceiveResult['status']; readonly packets: number; readonly seconds: number; readonly dropped: ReceiveResult['stats']['dropped'] };
}

/** examples/ of this installation: walk up from this file to the package root. */
function examplesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'examples'))) return join(dir, 'examples');
    dir = dirname(dir);
  }
  throw new LocalProtocolError('INPUT_FILE', 'examples/ not found next to this installation (use --path)');
}

export default class Demo extends FcastCommand<DemoResult> {
  static override summary = 'Send examples/ over loopback multicast to a local receiver and verify every file.';
  static override description =
    'Runs a sender and a receiver in this process on 127.0.0.1 with TTL 0 (nothing leaves the host), using a random group in 239.255.0.0/16 and a random port. The receiver writes into a temporary directory; every file is then compared byte for byte with its source. Exit 0 when all match, 3 otherwise.';
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --extra-mb 64 --json', '<%= config.bin %> demo --path ./some/tree --keep'];
  static override flags = {
    path: Flags.string({ description: 'Tree to send instead of examples/.' }),
    'extra-mb': Flags.integer({ description: 'Also send a random file of this many MB (shows multi-block objects).', default: 0, min: 0, max: 4096 }),
    rate: Flags.integer({ description: 'Sending rate, Mbit/s.', default: 100, min: 1, max: 10_000 }),
    fec: Flags.string({ description: 'FEC scheme.', options: ['ldpc', 'nocode'], default: 'ldpc' }),
    keep: Flags.boolean({ description: 'Keep the receiver directory (its path is printed).' }),
    timeout: Flags.integer({ description: 'Give up after this many seconds.', default: 120, min: 1 }),
  };

  async run(): Promise<DemoResult> {
    const { flags } = await this.parse(Demo);
    const root = resolve(flags.path ?? examplesDir());
    const work = mkdtempSync(join(tmpdir(), 'fcast-demo-'));
    const outDir = join(work, 'received');
    const sources = [root];
    try {
      if (flags['extra-mb'] > 0) {
        const extra = join(work, 'extra.bin');
        writeFileSync(extra, randomBytes(flags['extra-mb'] * 1_000_000));
        sources.push(extra);
      }
      const result = await this.exchange(sources, outDir, flags);
      if (!this.jsonEnabled()) this.report(result);
      if (!result.ok) {
        if (this.jsonEnabled()) this.logJson(result);
        this.exit(EXIT.INCOMPLETE);
      }
      return result;
    } finally {
      if (!flags.keep) rmSync(work, { recursive: true, force: true });
    }
  }

  private async exchange(sources: string[], outDir: string, flags: { rate: number; fec: string; timeout: number; keep: boolean }): Promise<DemoResult> {
    const tree = await scanSources(sources);
    const files: CarouselFile[] = [];
    for (const [key, f] of tree.files.entries()) {
      files.push({ key, contentLocation: encodeContentLocation(f.location), contentLength: f.size, contentType: contentTypeFor(f.location), sha256: await hashFile(f.path), mtime: f.mtime, mode: f.mode });
    }
    const group = `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`;
    const port = randomInt(20_000, 60_000);
    const tsi = randomInt(1, 0xffff_ffff);
    if (!this.jsonEnabled()) this.log(`fcast demo: ${files.length} files (${(files.reduce((s, f) => s + f.contentLength, 0) / 1e6).toFixed(2)} MB) over 127.0.0.1 -> ${group}:${port}, TTL 0`);
    // The receiver joins first; it learns the session in band (first TSI heard, EXT_FTI, CID).
    const receiving = receiveSession({ dir: outDir, channels: [{ group, port }], schemes: FEC_SCHEMES, iface: '127.0.0.1', tsi, timeoutMs: flags.timeout * 1000, closeGraceMs: 1000 });
    await new Promise((r) => setTimeout(r, 100));
    // Once the receiver has everything the sender may stop early (it closes with A-flag bursts).
    const stopSender = new AbortController();
    void receiving.finally(() => stopSender.abort());
    const encodingId = flags.fec === 'nocode' ? 0 : 3;
    const sent: SendRunResult = await sendSession({
      core: { tsi, files, fec: { encodingId, symbolSize: 1400, maxSourceBlockLength: 1000, codeRate: encodingId === 3 ? 2 / 3 : 1, n1m3: 2 }, schemes: schemeFor, mode: 'push', cycles: 2, seed: tsi },
      paths: tree.files.map((f) => f.path),
      channels: [{ cn: 0, group, port }],
      family: 4,
      ttl: 0,
      iface: '127.0.0.1',
      bitsPerSecond: flags.rate * 1e6,
      signal: stopSender.signal,
    });
    const received = await receiving;
    const checks = tree.files.map((f): DemoFileCheck => {
      const got = join(outDir, ...f.location.split('/'));
      if (!existsSync(got)) return { path: f.location, bytes: f.size, ok: false, problem: 'missing' };
      const a = readFileSync(f.path);
      const b = readFileSync(got);
      if (!a.equals(b)) return { path: f.location, bytes: f.size, ok: false, problem: `content differs (${b.length} of ${a.length} bytes)` };
      if ((statSync(got).mode & 0o777) !== (f.mode & 0o777)) return { path: f.location, bytes: f.size, ok: false, problem: 'mode differs' };
      return { path: f.location, bytes: f.size, ok: true, problem: undefined };
    });
    return {
      ok: received.status === 'complete' && checks.every((c) => c.ok),
      group,
      port,
      outDir: flags.keep ? outDir : undefined,
      files: checks,
      bytes: checks.reduce((s, c) => s + c.bytes, 0),
      sender: { packets: sent.stats.packets, cycles: sent.stats.cycle, seconds: Number((sent.elapsedMs / 1000).toFixed(3)), bitsPerSecond: Math.round(sent.bitsPerSecond) },
      receiver: { status: received.status, packets: received.stats.packets, seconds: Number((received.elapsedMs / 1000).toFixed(3)), dropped: received.stats.dropped },
    };
  }

  private report(r: DemoResult): void {
    for (const c of r.files) this.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.path} (${c.bytes} bytes)${c.problem === undefined ? '' : `: ${c.problem}`}`);
    const good = r.files.filter((c) => c.ok).length;
    this.log(
      `${r.ok ? 'demo ok' : 'demo FAILED'}: ${good}/${r.files.length} files identical (${(r.bytes / 1e6).toFixed(2)} MB); sender ${r.sender.packets} packets in ${r.sender.seconds} s; receiver ${r.receiver.status} after ${r.receiver.packets} packets in ${r.receiver.seconds} s`,
    );
    if (r.outDir !== undefined) this.log(`received files kept in ${r.outDir}`);
  }
}
