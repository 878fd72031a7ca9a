// Gauss-Jordan over GF(2) for the ML dense core (see fec_dense.h). The 32-bit rows of the
// TypeScript contract are widened to 64-bit words (little-endian: word pair (a, b) is a | b << 32,
// so bit c stays bit c); each row operation XORs from the pivot's word to the end of the row.
#include "fec_dense.h"

#include <cstring>

namespace fcast {
namespace {

// Row XOR, the inner loop: cloned for AVX2 and chosen by the loader on CPUs that have it.
__attribute__((target_clones("avx2", "default"))) void XorRow(uint64_t* dst, const uint64_t* src, size_t words) {
  for (size_t i = 0; i < words; i++) dst[i] ^= src[i];
}

}  // namespace

size_t SolveDense(uint32_t* matrix, size_t rows, size_t cols, int32_t* row_of_col, std::vector<uint32_t>* ops) {
  const size_t w32 = (cols + 31) / 32;
  const size_t w = (cols + 63) / 64;
  std::vector<uint64_t> m(rows * w, 0);
  for (size_t r = 0; r < rows; r++) {
    uint64_t* row = m.data() + r * w;
    const uint32_t* in = matrix + r * w32;
    for (size_t x = 0; x < w32; x++) row[x >> 1] |= static_cast<uint64_t>(in[x]) << ((x & 1) * 32);
  }
  std::vector<uint8_t> is_pivot(rows, 0);
  for (size_t c = 0; c < cols; c++) row_of_col[c] = -1;
  ops->clear();
  size_t rank = 0;
  for (size_t c = 0; c < cols; c++) {
    const size_t word = c >> 6;
    const uint64_t bit = uint64_t{1} << (c & 63);
    size_t pivot = rows;
    for (size_t r = 0; r < rows; r++) {
      if (!is_pivot[r] && (m[r * w + word] & bit)) {
        pivot = r;
        break;
      }
    }
    if (pivot == rows) continue;
    is_pivot[pivot] = 1;
    row_of_col[c] = static_cast<int32_t>(pivot);
    rank++;
    const uint64_t* p = m.data() + pivot * w + word;
    // Same order as dense.ts: every other row holding bit c, ascending.
    for (size_t r = 0; r < rows; r++) {
      uint64_t* row = m.data() + r * w;
      if (r == pivot || !(row[word] & bit)) continue;
      XorRow(row + word, p, w - word);
      ops->push_back(static_cast<uint32_t>(r));
      ops->push_back(static_cast<uint32_t>(pivot));
    }
  }
  for (size_t r = 0; r < rows; r++) {
    const uint64_t* row = m.data() + r * w;
    uint32_t* out = matrix + r * w32;
    for (size_t x = 0; x < w32; x++) out[x] = static_cast<uint32_t>(row[x >> 1] >> ((x & 1) * 32));
  }
  if (rank < cols) {
    ops->clear();
    return rank;
  }
  // Operations into rows that never became pivots do not affect the solution.
  size_t kept = 0;
  for (size_t i = 0; i < ops->size(); i += 2) {
    if (is_pivot[(*ops)[i]]) {
      (*ops)[kept++] = (*ops)[i];
      (*ops)[kept++] = (*ops)[i + 1];
    }
  }
  ops->resize(kept);
  return rank;
}

}  // namespace fcast
