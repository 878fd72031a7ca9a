// Objects -> FCAST compound objects -> FEC OTI and source blocks (RFC 6968 §2.1, RFC 5052 §9.1,
// RFC 5170 §5.2-5.5, RFC 5445 §3). Nothing here reads a file: a compound object is its header
// bytes (built here) followed by the file's bytes, which the shell reads block by block when the
// sender asks (see sender.ts, BlockRead).
//
// FEC choices per object [ours]:
// - LDPC-Staircase (codepoint 3): max_n = ceil(B/R). An object so big that it would need more
//   than 4,096 blocks (RFC 5170 §4.2.2) gets a larger B for that object alone; the OTI travels in
//   EXT_FTI of every packet, so receivers follow.
// - A block whose n − k is below N1 cannot be LDPC-coded (left_matrix_init needs N1 ≤ n − k;
//   shared/research/ldpc.md §4), which is every object of fewer than about 2·N1/(1/R − 1)
//   symbols. Such small objects go as Compact No-Code (codepoint 0) and each of their symbols is
//   sent ceil(1/R) times per cycle, so a small file gets the same packet overhead (and about the
//   same protection against loss) as a coded one.
// - No-Code (codepoint 0) objects: ESI is 16 bits, so B ≤ 65,536 and at most 2^16 blocks.

import { ldpcBlockN, partitionCounts } from '../../codecs/partition.js';
import type { BlockPlan, FecEncodingId, FecOti, FecScheme } from '../../codecs/types.js';
import { LocalProtocolError } from '../errors.js';
import { encodeFcastHeader, type FcastMetadataInit } from '../wire/index.js';
import { seedOf } from './order.js';

/** A file to send, as the shell describes it (the core never opens it). */
export interface CarouselFile {
  /** The shell's handle for reads (e.g. an index into its file table). */
  readonly key: number;
  /** Content-Location: relative, already percent-encoded (wire encodeContentLocation). */
  readonly contentLocation: string;
  readonly contentLength: number;
  readonly contentType: string;
  /** SHA-256 of the file, 32 bytes. */
  readonly sha256: Uint8Array;
  /** Modification time, whole seconds since the Unix epoch. */
  readonly mtime: number;
  /** Permission bits (≤ 0o7777). */
  readonly mode: number;
}

/** Session-wide FEC parameters (the flags `--fec --symbol-size --code-rate --n1`). */
export interface FecSettings {
  readonly encodingId: FecEncodingId;
  /** E, bytes per symbol. */
  readonly symbolSize: number;
  /** B, the largest source block in symbols. */
  readonly maxSourceBlockLength: number;
  /** R = k/n in (0, 1]: LDPC max_n = ceil(B/R); No-Code repeats each symbol ceil(1/R) times. */
  readonly codeRate: number;
  /** LDPC: N1 − 3 (0..7). */
  readonly n1m3: number;
}

export type SchemeLookup = (id: FecEncodingId) => FecScheme;

/** One compound object with everything the sender needs to put it on the air. */
export interface PlannedObject {
  readonly toi: number;
  /** Shell key of the file whose bytes follow the header; undefined for an in-memory object (CID). */
  readonly key: number | undefined;
  /** The whole compound object, for in-memory objects. */
  readonly memory: Uint8Array | undefined;
  /** File objects: FCAST header plus padding, compound-object bytes [0, header.length). Empty for in-memory objects. */
  readonly header: Uint8Array;
  readonly contentLocation: string;
  readonly oti: FecOti;
  readonly plan: BlockPlan;
  readonly scheme: FecScheme;
  /** Copies of every encoding symbol sent per cycle. */
  readonly repeat: number;
  /** Packets per cycle: Σ n·repeat over the blocks. */
  readonly slots: number;
}

const LDPC_MAX_BLOCKS = 4096;
const NOCODE_MAX_BLOCKS = 65_536;
const NOCODE_MAX_B = 65_536;
const LDPC_MAX_N = 1 << 20;
const SEED_MAX = 0x7ffffffe;

/** Check flag-level FEC settings once, before any object is planned. */
export function checkFecSettings(f: FecSettings): void {
  if (!Number.isInteger(f.symbolSize) || f.symbolSize < 1 || f.symbolSize > 65_535) {
    throw new LocalProtocolError('FEC_PARAMS', `symbol size ${f.symbolSize} outside 1..65535`);
  }
  if (!(f.codeRate > 0 && f.codeRate <= 1)) throw new LocalProtocolError('FEC_PARAMS', `code rate ${f.codeRate} outside (0, 1]`);
  if (!Number.isInteger(f.n1m3) || f.n1m3 < 0 || f.n1m3 > 7) throw new LocalProtocolError('FEC_PARAMS', `N1 ${f.n1m3 + 3} outside 3..10`);
  const maxB = f.encodingId === 3 ? Math.floor(LDPC_MAX_N * f.codeRate) : NOCODE_MAX_B;
  if (!Number.isInteger(f.maxSourceBlockLength) || f.maxSourceBlockLength < 1 || f.maxSourceBlockLength > maxB) {
    throw new LocalProtocolError('FEC_PARAMS', `block length ${f.maxSourceBlockLength} outside 1..${maxB}`);
  }
}

