// Symbol XOR kernels: the inner loop of every GF(2) FEC operation.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fcast {
// dst ^= src over len bytes. Buffers may have any alignment; they must not overlap partially.
void XorInto(uint8_t* dst, const uint8_t* src, size_t len);
// Name of the widest vector path compiled in and usable on this CPU (for `fcast doctor`).
const char* XorPath();
}  // namespace fcast
