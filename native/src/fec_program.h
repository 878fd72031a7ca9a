// Symbol programs: the symbol half of every LDPC-Staircase operation (RFC 5170 §6.3 encoding,
// §7 decoding). TypeScript decides which symbols to XOR; this file does the XOR.
//
// A program is a list of records [dst, m, src_1 .. src_m] over a block arena (symbol j at bytes
// [j*E, (j+1)*E)), each meaning arena[dst] ^= arena[src_1] ^ ... ^ arena[src_m]. Records run in
// order, so a later record sees the results of earlier ones.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fcast {

// Why a program was refused; kOk when every record is in range.
enum class ProgramFault { kOk, kTruncated, kIndex, kSelf };

struct ProgramCheck {
  ProgramFault fault;
  // Word offset of the faulty record.
  size_t at;
};

// Checks every record before anything runs, so a bad program changes nothing: records fit in
// `length` words, indices are < `symbols`, and no record names its own dst as a source (a fused
// pass reads dst once; XOR with itself would be ill-defined between the fused and serial paths).
ProgramCheck CheckProgram(const uint32_t* program, size_t length, size_t symbols);

// Runs a checked program. Multi-source records are fused: each E-byte run of dst is loaded once,
// XORed with all m sources in registers and stored once (AVX2 / SSE2 chosen at run time).
void RunProgram(uint8_t* arena, size_t symbol_size, const uint32_t* program, size_t length);

// One fused record over explicit symbol pointers (the native decoder keeps source and repair
// symbols in separate buffers): dst = src[0] ^ ... ^ src[m-1] when `set` (dst is not read, so it
// may hold stale bytes; m = 0 zeroes it), else dst ^= them. dst must not be among the sources.
void XorSources(uint8_t* dst, const uint8_t* const* src, size_t m, size_t len, bool set);

}  // namespace fcast