function ldpcOti(l: number, f: FecSettings, seed: number): FecOti {
  const t = Math.ceil(l / f.symbolSize);
  const b = Math.max(f.maxSourceBlockLength, Math.ceil(t / LDPC_MAX_BLOCKS));
  const maxN = Math.ceil(b / f.codeRate);
  if (maxN > LDPC_MAX_N) throw new LocalProtocolError('FEC_PARAMS', `object of ${l} bytes needs max_n ${maxN} > 2^20 (raise --symbol-size or --code-rate)`);
  return {
    encodingId: 3,
    transferLength: l,
    symbolSize: f.symbolSize,
    maxSourceBlockLength: b,
    maxEncodingSymbols: maxN,
    n1m3: f.n1m3,
    symbolsPerPacket: 1,
    seed: 1 + (seedOf(seed) % SEED_MAX),
  };
}

function nocodeOti(l: number, f: FecSettings): FecOti {
  const t = Math.ceil(l / f.symbolSize);
  const b = Math.max(Math.min(f.maxSourceBlockLength, NOCODE_MAX_B), Math.ceil(t / NOCODE_MAX_BLOCKS));
  if (b > NOCODE_MAX_B) throw new LocalProtocolError('FEC_PARAMS', `object of ${l} bytes is too large for No-Code at E=${f.symbolSize}`);
  return { encodingId: 0, transferLength: l, symbolSize: f.symbolSize, maxSourceBlockLength: b };
}

/** Smallest n − k over the blocks an LDPC OTI gives (both block sizes of RFC 5052 §9.1). */
function minRepair(oti: FecOti): number {
  const p = partitionCounts(oti.transferLength, oti.symbolSize, oti.maxSourceBlockLength);
  let m = Infinity;
  for (const k of [p.largeK, p.smallK]) if (k > 0) m = Math.min(m, ldpcBlockN(k, oti.maxEncodingSymbols!, oti.maxSourceBlockLength) - k);
  return m;
}

/**
 * Choose the OTI and block plan of a compound object of `l` bytes. `seed` makes the LDPC PRNG
 * seed (RFC 5170 §4.2.3) differ per object.
 */
export function planFec(l: number, f: FecSettings, schemes: SchemeLookup, seed: number): { oti: FecOti; plan: BlockPlan; scheme: FecScheme; repeat: number } {
  if (f.encodingId === 3) {
    const oti = ldpcOti(l, f, seed);
    if (minRepair(oti) >= f.n1m3 + 3) {
      const scheme = schemes(3);
      return { oti, plan: scheme.partition(oti), scheme, repeat: 1 };
    }
  }
  const oti = nocodeOti(l, f);
  const scheme = schemes(0);
  return { oti, plan: scheme.partition(oti), scheme, repeat: Math.ceil(1 / f.codeRate - 1e-9) };
}

function finish(toi: number, key: number | undefined, memory: Uint8Array | undefined, header: Uint8Array, location: string, l: number, f: FecSettings, schemes: SchemeLookup, seed: number): PlannedObject {
  const { oti, plan, scheme, repeat } = planFec(l, f, schemes, seedOf(seed, toi));
  let slots = 0;
  for (const b of plan.blocks) slots += b.n * repeat;
  return { toi, key, memory, header, contentLocation: location, oti, plan, scheme, repeat, slots };
}

/** Plan a file object: FCAST header with the metadata of RFC 6968 §3.3 plus mtime and mode. */
export function planFile(toi: number, file: CarouselFile, f: FecSettings, schemes: SchemeLookup, seed: number): PlannedObject {
  const metadata: FcastMetadataInit = {
    contentLocation: file.contentLocation,
    contentLength: file.contentLength,
    contentType: file.contentType,
    digestSha256: file.sha256,
    mtime: file.mtime,
    mode: file.mode,
  };
  const header = encodeFcastHeader({ metadata }, { length: file.contentLength });
  return finish(toi, file.key, undefined, header, file.contentLocation, header.length + file.contentLength, f, schemes, seed);
}

/** Plan an in-memory compound object (the CID). */
export function planMemoryObject(toi: number, compound: Uint8Array, label: string, f: FecSettings, schemes: SchemeLookup, seed: number): PlannedObject {
  return finish(toi, undefined, compound, new Uint8Array(0), label, compound.length, f, schemes, seed);
}
