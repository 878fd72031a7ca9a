// See fec_matrix.h. Each step mirrors matrix.ts line for line so the two can be read side by side.
#include "fec_matrix.h"

#include <algorithm>

namespace fcast {
namespace {

// RFC 5170 §5.7: Park-Miller minimal standard, scaled to 0..maxv-1 with the RFC's double expression.
class ParkMiller {
 public:
  explicit ParkMiller(uint32_t seed) : state_(seed) {}
  uint32_t Rand(uint32_t maxv) {
    // x mod (2^31 - 1) by folding (2^31 = 1 modulo it): x < 2^46, so one subtraction at most.
    const uint64_t x = state_ * 16807ULL;
    state_ = (x & 0x7fffffffULL) + (x >> 31);
    if (state_ >= 2147483647ULL) state_ -= 2147483647ULL;
    return static_cast<uint32_t>(static_cast<double>(maxv) * static_cast<double>(state_) / 2147483647.0);
  }

 private:
  uint64_t state_;
};

// BuildLeft's temporaries, kept per thread between builds: a code is built per block (and per
// trial in `fcast fec bench`), and freshly allocated ones cost page faults (and glibc trims and
// regrows its heap around the larger ones) on every build. Kept only up to kKeepScratch bytes.
struct BuildScratch {
  std::vector<int32_t> col_entries, u, cap, row_buf, fill, col_fill;
  size_t Bytes() const {
    return 4 * (col_entries.capacity() + u.capacity() + cap.capacity() + row_buf.capacity() + fill.capacity() + col_fill.capacity());
  }
};
constexpr size_t kKeepScratch = size_t{8} << 20;
thread_local BuildScratch build_scratch;

bool InColumn(const int32_t* col, uint32_t placed, int32_t row) {
  for (uint32_t h = 0; h < placed; h++) {
    if (col[h] == row) return true;
  }
  return false;
}

}  // namespace

void BuildLeft(uint32_t k, uint32_t n, uint32_t n1, uint32_t seed, LdpcLeft* out) {
  const uint32_t rows = n - k;
  ParkMiller prng(seed);
  const size_t total = static_cast<size_t>(n1) * k;
  BuildScratch& scratch = build_scratch;
  // Every element is written before it is read (resize keeps stale values in the kept part).
  std::vector<int32_t>& col_entries = scratch.col_entries;
  col_entries.resize(total);
  std::vector<int32_t>& u = scratch.u;
  u.resize(total);
  // u[h] = h mod rows, counted (a division per entry cost a fifth of a k=1000 build).
  for (size_t h = 0, r = 0; h < total; h++) {
    u[h] = static_cast<int32_t>(r);
    if (++r == rows) r = 0;
  }

  size_t t = 0;
  uint32_t fallback = 0;
  for (uint32_t j = 0; j < k; j++) {
    int32_t* col = col_entries.data() + static_cast<size_t>(j) * n1;
    for (uint32_t h = 0; h < n1; h++) {
      size_t i = t;
      while (i < total && InColumn(col, h, u[i])) i++;
      int32_t row;
      if (i < total) {
        do {
          i = t + prng.Rand(static_cast<uint32_t>(total - t));
        } while (InColumn(col, h, u[i]));
        row = u[i];
        u[i] = u[t];
        t++;
      } else {
        fallback++;
        do {
          row = static_cast<int32_t>(prng.Rand(rows));
        } while (InColumn(col, h, row));
      }
      col[h] = row;
    }
  }

  // Row lists with room for the (at most two) fix-up entries per row.
  std::vector<int32_t>& cap = scratch.cap;
  cap.assign(rows + 1, 0);
  for (size_t x = 0; x < total; x++) cap[col_entries[x] + 1]++;
  for (uint32_t r = 0; r < rows; r++) cap[r + 1] += cap[r] + 2;
  std::vector<int32_t>& row_buf = scratch.row_buf;
  row_buf.resize(cap[rows]);
  std::vector<int32_t>& fill = scratch.fill;
  fill.assign(rows, 0);
  for (uint32_t j = 0; j < k; j++) {
    for (uint32_t h = 0; h < n1; h++) {
      const int32_t r = col_entries[static_cast<size_t>(j) * n1 + h];
      row_buf[cap[r] + fill[r]] = static_cast<int32_t>(j);
      fill[r]++;
    }
  }

  // Row fix-up (no row keeps fewer than two 1s); skipped for k = 1 as in matrix.ts.
  uint32_t rowfix = 0;
  for (uint32_t r = 0; r < rows; r++) {
    if (fill[r] == 0) {
      row_buf[cap[r]] = static_cast<int32_t>(prng.Rand(k));
      fill[r] = 1;
      rowfix++;
    }
    if (fill[r] == 1 && k > 1) {
      const int32_t existing = row_buf[cap[r]];
      int32_t c;
      do {
        c = static_cast<int32_t>(prng.Rand(k));
      } while (c == existing);
      row_buf[cap[r] + 1] = c;
      fill[r] = 2;
      rowfix++;
    }
  }

  // Compress: rows ascending by column, then the transposed (column) view.
  out->row_start.assign(rows + 1, 0);
  for (uint32_t r = 0; r < rows; r++) out->row_start[r + 1] = out->row_start[r] + fill[r];
  const size_t nnz = static_cast<size_t>(out->row_start[rows]);
  out->row_cols.resize(nnz);
  for (uint32_t r = 0; r < rows; r++) {
    int32_t* part = row_buf.data() + cap[r];
    std::sort(part, part + fill[r]);
    std::copy(part, part + fill[r], out->row_cols.data() + out->row_start[r]);
  }
  out->col_start.assign(k + 1, 0);
  for (size_t x = 0; x < nnz; x++) out->col_start[out->row_cols[x] + 1]++;
  for (uint32_t c = 0; c < k; c++) out->col_start[c + 1] += out->col_start[c];
  out->col_rows.resize(nnz);
  std::vector<int32_t>& col_fill = scratch.col_fill;
  col_fill.assign(out->col_start.begin(), out->col_start.end() - 1);
  for (uint32_t r = 0; r < rows; r++) {
    for (int32_t x = out->row_start[r]; x < out->row_start[r + 1]; x++) {
      out->col_rows[col_fill[out->row_cols[x]]++] = static_cast<int32_t>(r);
    }
  }
  out->fallback_placements = fallback;
  out->rowfix_added = rowfix;
  if (scratch.Bytes() > kKeepScratch) build_scratch = BuildScratch();
}

}  // namespace fcast
