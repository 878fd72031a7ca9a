// One interface for every FEC scheme (flute's FecDecoder, quinn's congestion Controller habit).
// RFC 5052 §6 (FEC building block) gives the vocabulary; each scheme folder implements it and
// codecs/compliance.ts runs the same suite over all of them.

/** FEC Encoding IDs we implement (RFC 5445 Compact No-Code = 0, RFC 5170 LDPC-Staircase = 3). */
export type FecEncodingId = 0 | 3;

/**
 * FEC Object Transmission Information of one object (RFC 5052 §6.2). Lengths are plain numbers:
 * every field is at most 48 bits, checked when decoded from the wire or taken from flags.
 */
export interface FecOti {
  readonly encodingId: FecEncodingId;
  /** L: transfer length of the object in bytes (< 2^48). */
  readonly transferLength: number;
  /** E: encoding symbol length in bytes (1 .. 65535). */
  readonly symbolSize: number;
  /** B: maximum source block length in symbols. */
  readonly maxSourceBlockLength: number;
  /** LDPC only: max_n, maximum encoding symbols per block (RFC 5170 §5.4); n = floor(k·max_n/B). */
  readonly maxEncodingSymbols?: number;
  /** LDPC only: N1 − 3 (0..7). */
  readonly n1m3?: number;
  /** LDPC only: symbols per packet G (1..31). */
  readonly symbolsPerPacket?: number;
  /** LDPC only: PRNG seed (1 .. 0x7FFFFFFE). */
  readonly seed?: number;
}

/** One source block of an object after RFC 5052 §9.1 partitioning. */
export interface SourceBlock {
  readonly sbn: number;
  /** Source symbols in this block. */
  readonly k: number;
  /** Encoding symbols in this block (k for No-Code; RFC 5170 §5.5 for LDPC). */
  readonly n: number;
  /** Byte offset of the block in the object. */
  readonly offset: number;
  /** Bytes of the object in this block (k·E, except the last block, whose last symbol may be short). */
  readonly length: number;
}

/** The partition of a whole object: every block, in SBN order. */
export interface BlockPlan {
  readonly oti: FecOti;
  readonly blocks: readonly SourceBlock[];
}

/**
 * Produces the encoding symbols of one source block. Source symbols (ESI < k) are views of the
 * block; repair symbols are computed once, on first request, and held until `dispose()`.
 */
export interface BlockEncoder {
  readonly block: SourceBlock;
  /**
   * Encoding symbol `esi` (E bytes; the short last source symbol is zero-padded to E). The first
   * repair symbol asked for encodes them all into the encoder's own buffer; until dispose(),
   * repair symbols come from there and the source is not read again (the carousel gives a repair
   * pass's block buffer back once its block is encoded).
   */
  symbol(esi: number): Uint8Array;
  /**
   * Drop cached repair symbols (the carousel calls this when the block leaves the air). Repair
   * symbols returned before are not to be read after: their buffer may serve another block.
   */
  dispose(): void;
}

/** Decoder progress, cheap to read after every symbol. */
export interface DecoderProgress {
  /** Distinct encoding symbols accepted so far. */
  readonly received: number;
  /** Source symbols known (received or recovered). */
  readonly knownSource: number;
  readonly complete: boolean;
}

/**
 * Incremental decoder of one source block. Accepts symbols one at a time in any order and
 * ignores duplicates. Memory is bounded by the block, never the object.
 */
export interface BlockDecoder {
  readonly block: SourceBlock;
  /**
   * Add encoding symbol `esi` (E bytes, copied). Returns false for a duplicate or a symbol that
   * brings nothing new. Throws RemoteProtocolError FEC_ESI / FEC_SYMBOL_SIZE on bad input.
   */
  push(esi: number, symbol: Uint8Array): boolean;
  /**
   * Add a batch of symbols (e.g. one recvmmsg batch; the native codec takes it in one call):
   * symbol i is ESI esis[i], its bytes data[offsets[i] .. offsets[i] + E) (the short last source
   * symbol: its own length), copied. Same as push() on each in order while the block is
   * incomplete; stops after the symbol that completes it. Returns how many symbols it took.
   * Throws like push() (the symbols before a bad one are taken), FEC_PARAMS for a count beyond
   * the arrays.
   */
  pushBatch(esis: Uint32Array, data: Uint8Array, offsets: Uint32Array, count: number): number;
  /** Progress so far; `complete` turns true as soon as every source symbol is known. */
  progress(): DecoderProgress;
  /**
   * Try the expensive step (LDPC: maximum-likelihood elimination) if it may succeed now.
   * Returns true when the block is complete afterwards.
   */
  finish(): boolean;
  /** The decoded block (exactly `block.length` bytes). Only when complete. */
  sourceBlock(): Uint8Array;
  /**
   * The bytes of encoding symbol `esi` as pushed (E bytes; the short last source symbol: its own
   * length), a view of the decoder's memory, while the block is incomplete: every scheme keeps
   * each received symbol in its slot and defers all symbol arithmetic to completion, so a
   * receiver can spool a hot block's symbols from here instead of copying each on arrival.
   * Only for an ESI that was pushed (others: undefined or unspecified bytes). Undefined once the
   * block is complete, or when the decoder cannot show it (the native decoder's short last
   * source symbol, and its repair symbols without an n·E arena).
   */
  heldSymbol(esi: number): Uint8Array | undefined;
  /** Which source symbols are known (bit i = ESI i, LSB-first), e.g. for resume files and reports. */
  knownBitmap(): Uint8Array;
}

export interface EncoderOptions {
  /** Force the pure-TypeScript path even when the native addon is loaded. */
  readonly native?: boolean;
}

export interface DecoderOptions {
  readonly native?: boolean;
  /** Peeling only, never Gaussian elimination (for tests and for the iterative-only vectors). */
  readonly iterativeOnly?: boolean;
  /**
   * Buffer of at least n·E bytes the decoder keeps its symbols in, instead of allocating one per
   * block: a receiver reuses a few large buffers (src/assembly/arena-pool.ts). Any contents: a
   * decoder that needs zeros clears it.
   * The decoder owns it until the caller is done with sourceBlock(), which is a view of it.
   */
  readonly arena?: Uint8Array;
}

export interface FecScheme {
  readonly encodingId: FecEncodingId;
  readonly name: 'nocode' | 'ldpc-staircase';
  /** Validate an OTI for this scheme (RFC limits); throws FEC_PARAMS with a clear reason. */
  validate(oti: FecOti): void;
  /** RFC 5052 §9.1 partitioning plus this scheme's n per block. */
  partition(oti: FecOti): BlockPlan;
  /** `source` holds the block's bytes (block.length; shorter last symbol allowed). */
  createEncoder(plan: BlockPlan, sbn: number, source: Uint8Array, opts?: EncoderOptions): BlockEncoder;
  createDecoder(plan: BlockPlan, sbn: number, opts?: DecoderOptions): BlockDecoder;
}
