// One behavioural suite for every FEC scheme (js-libp2p's interface-compliance-tests habit):
// random data, random reception orders, loss, duplicates, the short last symbol, one-symbol
// blocks, multi-block objects, progress after every symbol, bad input. Framework-free: each case
// throws on failure, so a test file wraps them (`for (const c of complianceCases(...)) it(c.name, c.run)`)
// and runs the same suite over No-Code, LDPC in TypeScript and LDPC on the native codec.
import { isFcastError, type ErrorCode } from '../src/errors.js';
import { createOti } from './index.js';
import type { BlockDecoder, DecoderOptions, EncoderOptions, FecOti, FecScheme } from './types.js';

export interface ComplianceOptions {
  readonly encoder?: EncoderOptions;
  readonly decoder?: DecoderOptions;
  /** Seed of the suite's own random choices (data, orders, losses). */
  readonly seed?: number;
}

export interface ComplianceCase {
  readonly name: string;
  run(): void;
}

/** Small deterministic PRNG (mulberry32) for data and orders. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new Error(`compliance: ${msg}`);
}

function expectCode(fn: () => unknown, code: ErrorCode, what: string): void {
  try {
    fn();
  } catch (e) {
    check(isFcastError(e) && e.code === code, `${what}: expected ${code}, got ${String(e)}`);
    return;
  }
  check(false, `${what}: expected ${code}, nothing thrown`);
}

function randomBytes(len: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (rand() * 256) | 0;
  return out;
}

function otiFor(scheme: FecScheme, transferLength: number, symbolSize: number, maxSourceBlockLength: number, extra: { codeRate?: number; n1?: number; seed?: number } = {}): FecOti {
  return createOti(transferLength, { encodingId: scheme.encodingId, symbolSize, maxSourceBlockLength, ...extra });
}

interface Symbol {
  readonly sbn: number;
  readonly esi: number;
  readonly data: Uint8Array;
}

/** Every encoding symbol of every block; the last source symbol of the object sent short. */
function encodeAll(scheme: FecScheme, oti: FecOti, object: Uint8Array, opts: ComplianceOptions): Symbol[] {
  const plan = scheme.partition(oti);
  const e = oti.symbolSize;
  const out: Symbol[] = [];
  for (const b of plan.blocks) {
    const enc = scheme.createEncoder(plan, b.sbn, object.subarray(b.offset, b.offset + b.length), opts.encoder);
    for (let esi = 0; esi < b.n; esi++) {
      let data = enc.symbol(esi).slice();
      check(data.length === e, `symbol ${b.sbn}/${esi} is ${data.length} bytes, not E=${e}`);
      if (esi === b.k - 1 && b.length < b.k * e) data = data.subarray(0, b.length - (b.k - 1) * e);
      out.push({ sbn: b.sbn, esi, data });
    }
    enc.dispose();
  }
  return out;
}

/**
 * Feed `symbols` in the given order to fresh decoders, checking progress after every push;
 * returns the decoders (by SBN). Verifies every block that completes against `object`.
 */
function feed(scheme: FecScheme, oti: FecOti, object: Uint8Array, symbols: Symbol[], opts: ComplianceOptions): BlockDecoder[] {
  const plan = scheme.partition(oti);
  const decoders = plan.blocks.map((b) => scheme.createDecoder(plan, b.sbn, opts.decoder));
  const seen = new Set<string>();
  for (const s of symbols) {
    const dec = decoders[s.sbn]!;
    const before = dec.progress();
    const fresh = !seen.has(`${s.sbn}/${s.esi}`);
    seen.add(`${s.sbn}/${s.esi}`);
    const accepted = dec.push(s.esi, s.data);
    const after = dec.progress();
    check(!accepted || fresh, `duplicate ${s.sbn}/${s.esi} accepted`);
    check(after.received === before.received + (fresh ? 1 : 0), `received count after ${s.sbn}/${s.esi}`);
    check(after.knownSource >= before.knownSource && after.knownSource <= dec.block.k, 'knownSource must grow within 0..k');
    check(after.complete === (after.knownSource === dec.block.k), 'complete iff every source symbol is known');
    check(!before.complete || after.complete, 'a complete block stays complete');
  }
  for (const dec of decoders) {
    dec.finish();
    const b = dec.block;
    const bitmap = dec.knownBitmap();
    let ones = 0;
    for (let i = 0; i < b.k; i++) ones += (bitmap[i >>> 3]! >>> (i & 7)) & 1;
    check(ones === dec.progress().knownSource, `bitmap of block ${b.sbn} disagrees with knownSource`);
    if (dec.progress().complete) {
      const got = dec.sourceBlock();
      const want = object.subarray(b.offset, b.offset + b.length);
      check(got.length === want.length && got.every((v, i) => v === want[i]), `block ${b.sbn} decoded wrong`);
    } else {
      expectCode(() => dec.sourceBlock(), 'FEC_NOT_DECODABLE', 'sourceBlock of an incomplete block');
    }
  }
  return decoders;
}

function allComplete(decoders: BlockDecoder[]): boolean {
  return decoders.every((d) => d.progress().complete);
}

