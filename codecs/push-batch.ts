// BlockDecoder.pushBatch for decoders without a batch path of their own (codecs/types.ts): the
// TypeScript LDPC-Staircase decoder and No-Code take the batch one push() at a time.
import { LocalProtocolError, RemoteProtocolError } from '../src/errors.js';
import type { BlockDecoder } from './types.js';

/** Throws FEC_PARAMS unless `count` symbols are named by both arrays. */
export function checkBatch(esis: Uint32Array, offsets: Uint32Array, count: number): void {
  if (!Number.isInteger(count) || count < 0 || count > esis.length || count > offsets.length) {
    throw new LocalProtocolError('FEC_PARAMS', `pushBatch: count ${count} with ${esis.length} ESIs and ${offsets.length} offsets`);
  }
}

/** pushBatch through push(): symbol views of `data`, E bytes each (the short last symbol shortLen). */
export function pushEach(
  d: BlockDecoder, symbolSize: number, esis: Uint32Array, data: Uint8Array, offsets: Uint32Array, count: number,
): number {
  checkBatch(esis, offsets, count);
  const { k, length } = d.block;
  const shortLen = length - (k - 1) * symbolSize;
  let taken = 0;
  for (; taken < count && !d.progress().complete; taken++) {
    const esi = esis[taken]!;
    const off = offsets[taken]!;
    const len = esi === k - 1 ? shortLen : symbolSize;
    if (off + len > data.length) {
      throw new RemoteProtocolError('FEC_SYMBOL_SIZE', `ESI ${esi}: ${len} bytes at ${off} reach past the ${data.length}-byte batch`);
    }
    d.push(esi, data.subarray(off, off + len));
  }
  return taken;
}
