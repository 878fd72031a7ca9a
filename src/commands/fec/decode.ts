// `fcast fec decode`: rebuild one source block from received encoding symbols (RFC 5170 §6.4 with
// iterative then maximum-likelihood decoding; RFC 5445 for No-Code). Exit 0 and the block
// written when decoded; exit 3 and nothing written otherwise.
import { Flags } from '@oclif/core';
import { nativeStatus } from '../../../codecs/native.js';
import { FcastCommand } from '../../cli/base.js';
import { type FecCode, codeFlags, fecCode, planOf, readInput, schemeOf } from '../../cli/fec.js';
import { writeAtomic } from '../../store/atomic-file.js';
import { LocalProtocolError, RemoteProtocolError } from '../../errors.js';

export interface FecDecodeResult extends FecCode {
  /** Distinct ESIs given to the decoder. */
  readonly received: number;
  readonly iterativeOnly: boolean;
  readonly out: string;
  /** The native kernels did the work (asked for, and the addon loaded). */
  readonly native: boolean;
  readonly ms: number;
}

/** More listed symbols than this many per encoding symbol is not a reception, it is a mistake. */
const MAX_REPEATS = 16;

export default class FecDecode extends FcastCommand<FecDecodeResult> {
  static override summary = 'Rebuild one FEC source block from received encoding symbols.';
  static override description =
    'ESIS holds little-endian uint32 ESIs, SYMBOLS the matching symbols (E bytes each, same order); they are given to the decoder in that order, repeats ignored. When every source symbol is known the k·E bytes are written to SOURCE (temporary file, then rename) and the exit status is 0; otherwise nothing is written and the exit status is 3.';
  static override examples = [
    '<%= config.bin %> fec decode --k 1000 --n 1500 --n1 3 --seed 1 --symbol-size 1024 --esis got.u32 --symbols got.bin --out block.bin',
  ];
  static override flags = {
    ...codeFlags,
    esis: Flags.string({ description: 'ESIS: received ESIs, little-endian uint32 each.', required: true }),
    symbols: Flags.string({ description: 'SYMBOLS: the received symbols, E bytes each, in ESIS order.', required: true }),
    out: Flags.string({ description: 'SOURCE: where the decoded block goes.', required: true }),
    'iterative-only': Flags.boolean({ description: 'Peeling only, never Gaussian elimination.' }),
  };

  async run(): Promise<FecDecodeResult> {
    const { flags } = await this.parse(FecDecode);
    const code = fecCode(flags);
    const plan = planOf(code);
    const e = code.symbolSize;
    const esis = readInput(flags.esis, (size) => {
      if (size % 4 !== 0) return `${size} bytes is not a whole number of uint32 ESIs`;
      if (size / 4 > MAX_REPEATS * code.n) return `${size / 4} ESIs for a block of n=${code.n}`;
      return undefined;
    });
    const count = esis.length / 4;
    const symbols = readInput(flags.symbols, (size) => (size === count * e ? undefined : `${size} bytes, expected ${count} symbols × E=${e} = ${count * e} (one per ESI)`));
    for (let i = 0; i < count; i++) {
      const esi = esis.readUInt32LE(i * 4);
      if (esi >= code.n) throw new RemoteProtocolError('FEC_ESI', `${flags.esis}: ESI ${esi} (entry ${i}) is not below n=${code.n}`);
    }
    const t0 = performance.now();
    const decoder = schemeOf(code).createDecoder(plan, 0, { native: flags.native, iterativeOnly: flags['iterative-only'] });
    for (let i = 0; i < count && !decoder.progress().complete; i++) {
      decoder.push(esis.readUInt32LE(i * 4), symbols.subarray(i * e, (i + 1) * e));
    }
    const complete = decoder.progress().complete || (!flags['iterative-only'] && decoder.finish());
    const ms = performance.now() - t0;
    const p = decoder.progress();
    if (!complete) {
      throw new LocalProtocolError(
        'FEC_NOT_DECODABLE',
        `${p.received} distinct symbols give ${p.knownSource} of k=${code.k} source symbols${flags['iterative-only'] ? ' (iterative only)' : ''}; nothing written`,
      );
    }
    const out = writeAtomic(flags.out, [decoder.sourceBlock()]);
    if (!this.jsonEnabled()) this.log(`decoded ${code.k} source symbols from ${p.received} received; written to ${out}`);
    return { ...code, received: p.received, iterativeOnly: flags['iterative-only'], out, native: flags.native && nativeStatus().loaded, ms };
  }
}
