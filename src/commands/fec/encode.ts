// `fcast fec encode`: the repair symbols of one source block (RFC 5170 §6.3; RFC 5445 has none).
// How interoperability with other RFC 5170 implementations is checked, byte for byte.
import { Flags } from '@oclif/core';
import { nativeStatus } from '../../../codecs/native.js';
import { FcastCommand } from '../../cli/base.js';
import { type FecCode, codeFlags, fecCode, planOf, readInput, schemeOf } from '../../cli/fec.js';
import { writeAtomic } from '../../store/atomic-file.js';
import { LocalProtocolError } from '../../errors.js';

export interface FecEncodeResult extends FecCode {
  readonly repairSymbols: number;
  /** Absolute path of the repair file, or null for No-Code (nothing to write). */
  readonly out: string | null;
  /** The native kernels did the work (asked for, and the addon loaded). */
  readonly native: boolean;
  readonly ms: number;
}

export default class FecEncode extends FcastCommand<FecEncodeResult> {
  static override summary = 'Compute the repair symbols of one FEC source block.';
  static override description =
    'SOURCE holds k·E bytes, the source symbols in ESI order. REPAIR receives the n−k repair symbols in ESI order k..n−1 (written to a temporary file, then renamed). No-Code has no repair symbols: the parameters and SOURCE are checked and nothing is written.';
  static override examples = [
    '<%= config.bin %> fec encode --k 1000 --n 1500 --n1 3 --seed 1 --symbol-size 1024 --in block.bin --out repair.bin',
  ];
  static override flags = {
    ...codeFlags,
    in: Flags.string({ description: 'SOURCE: the k·E bytes of the block.', required: true }),
    out: Flags.string({ description: 'REPAIR: where the n−k repair symbols go (LDPC-Staircase).' }),
  };

  async run(): Promise<FecEncodeResult> {
    const { flags } = await this.parse(FecEncode);
    const code = fecCode(flags);
    const plan = planOf(code);
    if (code.scheme === 'ldpc-staircase' && flags.out === undefined) throw new LocalProtocolError('USAGE', '--out is required for ldpc-staircase');
    const want = code.k * code.symbolSize;
    const source = readInput(flags.in, (size) => (size === want ? undefined : `${size} bytes, expected k·E = ${want}`));
    const t0 = performance.now();
    const encoder = schemeOf(code).createEncoder(plan, 0, source, { native: flags.native });
    const repair: Uint8Array[] = [];
    for (let esi = code.k; esi < code.n; esi++) repair.push(encoder.symbol(esi));
    const ms = performance.now() - t0;
    const out = code.scheme === 'nocode' || flags.out === undefined ? null : writeAtomic(flags.out, repair);
    encoder.dispose();
    if (!this.jsonEnabled()) {
      this.log(out === null ? `${code.scheme}: ${code.k} source symbols, no repair symbols` : `${repair.length} repair symbols (ESI ${code.k}..${code.n - 1}) written to ${out}`);
    }
    return { ...code, repairSymbols: repair.length, out, native: flags.native && nativeStatus().loaded, ms };
  }
}
