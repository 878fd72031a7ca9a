// One registry of every error code fcast raises (Node's lib/internal/errors.js habit): the code
// is the contract, the message is for people. Match on `code`, never on message or instanceof.
//
// RemoteProtocolError: a peer (packet, session file, control message) sent something bad; the
// shell counts it and drops it. LocalProtocolError: we, or our user, asked for something
// invalid (bad flag, bad parameters); the command layer reports it and exits non-zero.

/** Where an error comes from decides how it is handled and which exit code it maps to. */
export type ErrorOrigin = 'remote' | 'local' | 'io' | 'internal';

export const ERROR_CODES = {
  // wire: truncation and lengths (SPEC-NOTES §7 rows 1, 3, 8, 14)
  WIRE_TRUNCATED: 'a field runs past the end of the datagram or buffer',
  WIRE_LENGTH: 'a length field is out of range',
  WIRE_VALUE: 'a field holds a value outside its range',
  // LCT / ALC (§7 rows 2-7)
  LCT_BAD_VERSION: 'LCT version is not 1',
  LCT_HDR_LEN: 'LCT HDR_LEN is shorter than its fixed fields or longer than the datagram',
  LCT_CCI_LENGTH: 'LCT CCI length differs from the session',
  LCT_EXT_LENGTH: 'LCT header extension length is zero or runs past HDR_LEN',
  LCT_TOI_RANGE: 'LCT TOI or TSI value does not fit in 53 bits',
  ALC_NO_TSI: 'ALC packet without a TSI',
  ALC_NO_TOI: 'ALC packet without a TOI in a multi-object session',
  ALC_PAYLOAD_ID: 'ALC payload shorter than the FEC Payload ID',
  ALC_CODEPOINT: 'codepoint not in the session mapping',
  // EXT_TIME, EXT_FTI, FEC OTI (§7 rows 10, 11, 15-19)
  EXT_TIME_LENGTH: 'EXT_TIME shorter than its flagged values',
  EXT_TIME_FLAGS: 'EXT_TIME has SCT-Low without SCT-High',
  FTI_LENGTH: 'EXT_FTI length does not match the FEC scheme',
  FTI_CONFLICT: 'FEC OTI contradicts the one already held for this object',
  FEC_UNSUPPORTED: 'FEC Encoding ID not supported',
  FEC_PARAMS: 'FEC parameters out of range',
  FEC_SBN: 'source block number out of range',
  FEC_ESI: 'encoding symbol ID out of range',
  FEC_SYMBOL_SIZE: 'encoding symbol has the wrong length',
  FEC_NOT_DECODABLE: 'not enough symbols to decode the block',
  // FCAST (§7 rows 23-32)
  FCAST_VERSION: 'FCAST version is not 0',
  FCAST_FORMAT: 'FCAST metadata format or encoding not supported',
  FCAST_HEADER_LENGTH: 'FCAST header length out of range',
  FCAST_PADDING: 'FCAST padding is not zero or is misplaced',
  FCAST_CHECKSUM: 'FCAST checksum mismatch',
  FCAST_METADATA: 'FCAST metadata is malformed',
  FCAST_CONTENT_LENGTH: 'Content-Length does not match the object',
  FCAST_CONTENT_ENCODING: 'Content-Encoding not supported or corrupt',
  FCAST_DIGEST: 'object digest mismatch',
  FCAST_PATH: 'Content-Location would leave the output directory',
  FCAST_SLICE: 'FCAST slice fields are inconsistent',
  CID_LIST: 'carousel instance descriptor object list is malformed',
  CID_ID: 'carousel instance descriptor ID missing or going backwards',
  // receiver limits (named caps of src/assembly, STYLE §6)
  ASSEMBLY_LIMIT: 'receiver limit reached (open objects, pending blocks or buffered bytes)',
  // WEBRC (RFC 3738)
  WEBRC_PARAMS: 'WEBRC parameters out of range',
  WEBRC_CCI: 'WEBRC congestion control information out of range',
  // session descriptions
  SESSION_PARSE: 'session description cannot be parsed',
  SESSION_VALUE: 'session description holds an invalid value',
  // flexicast channel: control protocol, shared-flow crypto, QUIC identities, batch UDP (issue 6)
  FLEX_VERSION: 'flexicast control frame version not supported',
  FLEX_TYPE: 'flexicast control frame type unknown',
  FLEX_LENGTH: 'flexicast frame length out of range or not matching its body',
  FLEX_VALUE: 'flexicast field holds a value outside its range',
  FLEX_AUTH: 'flow packet failed authentication (forged or corrupt)',
  FLEX_REPLAY: 'flow packet replayed or older than the replay window',
  FLEX_EPOCH: 'flow packet under an unknown or retired key epoch',
  FLEX_PEER_KEY: 'QUIC peer is not the pinned sender key',
  FLEX_NOT_ADMITTED: 'receiver key is not admitted to this session',
  FLEX_QUIC: 'QUIC connection or stream failed',
  FLEX_SOCKET: 'batch UDP socket operation failed',
  // local misuse: flags, files, configuration
  USAGE: 'invalid command-line usage',
  CONFIG: 'invalid configuration',
  INPUT_FILE: 'input file missing, unreadable or too short',
  HASH_JOB: 'SHA-256 job off the main thread failed (file not readable to the end, or aborted)',
  OUTPUT_PATH: 'output path invalid',
  NATIVE_UNAVAILABLE: 'native addon unavailable',
  NETWORK: 'network request failed',
  TIMEOUT: 'timed out',
  INTERNAL: 'internal error',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every error fcast throws on purpose. `code` is stable; `origin` says whose fault. */
export class FcastError extends Error {
  readonly code: ErrorCode;
  readonly origin: ErrorOrigin;

  constructor(code: ErrorCode, origin: ErrorOrigin, detail?: string, options?: { cause?: unknown }) {
    super(detail === undefined ? ERROR_CODES[code] : `${ERROR_CODES[code]}: ${detail}`, options);
    this.code = code;
    this.origin = origin;
    this.name = 'FcastError';
  }
}

/**
 * Bad input from a peer: count it and drop it (DESIGN: "bad packets are counted and dropped").
 * No stack trace: it would point into our decoder, not at the fault, and capturing one costs
 * ~6x the throw itself, which a flood of bad packets would pay per datagram.
 */
export class RemoteProtocolError extends FcastError {
  constructor(code: ErrorCode, detail?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(code, 'remote', detail);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'RemoteProtocolError';
  }
}

/** Our caller asked for something invalid (flags, parameters, API misuse). */
export class LocalProtocolError extends FcastError {
  constructor(code: ErrorCode, detail?: string) {
    super(code, 'local', detail);
    this.name = 'LocalProtocolError';
  }
}

/** True for any FcastError, even one from a second copy of this module (no instanceof). */
export function isFcastError(e: unknown): e is FcastError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as { code: string }).code in ERROR_CODES &&
    typeof (e as { origin?: unknown }).origin === 'string'
  );
}

/** Exhaustiveness check for `switch` over tagged unions. */
export function assertNever(x: never): never {
  throw new FcastError('INTERNAL', 'internal', `unexpected value ${JSON.stringify(x)}`);
}
