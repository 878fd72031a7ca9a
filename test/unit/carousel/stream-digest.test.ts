// The carousel sender's whole datagram stream, byte for byte, against digests taken with the
// session-7 start core (75c6221): changes to how the core holds its buffers (when a block buffer is
// taken and given back, when a block is encoded) must not change one byte on the wire, nor the
// order of the reads and waits it asks of the shell. Reads complete a few polls late, as in the
// shell, so the core also waits; the native LDPC encoder when the addon is built.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CarouselSender, type SenderConfig } from '../../../src/carousel/index.js';
import { onDemandTwoFiles, pushOneFile, pushThreeFiles, type SessionCase } from './session-data.js';

/** SHA-256 over every output in order: each datagram whole, each read's key/offset/length, each wait. */
function streamDigest(cfg: SenderConfig, data: readonly Uint8Array[], readDelay: number): { digest: string; packets: number } {
  const core = new CarouselSender(cfg);
  const hash = createHash('sha256');
  const pending: { id: number; due: number }[] = [];
  let packets = 0;
  let now = 0;
  for (let polls = 0; polls < 2_000_000; polls++) {
    while (pending.length > 0 && pending[0]!.due <= polls) core.readDone(pending.shift()!.id);
    const o = core.poll(now);
    if (o.kind === 'done') return { digest: hash.digest('hex'), packets };
    if (o.kind === 'transmit') {
      hash.update(`t${o.channel}.${o.toi}.${o.sbn}.${o.esi}.${o.bytes.length}:`).update(o.bytes);
      packets++;
      now += 0.25;
    } else if (o.kind === 'read') {
      hash.update(`r${o.key}.${o.fileOffset}.${o.target.length};`);
      o.target.set(data[o.key]!.subarray(o.fileOffset, o.fileOffset + o.target.length));
      pending.push({ id: o.id, due: polls + readDelay });
    } else {
      hash.update(`w${o.until ?? -1};`);
      now += 1;
    }
  }
  throw new Error('the sender did not finish');
}

const cases: (SessionCase & { digest: string; packets: number })[] = [
  {
    name: 'push, one file, repair pass with every block at once',
    ...pushOneFile(),
    digest: 'f668907f156549dc7704df68a7ee9c8a9c701505daa21db1bc495f6e76e7ee6f',
    packets: 1506,
  },
  {
    name: 'push, three files, two cycles, W 4, repair in rounds (small budget), fresh datagram buffers',
    ...pushThreeFiles(),
    digest: '5406e641cb5a7ed9b2e520fbfa4a851f99de7005eaa790da8c88dbfc3e7c8d45',
    packets: 3470,
  },
  {
    name: 'on-demand, No-Code and LDPC files',
    ...onDemandTwoFiles({ reuseDatagramBuffer: true }),
    digest: '99b465804011ae48a213b6b3bd2d22509de2471031eacd816d6adf9f013d42d9',
    packets: 2362,
  },
];

describe('carousel sender: the datagram stream is the session-start core’s', () => {
  for (const c of cases) {
    it(c.name, () => {
      const got = streamDigest(c.cfg, c.data, c.readDelay);
      expect(got).toEqual({ digest: c.digest, packets: c.packets });
    });
  }
});
