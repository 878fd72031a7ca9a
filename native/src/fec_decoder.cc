// See fec_decoder.h. Learn, EmitSolve and MaybeMl mirror decoder.ts step for step.
#include "fec_decoder.h"

#include <cstring>
#include <new>
#include <utility>

#include "fec_program.h"

namespace fcast {
namespace {

// Release a vector's memory now (clear() keeps the capacity).
template <typename T>
void Free(std::vector<T>* v) {
  std::vector<T>().swap(*v);
}

}  // namespace

LdpcDecoderCore::LdpcDecoderCore(std::shared_ptr<const LdpcCode> code, uint32_t symbol_size, uint64_t block_length,
                                 bool iterative_only, uint8_t* out, uint8_t* repair)
    : code_(std::move(code)),
      e_(symbol_size),
      iterative_only_(iterative_only),
      out_(out),
      last_len_(static_cast<size_t>(block_length - static_cast<uint64_t>(code_->k - 1) * symbol_size)) {
  const LdpcCode& c = *code_;
  // Uninitialised on purpose: every repair slot is written (copied in, or by a set record) before
  // it is read.
  const size_t repair_bytes = static_cast<size_t>(c.n - c.k) * e_;
  if (repair != nullptr || c.n == c.k) {
    repair_ = repair;
  } else {
    owned_repair_.reset(new (std::nothrow) uint8_t[repair_bytes]);
    repair_ = owned_repair_.get();
  }
  if (last_len_ < e_) pad_.assign(e_, 0);
  seen_.assign(c.n, 0);
  known_.assign(c.n, 0);
  queue_.resize(c.n);
  count_.resize(c.rows);
  acc_.resize(c.rows);
  const int32_t* row_start = c.left.row_start.data();
  const int32_t* row_cols = c.left.row_cols.data();
  for (uint32_t r = 0; r < c.rows; r++) {
    int32_t a = static_cast<int32_t>(c.k + r);
    for (int32_t x = row_start[r]; x < row_start[r + 1]; x++) a ^= row_cols[x];
    if (r > 0) a ^= static_cast<int32_t>(c.k + r - 1);
    acc_[r] = a;
    count_[r] = row_start[r + 1] - row_start[r] + (r > 0 ? 2 : 1);
  }
  live_rows_ = c.rows;
  held_ = (owned_repair_ != nullptr ? repair_bytes : 0) + pad_.size() + 2 * static_cast<size_t>(c.n) + 4 * static_cast<size_t>(c.n) +
          8 * static_cast<size_t>(c.rows);
}

uint8_t* LdpcDecoderCore::Sym(uint32_t j) {
  const uint32_t k = code_->k;
  if (j < k) return j == k - 1 && !pad_.empty() ? pad_.data() : out_ + static_cast<size_t>(j) * e_;
  if (j < code_->n) return repair_ + static_cast<size_t>(j - k) * e_;
  return scratch_.data() + static_cast<size_t>(j - code_->n) * e_;
}

bool LdpcDecoderCore::Push(uint32_t esi, const uint8_t* symbol, size_t len) {
  if (seen_[esi] != 0) return false;
  seen_[esi] = 1;
  received_++;
  if (done_ || known_[esi] != 0) return false;
  const uint32_t k = code_->k;
  // Only the object's bytes of the short last symbol: its padding must stay zero, or it would
  // leak into the symbols recovered through it.
  // memmove: a caller may hand in a view that overlaps its own slot.
  std::memmove(Sym(esi), symbol, esi == k - 1 ? last_len_ : (len < e_ ? len : e_));
  Learn(esi);
  if (known_source_ == k) Complete();
  else if (!iterative_only_) MaybeMl(esi);
  return true;
}

void LdpcDecoderCore::SetKnown(uint32_t c) {
  known_[c] = 1;
  known_total_++;
  if (c < code_->k) known_source_++;
}

void LdpcDecoderCore::Learn(uint32_t c0) {
  const LdpcCode& m = *code_;
  const uint32_t k = m.k;
  const int32_t* col_start = m.left.col_start.data();
  const int32_t* col_rows = m.left.col_rows.data();
  SetKnown(c0);
  queue_[0] = c0;
  size_t head = 0;
  size_t tail = 1;
  while (head < tail) {
    const uint32_t c = queue_[head++];
    // Rows of c: its left-side rows for a source column, rows c-k and c-k+1 for a repair one.
    const bool src = c < k;
    const uint32_t end = src ? static_cast<uint32_t>(col_start[c + 1]) : (c - k + 2 < m.rows ? c - k + 2 : m.rows);
    for (uint32_t x = src ? static_cast<uint32_t>(col_start[c]) : c - k; x < end; x++) {
      const uint32_t r = src ? static_cast<uint32_t>(col_rows[x]) : x;
      const int32_t left = --count_[r];
      acc_[r] ^= static_cast<int32_t>(c);
      if (left == 0) {
        live_rows_--;
      } else if (left == 1) {
        // The last unknown may already be solved and waiting in the queue.
        const uint32_t u = static_cast<uint32_t>(acc_[r]);
        if (known_[u] != 0) continue;
        EmitSolve(r, u);
        SetKnown(u);
        queue_[tail++] = u;
      }
    }
  }
}

void LdpcDecoderCore::EmitSolve(uint32_t r, uint32_t u) {
  const LdpcCode& m = *code_;
  const size_t head = prog_.size();
  prog_.push_back(u | kRecordSet);
  prog_.push_back(0);
  for (int32_t x = m.left.row_start[r]; x < m.left.row_start[r + 1]; x++) {
    const uint32_t c = static_cast<uint32_t>(m.left.row_cols[x]);
    if (c != u) prog_.push_back(c);
  }
  if (m.k + r != u) prog_.push_back(m.k + r);
  if (r > 0 && m.k + r - 1 != u) prog_.push_back(m.k + r - 1);
  prog_[head + 1] = static_cast<uint32_t>(prog_.size() - head - 2);
}

bool LdpcDecoderCore::RaisesRank(uint32_t esi) {
  // Column esi leaves the unknowns: the solutions where it is 0 remain. One basis solution with
  // it set is dropped, after being added to the others with it set.
  const uint64_t m = null_bits_[esi];
  if (m == 0) return false;
  const uint64_t low = m & (~m + 1);
  for (uint32_t c : null_.cols) {
    if ((null_bits_[c] & low) != 0) null_bits_[c] ^= m;
  }
  null_.dim--;
  return true;
}

void LdpcDecoderCore::MaybeMl(uint32_t esi) {
  if (null_.dim > 0) {
    if (!RaisesRank(esi) || null_.dim > 0) return;
    Free(&null_bits_);
    ml_wait_ = 0;
  }
  if (ml_wait_ > 0) ml_wait_--;
  if (ml_wait_ > 0) return;
  const uint32_t unknowns = code_->n - known_total_;
  if (unknowns > live_rows_) {
    ml_wait_ = unknowns - live_rows_;
    return;
  }
  uint32_t scratch = 0;
  const uint32_t shortfall = ml_.Solve(*code_, known_.data(), count_.data(), acc_.data(), &prog_, &scratch, &null_);
  if (shortfall > 0) {
    ml_wait_ = shortfall;
    if (null_.dim > 0) {
      null_bits_.assign(code_->n, 0);
      for (size_t i = 0; i < null_.cols.size(); i++) null_bits_[null_.cols[i]] = null_.bits[i];
    }
    return;
  }
  scratch_symbols_ = scratch;
  for (uint32_t c = 0; c < code_->n; c++) {
    if (known_[c] == 0) SetKnown(c);
  }
  Complete();
}

void LdpcDecoderCore::Complete() {
  done_ = true;
  RunDeferred();
  if (!pad_.empty()) std::memcpy(out_ + static_cast<size_t>(code_->k - 1) * e_, pad_.data(), last_len_);
  // The block is in `out_`: everything else goes now, not when the GC finalises this object.
  repair_ = nullptr;
  owned_repair_.reset();
  Free(&pad_);
  Free(&scratch_);
  Free(&known_);
  Free(&count_);
  Free(&acc_);
  Free(&queue_);
  Free(&prog_);
  Free(&null_bits_);
  null_ = NullSpace();
  ml_ = MlSolver();
  held_ = seen_.size();
}

void LdpcDecoderCore::RunDeferred() {
  const uint32_t n = code_->n;
  scratch_.resize(static_cast<size_t>(scratch_symbols_) * e_);
  std::vector<uint32_t> starts;
  for (size_t pos = 0; pos < prog_.size(); pos += 2 + prog_[pos + 1]) starts.push_back(static_cast<uint32_t>(pos));
  // Backward pass: keep a record only if its result is read by a kept record after it, or is a
  // source symbol's final value. A set record ends the need for its dst's earlier value.
  std::vector<uint8_t> needed(static_cast<size_t>(n) + scratch_symbols_, 0);
  std::memset(needed.data(), 1, code_->k);
  std::vector<uint8_t> keep(starts.size(), 0);
  size_t widest = 0;
  for (size_t i = starts.size(); i-- > 0;) {
    const uint32_t* rec = prog_.data() + starts[i];
    const uint32_t dst = rec[0] & kRecordIndex;
    if (needed[dst] == 0) continue;
    keep[i] = 1;
    if ((rec[0] & kRecordSet) != 0) needed[dst] = 0;
    for (uint32_t j = 0; j < rec[1]; j++) needed[rec[2 + j]] = 1;
    if (rec[1] > widest) widest = rec[1];
  }
  std::vector<const uint8_t*> src(widest > 0 ? widest : 1);
  // Every symbol's address once (Sym branches), not once per read.
  std::vector<uint8_t*> at(needed.size());
  for (uint32_t j = 0; j < at.size(); j++) at[j] = Sym(j);
  size_t kept = 0;
  for (size_t i = 0; i < starts.size(); i++) {
    if (keep[i] != 0) starts[kept++] = starts[i];
  }
  for (size_t i = 0; i < kept; i++) {
    const uint32_t* rec = prog_.data() + starts[i];
    const uint32_t m = rec[1];
    if (i + 1 < kept) {
      // Symbols are read in record order, scattered over a block larger than L2: start fetching
      // the next record's sources while this one runs.
      const uint32_t* next = prog_.data() + starts[i + 1];
      for (uint32_t j = 0; j < next[1]; j++) __builtin_prefetch(at[next[2 + j]]);
    }
    for (uint32_t j = 0; j < m; j++) src[j] = at[rec[2 + j]];
    XorSources(at[rec[0] & kRecordIndex], src.data(), m, e_, (rec[0] & kRecordSet) != 0);
  }
}

void LdpcDecoderCore::KnownBitmap(uint8_t* bits) const {
  const uint32_t k = code_->k;
  std::memset(bits, 0, (k + 7) / 8);
  for (uint32_t i = 0; i < k; i++) {
    if (done_ || known_[i] != 0) bits[i >> 3] = static_cast<uint8_t>(bits[i >> 3] | (1u << (i & 7)));
  }
}

}  // namespace fcast
