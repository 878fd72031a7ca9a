// Front door of the wire layer (STYLE §10): other layers import from here only.
// Bytes <-> records with strict validation (DESIGN "wire"): LCT (RFC 5651), ALC (RFC 5775),
// FEC Payload IDs and EXT_FTI (RFC 5445, RFC 5170), EXT_TIME, FCAST objects and CIDs (RFC 6968).

export { Reader, Writer } from './cursor.js';
export {
  EXT_AUTH,
  EXT_NOP,
  FIXED_HET_MIN,
  LCT_VERSION,
  MAX_HEADER_LENGTH,
  decodeLctHeader,
  encodeLctHeader,
  extensionLength,
  lctFixedLength,
  writeExtension,
  writeLctFixed,
  type LctDecodeOptions,
  type LctExtension,
  type LctHeader,
  type LctHeaderInit,
} from './lct.js';
export { EXT_TIME, decodeExtTime, extTimeLength, writeExtTime, type ExtTime } from './ext-time.js';
export { EXT_FTI, LDPC_STAIRCASE_ID, NOCODE_ID, decodeFti, ftiHel, ftiLength, isFecEncodingId, sameOti, writeFti } from './fti.js';
export { PAYLOAD_ID_LENGTH, esiBits, maxEsi, maxSbn, readPayloadId, writePayloadId, type PayloadId } from './payload-id.js';
export {
  alcHeaderSize,
  decodeAlcPacket,
  encodeAlcPacket,
  type AlcDecodeOptions,
  type AlcPacket,
  type AlcPacketInit,
} from './alc.js';
export { InternetChecksum, addSums, internetChecksum } from './checksum.js';
export { MAX_PATH_BYTES, MAX_SEGMENT_BYTES, encodeContentLocation, safeRelativePath } from './content-location.js';
export {
  decodeMetadata,
  encodeMetadata,
  type FcastMetadata,
  type FcastMetadataInit,
  type MetadataItem,
  type SliceInfo,
} from './fcast-metadata.js';
export {
  DEFAULT_MAX_HEADER_LENGTH,
  FCAST_FIXED_LENGTH,
  FCAST_VERSION,
  decodeContent,
  decodeFcastHeader,
  decodeFcastObject,
  encodeFcastHeader,
  encodeFcastObject,
  fcastPadding,
  type FcastDataSummary,
  type FcastDecodeOptions,
  type FcastHeader,
  type FcastHeaderInit,
  type FcastObject,
} from './fcast-object.js';
export {
  DEFAULT_MAX_CID_LIST,
  DEFAULT_MAX_TOI,
  buildCidList,
  checkCiid,
  cidContains,
  cidCount,
  decodeCidList,
  decodeCidObject,
  encodeCidList,
  encodeCidObject,
  type CidDecodeOptions,
  type CidEquivalence,
  type CidList,
  type CidObject,
  type CidObjectInit,
  type CidOptions,
  type CidRange,
} from './fcast-cid.js';
// Session descriptions (src/wire/session.ts, owned by the sender engineer).
export * from './session.js';
// Flexicast control frames (owned by src/wire/flexicast.ts).
export * from './flexicast.js';
