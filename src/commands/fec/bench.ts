// `fcast fec bench`: encoding and decoding speed of LDPC-Staircase (RFC 5170) on this machine,
// and the reception overhead of the ML decoder. bench/fec.mjs runs it beside OpenFEC.
import { Flags } from '@oclif/core';
import { FcastCommand } from '../../cli/base.js';
import { fecCode, intFlag } from '../../cli/fec.js';
import { WARMUP_MS, runFecBench, type FecBenchResult } from '../../cli/fec-bench.js';
import { LocalProtocolError } from '../../errors.js';

/** Fewer reception orders than this make the overhead mean too noisy to compare. */
const MIN_ORDERS = 30;

export default class FecBench extends FcastCommand<FecBenchResult> {
  static override summary = 'Measure LDPC-Staircase encoding and decoding speed and reception overhead.';
  static override description =
    'Builds one block of k source symbols of E bytes with n = round(k·ratio) and reports the median over --trials runs of: encoding (matrix and all repair symbols), iterative decoding (symbols of a reception order, --batch per call, until complete) and ML decoding (the first --ml-received symbols), in MB/s of source data; and the mean symbols/k the full decoder needed over at least 30 random reception orders.';
  static override examples = ['<%= config.bin %> fec bench', '<%= config.bin %> fec bench --k 10000 --n1 5 --json', '<%= config.bin %> fec bench --no-native'];
  static override flags = {
    k: Flags.string({ description: 'Source symbols.', default: '1000' }),
    'symbol-size': Flags.string({ description: 'Symbol length E in bytes.', default: '1024' }),
    n1: Flags.string({ description: 'N1: 1s per source column, 3..10.', default: '3' }),
    ratio: Flags.string({ description: 'n/k, more than 1.', default: '1.5' }),
    seed: Flags.string({ description: 'PRNG seed of the code.', default: '1' }),
    trials: Flags.string({ description: 'Timed runs per measurement (median reported).', default: '5' }),
    orders: Flags.string({ description: `Reception orders for the overhead figure (at least ${MIN_ORDERS}; 0 skips it).`, default: String(MIN_ORDERS) }),
    'ml-received': Flags.string({ description: 'Symbols given to the ML decoder (default k·1.06 for N1=3, k·1.02 above).' }),
    batch: Flags.string({ description: 'Symbols per decoder call, pushBatch (1: one push per symbol).', default: '64' }),
    native: Flags.boolean({ description: 'Native kernels (default) or --no-native for TypeScript only.', default: true, allowNo: true }),
    'warmup-ms': Flags.string({ description: 'Untimed warm-up runs before each measurement, for this many ms (0: one run).', default: String(WARMUP_MS) }),
  };

  async run(): Promise<FecBenchResult> {
    const { flags } = await this.parse(FecBench);
    const ratio = Number(flags.ratio);
    if (!Number.isFinite(ratio) || ratio <= 1) throw new LocalProtocolError('FEC_PARAMS', `ratio=${flags.ratio} must be a number above 1`);
    const k = intFlag('k', flags.k);
    const code = fecCode({ ...flags, scheme: 'ldpc-staircase', n: String(Math.round(k * ratio)) });
    const trials = intFlag('trials', flags.trials);
    const orders = intFlag('orders', flags.orders);
    const batch = intFlag('batch', flags.batch);
    if (batch < 1 || batch > 65536) throw new LocalProtocolError('USAGE', `--batch ${batch}: expected 1..65536`);
    if (trials < 1 || trials > 1000) throw new LocalProtocolError('USAGE', `--trials ${trials}: expected 1..1000`);
    if (orders !== 0 && (orders < MIN_ORDERS || orders > 10000)) throw new LocalProtocolError('USAGE', `--orders ${orders}: expected 0 (skip) or ${MIN_ORDERS}..10000`);
    const mlDefault = Math.min(code.n, Math.ceil(code.k * (code.n1 === 3 ? 1.06 : 1.02)));
    const mlReceived = flags['ml-received'] === undefined ? mlDefault : intFlag('ml-received', flags['ml-received']);
    if (mlReceived < 1 || mlReceived > code.n) throw new LocalProtocolError('USAGE', `--ml-received ${mlReceived}: expected 1..n=${code.n}`);
    const warmupMs = intFlag('warmup-ms', flags['warmup-ms']);
    if (warmupMs < 0 || warmupMs > 60_000) throw new LocalProtocolError('USAGE', `--warmup-ms ${warmupMs}: expected 0..60000`);
    const r = runFecBench({ ...code, trials, orders, mlReceived, native: flags.native, batch, warmupMs });
    if (!this.jsonEnabled()) {
      this.log(`${r.impl}: k=${r.k} n=${r.n} N1=${r.n1} seed=${r.seed} E=${r.symbolSize}, ${r.batch} symbol(s) per call, median of ${r.trials}`);
      this.log(`  encode      ${r.encode.mbps.toFixed(1).padStart(9)} MB/s  ${r.encode.medianMs.toFixed(3)} ms`);
      this.log(`  iterative   ${r.iterative.mbps.toFixed(1).padStart(9)} MB/s  ${r.iterative.medianMs.toFixed(3)} ms  decoded ${r.iterative.decoded}/${r.trials}, received/k ${r.iterative.meanReceivedOverK.toFixed(4)}`);
      this.log(`  ml          ${r.ml.mbps.toFixed(1).padStart(9)} MB/s  ${r.ml.medianMs.toFixed(3)} ms  decoded ${r.ml.decoded}/${r.trials} from ${r.ml.received} symbols`);
      if (r.overhead.orders > 0) this.log(`  overhead    received/k mean ${r.overhead.meanReceivedOverK.toFixed(4)}, max ${r.overhead.maxReceivedOverK.toFixed(4)} (ML decoder, ${r.overhead.decoded}/${r.overhead.orders} orders)`);
    }
    return r;
  }
}
