// How many block buffers a push takes (src/carousel/sender.ts, takeBuffer / encodedOnRead): the
// source pass's W + P serve the whole push, blocks of the partition's two lengths included, and the
// repair pass, which has every block on the air at once, takes none of its own. Each fresh 1.4 MB
// buffer costs ~350 first-touch page faults and external memory that drives V8's GCs.
import { describe, expect, it } from 'vitest';
import { schemeFor } from '../../../codecs/index.js';
import { CarouselSender, type FecSettings, type SenderConfig } from '../../../src/carousel/index.js';

const E = 1400;
const LDPC: FecSettings = { encodingId: 3, symbolSize: E, maxSourceBlockLength: 100, codeRate: 2 / 3, n1m3: 2 };

/** Run a push to its end, reads answered `delay` polls late; the distinct buffers (ArrayBuffers) the reads filled. */
function readBuffers(cfg: SenderConfig, delay: number): { reads: number; buffers: number; held: number } {
  const core = new CarouselSender(cfg);
  const buffers = new Set<ArrayBufferLike>();
  const pending: { id: number; due: number }[] = [];
  let reads = 0;
  let held = 0;
  for (let polls = 0; polls < 1_000_000; polls++) {
    while (pending.length > 0 && pending[0]!.due <= polls) core.readDone(pending.shift()!.id);
    const o = core.poll(polls);
    held = Math.max(held, core.stats().bufferedBytes);
    if (o.kind === 'done') return { reads, buffers: buffers.size, held };
    if (o.kind === 'read') {
      reads++;
      buffers.add(o.target.buffer);
      pending.push({ id: o.id, due: polls + delay });
    }
  }
  throw new Error('the sender did not finish');
}

describe('carousel sender block buffers', () => {
  // 30 blocks of 98-99 symbols (two lengths one symbol apart, as the partition of RFC 5052 §9.1 gives).
  const length = 2_960 * E;
  const file = { key: 0, contentLocation: 'f.bin', contentLength: length, contentType: 'application/octet-stream', sha256: new Uint8Array(32), mtime: 0, mode: 0o644 };

  it.each([1, 6])('a push of blocks of two lengths reads into at most W + P buffers (reads %i polls late)', (delay) => {
    const got = readBuffers({ tsi: 1, files: [file], fec: LDPC, schemes: schemeFor, mode: 'push', maxActiveBlocks: 6, prefetchBlocks: 2, reuseDatagramBuffer: true }, delay);
    expect(got.reads).toBe(60); // every block read twice: source pass, repair pass
    expect(got.buffers).toBeLessThanOrEqual(6 + 2);
  });

  it('the repair pass holds every block encoded, not its source: at most W + P block buffers beside the repair symbols', () => {
    const got = readBuffers({ tsi: 1, files: [file], fec: LDPC, schemes: schemeFor, mode: 'push', maxActiveBlocks: 6, prefetchBlocks: 2 }, 3);
    // 30 blocks on the air with n − k = 50 repair symbols each, plus what W + P block buffers hold.
    expect(got.held).toBeLessThanOrEqual(30 * 50 * E + 8 * 99 * E);
  });
});
