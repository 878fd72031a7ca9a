// RFC 5170 §6.3 LDPC-Staircase encoding, native: repair ESI k+r = XOR of row r's source symbols,
// XOR repair ESI k+r-1 when r >= 1, in ESI order (each repair symbol needs the previous one).
// Source symbols are read where they are (no copy into an arena); codecs/ldpc-staircase/encoder.ts
// is the reference.
#pragma once
#include <cstddef>
#include <cstdint>

#include "fec_code.h"

namespace fcast {

// source: the block's source_len bytes, (k-1)*E < source_len <= k*E (a short last symbol is coded
// zero-padded); repair: (n-k)*E bytes, fully written. Preconditions checked by the caller.
void EncodeRepair(const LdpcCode& code, size_t symbol_size, const uint8_t* source, uint64_t source_len, uint8_t* repair);

}  // namespace fcast
