// One LDPC-Staircase code (RFC 5170 §6.2): the parity-check matrix H of a block, shared by the
// native decoder and encoder. The left side comes from BuildLeft (fec_matrix.cc, the port of
// matrix.ts); the staircase right side is implicit: row r holds repair ESIs k+r and (r >= 1) k+r-1.
#pragma once
#include <cstdint>
#include <memory>

#include "fec_matrix.h"

namespace fcast {

struct LdpcCode {
  uint32_t k = 0;
  uint32_t n = 0;
  uint32_t n1 = 0;
  uint32_t seed = 0;
  // n - k: one parity equation per repair symbol.
  uint32_t rows = 0;
  // Most equations any column is in (N1 plus row fix-ups; 2 for repair columns).
  int32_t max_degree = 2;
  LdpcLeft left;
};

// Limits the Node-API layer enforces before building (RFC 5170 §4.2: n <= 2^20).
constexpr uint32_t kMaxCodeN = 1u << 20;
constexpr uint32_t kMaxCodeN1 = 64;

// Preconditions (checked by the caller): 1 <= k <= n <= kMaxCodeN, 1 <= seed <= 2^31 - 2 and, when
// n > k, 1 <= n1 <= min(n - k, kMaxCodeN1). A code with n = k has no equations.
std::shared_ptr<const LdpcCode> BuildCode(uint32_t k, uint32_t n, uint32_t n1, uint32_t seed);

}  // namespace fcast
