// RFC 5170 §6.2 left side of the LDPC-Staircase parity-check matrix: a port of
// codecs/ldpc-staircase/matrix.ts `buildMatrix` (same PRNG draws in the same order, §5.7 scaling
// in IEEE double precision), giving the same entries. matrix.ts stays the reference.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fcast {

struct LdpcLeft {
  std::vector<int32_t> row_start, row_cols, col_start, col_rows;
  uint32_t fallback_placements = 0;
  uint32_t rowfix_added = 0;
};

// Preconditions (checked by the caller): k >= 1, n > k, 1 <= n1 <= n - k, 1 <= seed <= 2^31 - 2.
void BuildLeft(uint32_t k, uint32_t n, uint32_t n1, uint32_t seed, LdpcLeft* out);

}  // namespace fcast