export function complianceCases(scheme: FecScheme, opts: ComplianceOptions = {}): ComplianceCase[] {
  const base = opts.seed ?? 20260601;
  const hasRepair = scheme.encodingId !== 0;
  const cases: ComplianceCase[] = [];
  const add = (name: string, run: (rand: () => number) => void): void => {
    cases.push({ name: `${scheme.name}: ${name}`, run: () => run(rng(base + cases.length * 7919)) });
  };

  add('multi-block object, short last symbol, every symbol in random order', (rand) => {
    for (const [len, e, b] of [[100_003, 64, 300], [5_000, 100, 17], [65_536, 256, 64], [1_234_567, 1024, 500]] as const) {
      const object = randomBytes(len, rand);
      const oti = otiFor(scheme, len, e, b);
      const decs = feed(scheme, oti, object, shuffle(encodeAll(scheme, oti, object, opts), rand), opts);
      check(allComplete(decs), `L=${len} E=${e} B=${b}: not complete with every symbol`);
    }
  });

  add('source symbols only, in order, decode without repair', (rand) => {
    const object = randomBytes(20_000, rand);
    const oti = otiFor(scheme, object.length, 128, 40);
    const symbols = encodeAll(scheme, oti, object, opts).filter((s) => s.esi < scheme.partition(oti).blocks[s.sbn]!.k);
    check(allComplete(feed(scheme, oti, object, symbols, opts)), 'not complete with every source symbol');
  });

  add('duplicates are ignored and counted once', (rand) => {
    const object = randomBytes(30_000, rand);
    const oti = otiFor(scheme, object.length, 200, 64);
    const symbols = encodeAll(scheme, oti, object, opts);
    const doubled = shuffle([...symbols, ...symbols.filter(() => rand() < 0.5)], rand);
    check(allComplete(feed(scheme, oti, object, doubled, opts)), 'not complete with duplicates');
  });

  add('loss: incomplete blocks stay consistent, completed ones are right', (rand) => {
    const object = randomBytes(200_000, rand);
    const oti = otiFor(scheme, object.length, 500, 200);
    for (const loss of [0.02, 0.1, 0.25]) {
      const kept = shuffle(encodeAll(scheme, oti, object, opts).filter(() => rand() >= loss), rand);
      feed(scheme, oti, object, kept, opts);
    }
  });

  if (hasRepair) {
    add('repair symbols recover lost source symbols', (rand) => {
      const object = randomBytes(400 * 64, rand);
      const oti = otiFor(scheme, object.length, 64, 400, { codeRate: 0.5 });
      const plan = scheme.partition(oti);
      // Lose 10 % of the source symbols, keep every repair symbol: well inside the code's power.
      const kept = encodeAll(scheme, oti, object, opts).filter((s) => s.esi >= plan.blocks[s.sbn]!.k || rand() >= 0.1);
      check(allComplete(feed(scheme, oti, object, shuffle(kept, rand), opts)), 'lost sources not recovered');
    });
  }

  add('one-symbol blocks and tiny objects', (rand) => {
    for (const [len, e, b] of [[1, 16, 1], [16, 16, 1], [7, 16, 4], [40, 8, 1]] as const) {
      const object = randomBytes(len, rand);
      const extra = hasRepair ? { codeRate: 0.25 } : {};
      const oti = otiFor(scheme, len, e, b, extra);
      check(scheme.partition(oti).blocks.every((x) => x.k >= 1), 'empty block in the plan');
      check(allComplete(feed(scheme, oti, object, shuffle(encodeAll(scheme, oti, object, opts), rand), opts)), `L=${len} E=${e} B=${b} incomplete`);
    }
  });

  add('padding of a full-length last symbol is ignored', (rand) => {
    for (let round = 0; round < 10; round++) {
      const object = randomBytes(16 * 40 + 5, rand);
      const oti = otiFor(scheme, object.length, 16, 41, hasRepair ? { codeRate: 0.5 } : {});
      const block = scheme.partition(oti).blocks[0]!;
      // The short last symbol arrives padded with garbage; the other symbols must not suffer.
      const symbols = encodeAll(scheme, oti, object, opts).map((s) => {
        if (s.esi !== block.k - 1) return s;
        const padded = randomBytes(16, rand);
        padded.set(s.data);
        return { ...s, data: padded };
      });
      const last = symbols.filter((s) => s.esi === block.k - 1);
      const rest = symbols.filter((s) => s.esi !== block.k - 1 && (s.esi >= block.k || rand() >= 0.3));
      const decs = feed(scheme, oti, object, hasRepair ? [...last, ...shuffle(rest, rand)] : symbols, opts);
      check(!hasRepair || decs.every((d) => d.progress().knownSource > 0), 'nothing decoded');
    }
  });

  add('empty object has no blocks', () => {
    check(scheme.partition(otiFor(scheme, 0, 1024, 100)).blocks.length === 0, 'L=0 must give no blocks');
  });

  add('bad input gets typed errors', (rand) => {
    const object = randomBytes(1000, rand);
    const oti = otiFor(scheme, object.length, 100, 10);
    const plan = scheme.partition(oti);
    const block = plan.blocks[0]!;
    const dec = scheme.createDecoder(plan, 0, opts.decoder);
    expectCode(() => dec.push(block.n, new Uint8Array(100)), 'FEC_ESI', 'ESI = n');
    expectCode(() => dec.push(-1, new Uint8Array(100)), 'FEC_ESI', 'ESI = -1');
    expectCode(() => dec.push(0, new Uint8Array(99)), 'FEC_SYMBOL_SIZE', 'short symbol that is not the last');
    expectCode(() => dec.push(0, new Uint8Array(101)), 'FEC_SYMBOL_SIZE', 'long symbol');
    expectCode(() => scheme.createDecoder(plan, plan.blocks.length, opts.decoder), 'FEC_SBN', 'SBN = N');
    expectCode(() => scheme.createEncoder(plan, 0, object.subarray(0, 10), opts.encoder), 'FEC_SYMBOL_SIZE', 'short block source');
    const enc = scheme.createEncoder(plan, 0, object.subarray(0, block.length), opts.encoder);
    expectCode(() => enc.symbol(block.n), 'FEC_ESI', 'encoder ESI = n');
    check(dec.progress().received === 0, 'rejected symbols must not count');
  });

  return cases;
}
