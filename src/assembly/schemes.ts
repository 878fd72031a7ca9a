// The FEC schemes a receiver decodes, by FEC Encoding ID (codepoint = Encoding ID, SPEC-NOTES
// §0 item 3): Compact No-Code (RFC 5445) and LDPC-Staircase (RFC 5170).
import { ldpcStaircase } from '../../codecs/ldpc-staircase/scheme.js';
import { noCode } from '../../codecs/nocode/scheme.js';
import type { FecEncodingId, FecScheme } from '../../codecs/types.js';

export const FEC_SCHEMES: ReadonlyMap<FecEncodingId, FecScheme> = new Map<FecEncodingId, FecScheme>([
  [0, noCode],
  [3, ldpcStaircase],
]);
