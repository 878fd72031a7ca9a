// The symbol half of LDPC-Staircase encoding and decoding (RFC 5170 §6.3, §7): fused multi-source
// XOR, used by the native code (fec_code.cc) and decoder (fec_decoder.cc) for their records.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fcast {

// One fused record over explicit symbol pointers (the native decoder keeps source and repair
// symbols in separate buffers): dst = src[0] ^ ... ^ src[m-1] when `set` (dst is not read, so it
// may hold stale bytes; m = 0 zeroes it), else dst ^= them. dst must not be among the sources.
void XorSources(uint8_t* dst, const uint8_t* const* src, size_t m, size_t len, bool set);

}  // namespace fcast
