// See fec_ml.h. Eliminate, LightestRow and HeaviestActive mirror ml.ts step for step, so both
// decoders pick the same pivots and inactivate the same unknowns; the symbol records differ.
#include "fec_ml.h"

#include "fec_dense.h"

namespace fcast {
namespace {

constexpr uint8_t kKnown = 0;
constexpr uint8_t kActive = 1;
constexpr uint8_t kPivot = 2;
constexpr uint8_t kInactive = 3;
constexpr uint32_t kNone = 0xffffffffu;

// Row r's columns: its left-side (source) columns, then the staircase columns k+r and k+r-1.
template <typename F>
inline void ForEachColumn(const LdpcCode& code, uint32_t r, F f) {
  const int32_t* cols = code.left.row_cols.data();
  for (int32_t x = code.left.row_start[r]; x < code.left.row_start[r + 1]; x++) f(static_cast<uint32_t>(cols[x]));
  f(code.k + r);
  if (r > 0) f(code.k + r - 1);
}

// Column c's rows: its left-side rows for a source column, rows c-k and c-k+1 for a repair one.
template <typename F>
inline void ForEachRow(const LdpcCode& code, uint32_t c, F f) {
  if (c < code.k) {
    const int32_t* rows = code.left.col_rows.data();
    for (int32_t x = code.left.col_start[c]; x < code.left.col_start[c + 1]; x++) f(static_cast<uint32_t>(rows[x]));
    return;
  }
  const uint32_t r = c - code.k;
  f(r);
  if (r + 1 < code.rows) f(r + 1);
}

inline uint32_t Popcount(const uint64_t* v, size_t words) {
  uint32_t total = 0;
  for (size_t x = 0; x < words; x++) total += static_cast<uint32_t>(__builtin_popcountll(v[x]));
  return total;
}

template <typename T>
size_t Bytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

}  // namespace

size_t MlSolver::Capacity() const {
  return Bytes(mark_) + Bytes(count_) + Bytes(acc_) + Bytes(used_) + Bytes(pivot_col_) + Bytes(pivot_row_) + Bytes(pivot_index_) +
         Bytes(inact_col_) + Bytes(inact_index_) + Bytes(ones_) + Bytes(leftover_) + Bytes(d2_) + Bytes(next_) + Bytes(prev_) +
         Bytes(head_) + Bytes(pivot_bits_) + Bytes(dense_) + Bytes(row_of_col_) + Bytes(ops_) + Bytes(slot_of_row_) + Bytes(combo_);
}

uint32_t MlSolver::Eliminate(const LdpcCode& code, const uint8_t* known, const int32_t* count, const int32_t* acc) {
  const uint32_t n = code.n;
  const uint32_t rows = code.rows;
  mark_.assign(n, kKnown);
  uint32_t unknowns = 0;
  for (uint32_t c = 0; c < n; c++) {
    if (known[c] == 0) {
      mark_[c] = kActive;
      unknowns++;
    }
  }
  count_.assign(count, count + rows);
  acc_.assign(acc, acc + rows);
  uint32_t live = 0;
  for (uint32_t r = 0; r < rows; r++) live += count_[r] > 0 ? 1 : 0;
  if (live < unknowns) return unknowns - live;

  used_.assign(rows, 0);
  pivot_col_.resize(unknowns);
  pivot_row_.resize(unknowns);
  pivot_index_.resize(n);
  inact_col_.resize(unknowns);
  inact_index_.resize(n);
  np_ = 0;
  ni_ = 0;
  // Rows that reached one active unknown (to pivot; a row enters at most once, since its count
  // only falls); unknowns by their two-unknown rows.
  ones_.resize(rows);
  size_t n_ones = 0;
  d2_.assign(n, 0);
  next_.resize(n);
  prev_.resize(n);
  head_.assign(static_cast<size_t>(code.max_degree) + 1, -1);
  top_ = 0;
  for (uint32_t r = 0; r < rows; r++) {
    if (count_[r] == 2) PairAddRow(code, r);
  }
  uint32_t active = unknowns;
  uint32_t victim = kNone;
  while (active > 0) {
    if (victim == kNone) {
      // Stalled: inactivate the unknown in most two-unknown equations, so they all peel; with
      // none left, an unknown of an equation with the fewest unknowns.
      const int32_t best = PairMax();
      if (best >= 0) {
        victim = static_cast<uint32_t>(best);
      } else {
        const int32_t row = LightestRow();
        if (row < 0) return active;
        victim = HeaviestActive(code, static_cast<uint32_t>(row));
        if (victim == kNone) return active;
      }
      if (ni_ == kMaxInactive) return kMaxInactive >> 4;
      mark_[victim] = kInactive;
      inact_index_[victim] = ni_;
      inact_col_[ni_++] = victim;
    } else {
      mark_[victim] = kPivot;
      pivot_index_[victim] = np_;
      pivot_col_[np_++] = victim;
    }
    PairRemove(victim);
    active--;
    // Remove the victim from the active unknowns of every unused row containing it.
    const uint32_t c = victim;
    ForEachRow(code, c, [&](uint32_t r) {
      if (used_[r] != 0) return;
      const int32_t left = --count_[r];
      acc_[r] ^= static_cast<int32_t>(c);
      if (left == 1) {
        ones_[n_ones++] = r;
        // The row's other unknown leaves its two-unknown rows.
        const uint32_t u = static_cast<uint32_t>(acc_[r]);
        if (u < n) PairChange(u, -1);
      } else if (left == 2) {
        PairAddRow(code, r);
      }
    });
    victim = kNone;
    while (n_ones > 0) {
      const uint32_t r = ones_[--n_ones];
      if (used_[r] != 0 || count_[r] != 1) continue;
      const uint32_t u = static_cast<uint32_t>(acc_[r]);
      // The row's last active unknown; a value outside the block would mean corrupt bookkeeping.
      if (u >= n || mark_[u] != kActive) return active;
      used_[r] = 1;
      pivot_row_[np_] = r;
      victim = u;
      break;
    }
  }
  leftover_.clear();
  for (uint32_t r = 0; r < rows; r++) {
    if (used_[r] == 0 && count[r] > 0) leftover_.push_back(r);
  }
  return 0;
}

void MlSolver::PairAddRow(const LdpcCode& code, uint32_t r) {
  ForEachColumn(code, r, [&](uint32_t c) {
    if (mark_[c] == kActive) PairChange(c, 1);
  });
}

void MlSolver::PairChange(uint32_t c, int32_t delta) {
  const int32_t v = d2_[c];
  if (v > 0 && v < static_cast<int32_t>(head_.size())) PairUnlink(c, v);
  d2_[c] = v + delta;
  // A column sits in at most max_degree rows; anything else is corrupt bookkeeping, kept out of head_.
  if (v + delta > 0 && v + delta < static_cast<int32_t>(head_.size())) PairLink(c, v + delta);
}

void MlSolver::PairRemove(uint32_t c) {
  const int32_t v = d2_[c];
  if (v > 0 && v < static_cast<int32_t>(head_.size())) PairUnlink(c, v);
  d2_[c] = 0;
}

int32_t MlSolver::PairMax() {
  while (top_ > 0 && head_[top_] < 0) top_--;
  return top_ > 0 ? head_[top_] : -1;
}

void MlSolver::PairLink(uint32_t c, int32_t v) {
  const int32_t h = head_[v];
  next_[c] = h;
  prev_[c] = -1;
  if (h >= 0) prev_[h] = static_cast<int32_t>(c);
  head_[v] = static_cast<int32_t>(c);
  if (v > top_) top_ = v;
}

void MlSolver::PairUnlink(uint32_t c, int32_t v) {
  const int32_t a = prev_[c];
  const int32_t b = next_[c];
  if (a >= 0) next_[a] = b;
  else head_[v] = b;
  if (b >= 0) prev_[b] = a;
}

int32_t MlSolver::LightestRow() const {
  int32_t best = -1;
  int32_t best_count = 0x7fffffff;
  for (size_t r = 0; r < count_.size(); r++) {
    const int32_t c = count_[r];
    if (used_[r] == 0 && c >= 2 && c < best_count) {
      best = static_cast<int32_t>(r);
      best_count = c;
    }
  }
  return best;
}

uint32_t MlSolver::HeaviestActive(const LdpcCode& code, uint32_t r) const {
  const uint32_t k = code.k;
  uint32_t best = kNone;
  int32_t best_deg = -1;
  const int32_t* col_start = code.left.col_start.data();
  for (int32_t x = code.left.row_start[r]; x < code.left.row_start[r + 1]; x++) {
    const uint32_t c = static_cast<uint32_t>(code.left.row_cols[x]);
    const int32_t deg = col_start[c + 1] - col_start[c];
    if (mark_[c] == kActive && deg > best_deg) {
      best = c;
      best_deg = deg;
    }
  }
  // Staircase columns: k+r (rows r, r+1) and k+r-1 (rows r-1, r).
  const int32_t stair_deg = r + 1 < code.rows ? 2 : 1;
  if (mark_[k + r] == kActive && stair_deg > best_deg) {
    best = k + r;
    best_deg = stair_deg;
  }
  if (r > 0 && mark_[k + r - 1] == kActive && 2 > best_deg) best = k + r - 1;
  return best;
}

void MlSolver::RowBits(const LdpcCode& code, uint32_t r, uint32_t self, uint64_t* target) const {
  const size_t w = (ni_ + 63) / 64;
  ForEachColumn(code, r, [&](uint32_t c) {
    if (c == self) return;
    const uint8_t mk = mark_[c];
    if (mk == kInactive) {
      const uint32_t i = inact_index_[c];
      target[i >> 6] ^= uint64_t{1} << (i & 63);
    } else if (mk == kPivot) {
      const uint64_t* from = pivot_bits_.data() + static_cast<size_t>(pivot_index_[c]) * w;
      for (size_t y = 0; y < w; y++) target[y] ^= from[y];
    }
  });
}

void MlSolver::NullSolutions(const LdpcCode& code, uint32_t rank, NullSpace* null) const {
  const uint32_t d = ni_ - rank;
  if (d > 64) return;
  // The dense rows again, fully reduced (SolveDense skips words left of each pivot, so its free
  // columns are not kept reduced): basis solution t sets free column f_t and each pivot column the
  // bit f_t of its row.
  const size_t w = (ni_ + 63) / 64;
  const size_t nl = leftover_.size();
  std::vector<uint64_t> a(nl * w, 0);
  for (size_t e = 0; e < nl; e++) RowBits(code, leftover_[e], kNone, a.data() + e * w);
  std::vector<int32_t> row_of_col(ni_, -1);
  std::vector<uint8_t> used(nl, 0);
  for (uint32_t c = 0; c < ni_; c++) {
    const size_t word = c >> 6;
    const uint64_t bit = uint64_t{1} << (c & 63);
    size_t p = 0;
    while (p < nl && (used[p] != 0 || (a[p * w + word] & bit) == 0)) p++;
    if (p == nl) continue;
    used[p] = 1;
    row_of_col[c] = static_cast<int32_t>(p);
    for (size_t r = 0; r < nl; r++) {
      if (r == p || (a[r * w + word] & bit) == 0) continue;
      for (size_t x = 0; x < w; x++) a[r * w + x] ^= a[p * w + x];
    }
  }
  std::vector<uint64_t> inact(ni_, 0);
  uint32_t t = 0;
  for (uint32_t f = 0; f < ni_; f++) {
    if (row_of_col[f] >= 0) continue;
    const uint64_t bit = uint64_t{1} << t++;
    inact[f] |= bit;
    for (uint32_t c = 0; c < ni_; c++) {
      const int32_t r = row_of_col[c];
      if (r >= 0 && ((a[static_cast<size_t>(r) * w + (f >> 6)] >> (f & 63)) & 1) != 0) inact[c] |= bit;
    }
  }
  null->cols.clear();
  null->bits.clear();
  for (uint32_t i = 0; i < ni_; i++) {
    if (inact[i] == 0) continue;
    null->cols.push_back(inact_col_[i]);
    null->bits.push_back(inact[i]);
  }
  // A pivot is its row's combination of inactivated unknowns (pivot_bits_), known columns being 0.
  for (uint32_t p = 0; p < np_; p++) {
    const uint64_t* bits = pivot_bits_.data() + static_cast<size_t>(p) * w;
    uint64_t v = 0;
    for (size_t y = 0; y < w; y++) {
      for (uint64_t b = bits[y]; b != 0; b &= b - 1) v ^= inact[y * 64 + __builtin_ctzll(b)];
    }
    if (v == 0) continue;
    null->cols.push_back(pivot_col_[p]);
    null->bits.push_back(v);
  }
  null->dim = d;
}

void MlSolver::EmitRow(const LdpcCode& code, uint32_t r, uint32_t dst, bool with_inactive, bool set, std::vector<uint32_t>* prog) const {
  const size_t head = prog->size();
  prog->push_back(dst | (set ? kRecordSet : 0));
  prog->push_back(0);
  ForEachColumn(code, r, [&](uint32_t c) {
    if (c == dst || (!with_inactive && mark_[c] == kInactive)) return;
    prog->push_back(c);
  });
  (*prog)[head + 1] = static_cast<uint32_t>(prog->size() - head - 2);
}

uint32_t MlSolver::Solve(const LdpcCode& code, const uint8_t* known, const int32_t* count, const int32_t* acc,
                         std::vector<uint32_t>* prog, uint32_t* scratch, NullSpace* null) {
  null->dim = 0;
  const uint32_t short_by = Eliminate(code, known, count, acc);
  if (short_by > 0) return short_by;
  const uint32_t nl = static_cast<uint32_t>(leftover_.size());
  if (nl < ni_) return ni_ - nl;
  const size_t w = (ni_ + 63) / 64;

  // Each pivot as a combination of inactivated unknowns (its earlier pivots substituted).
  pivot_bits_.assign(static_cast<size_t>(np_) * w, 0);
  for (uint32_t i = 0; i < np_; i++) RowBits(code, pivot_row_[i], pivot_col_[i], pivot_bits_.data() + i * w);

  if (ni_ > 0) {
    // The dense system: every leftover equation over the inactivated unknowns (dense.ts layout).
    const size_t w32 = (ni_ + 31) / 32;
    dense_.assign(static_cast<size_t>(nl) * w32, 0);
    std::vector<uint64_t> bits(w);
    for (uint32_t e = 0; e < nl; e++) {
      bits.assign(w, 0);
      RowBits(code, leftover_[e], kNone, bits.data());
      uint32_t* out = dense_.data() + static_cast<size_t>(e) * w32;
      for (size_t x = 0; x < w32; x++) out[x] = static_cast<uint32_t>(bits[x >> 1] >> ((x & 1) * 32));
    }
    row_of_col_.resize(ni_);
    const size_t rank = SolveDense(dense_.data(), nl, ni_, row_of_col_.data(), &ops_);
    if (rank < ni_) {
      NullSolutions(code, static_cast<uint32_t>(rank), null);
      return ni_ - static_cast<uint32_t>(rank);
    }
    // Replay the row operations on the identity over the ni basis rows: combo i names the
    // right-hand sides whose XOR is inactivated unknown i.
    slot_of_row_.assign(nl, kNone);
    for (uint32_t i = 0; i < ni_; i++) slot_of_row_[static_cast<uint32_t>(row_of_col_[i])] = i;
    combo_.assign(static_cast<size_t>(ni_) * w, 0);
    for (uint32_t i = 0; i < ni_; i++) combo_[i * w + (i >> 6)] = uint64_t{1} << (i & 63);
    for (size_t x = 0; x + 1 < ops_.size(); x += 2) {
      const uint32_t d = slot_of_row_[ops_[x]];
      const uint32_t s = slot_of_row_[ops_[x + 1]];
      if (d == kNone || s == kNone) return 1;
      uint64_t* to = combo_.data() + static_cast<size_t>(d) * w;
      const uint64_t* from = combo_.data() + static_cast<size_t>(s) * w;
      for (size_t y = 0; y < w; y++) to[y] ^= from[y];
    }
  }

  const uint32_t n = code.n;
  // A: pivot constants.
  for (uint32_t i = 0; i < np_; i++) EmitRow(code, pivot_row_[i], pivot_col_[i], false, true, prog);
  // B: right-hand sides of the basis equations, into scratch symbols n .. n+ni-1.
  for (uint32_t j = 0; j < ni_; j++) EmitRow(code, leftover_[static_cast<uint32_t>(row_of_col_[j])], n + j, false, true, prog);
  // X: inactivated unknowns.
  for (uint32_t i = 0; i < ni_; i++) {
    const uint64_t* bits = combo_.data() + static_cast<size_t>(i) * w;
    prog->push_back(inact_col_[i] | kRecordSet);
    prog->push_back(Popcount(bits, w));
    for (size_t y = 0; y < w; y++) {
      for (uint64_t v = bits[y]; v != 0; v &= v - 1) prog->push_back(n + static_cast<uint32_t>(y * 64 + __builtin_ctzll(v)));
    }
  }
  // C: pivots that depend on inactivated unknowns, whichever way costs fewer symbol reads.
  const int32_t* row_start = code.left.row_start.data();
  for (uint32_t i = 0; i < np_; i++) {
    const uint64_t* bits = pivot_bits_.data() + static_cast<size_t>(i) * w;
    const uint32_t deps = Popcount(bits, w);
    if (deps == 0) continue;
    const uint32_t r = pivot_row_[i];
    const uint32_t others = static_cast<uint32_t>(row_start[r + 1] - row_start[r]) + (r > 0 ? 2 : 1) - 1;
    if (deps <= others) {
      prog->push_back(pivot_col_[i]);
      prog->push_back(deps);
      for (size_t y = 0; y < w; y++) {
        for (uint64_t v = bits[y]; v != 0; v &= v - 1) prog->push_back(inact_col_[y * 64 + __builtin_ctzll(v)]);
      }
    } else {
      EmitRow(code, r, pivot_col_[i], true, true, prog);
    }
  }
  *scratch = ni_;
  return 0;
}

}  // namespace fcast
