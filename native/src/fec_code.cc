// See fec_code.h and fec_encoder.h.
#include "fec_code.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "fec_encoder.h"
#include "fec_program.h"

namespace fcast {

std::shared_ptr<const LdpcCode> BuildCode(uint32_t k, uint32_t n, uint32_t n1, uint32_t seed) {
  auto code = std::make_shared<LdpcCode>();
  code->k = k;
  code->n = n;
  code->n1 = n1;
  code->seed = seed;
  code->rows = n - k;
  if (n > k) {
    BuildLeft(k, n, n1, seed, &code->left);
  } else {
    // No equations: empty row view, all-zero column starts (matrix.ts does the same).
    code->left.row_start.assign(1, 0);
    code->left.col_start.assign(k + 1, 0);
  }
  for (uint32_t c = 0; c < k; c++) code->max_degree = std::max(code->max_degree, code->left.col_start[c + 1] - code->left.col_start[c]);
  return code;
}

void EncodeRepair(const LdpcCode& code, size_t symbol_size, const uint8_t* source, uint64_t source_len, uint8_t* repair) {
  const uint32_t k = code.k;
  const size_t e = symbol_size;
  // The short last symbol of an object is coded zero-padded to E.
  const size_t last_len = static_cast<size_t>(source_len - static_cast<uint64_t>(k - 1) * e);
  std::vector<uint8_t> pad;
  if (last_len < e) {
    pad.assign(e, 0);
    std::memcpy(pad.data(), source + static_cast<size_t>(k - 1) * e, last_len);
  }
  std::vector<const uint8_t*> src;
  const int32_t* row_start = code.left.row_start.data();
  const int32_t* row_cols = code.left.row_cols.data();
  for (uint32_t r = 0; r < code.rows; r++) {
    src.clear();
    for (int32_t x = row_start[r]; x < row_start[r + 1]; x++) {
      const uint32_t c = static_cast<uint32_t>(row_cols[x]);
      src.push_back(c == k - 1 && !pad.empty() ? pad.data() : source + static_cast<size_t>(c) * e);
    }
    if (r > 0) src.push_back(repair + static_cast<size_t>(r - 1) * e);
    XorSources(repair + static_cast<size_t>(r) * e, src.data(), src.size(), e, true);
  }
}

}  // namespace fcast
