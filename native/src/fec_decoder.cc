// See fec_decoder.h. Propagate, EmitSolve and MaybeMl mirror decoder.ts step for step.
#include "fec_decoder.h"

#include <cstring>
#include <new>
#include <utility>

#include "fec_program.h"

namespace fcast {
namespace {

template <typename T>
size_t Bytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

thread_local std::vector<std::unique_ptr<DecoderWork>> work_pool;

}  // namespace

size_t DecoderWork::Capacity() const {
  return Bytes(known) + Bytes(count) + Bytes(acc) + Bytes(queue) + Bytes(prog) + Bytes(scratch) + Bytes(null.cols) +
         Bytes(null.bits) + Bytes(null_bits) + Bytes(starts) + Bytes(needed) + Bytes(keep) + Bytes(at) + Bytes(src) + ml.Capacity();
}

std::unique_ptr<DecoderWork> TakeWork() {
  if (work_pool.empty()) return std::make_unique<DecoderWork>();
  std::unique_ptr<DecoderWork> w = std::move(work_pool.back());
  work_pool.pop_back();
  return w;
}

void GiveWork(std::unique_ptr<DecoderWork> work) {
  if (work == nullptr || work_pool.size() >= kWorkPool || work->Capacity() > kPooledWorkBytes) return;
  // Contents are stale; every user assigns before reading. Only the ML retry state must restart.
  work->prog.clear();
  work->null = NullSpace();
  work->null_bits.clear();
  work_pool.push_back(std::move(work));
}

LdpcDecoderCore::LdpcDecoderCore(std::shared_ptr<const LdpcCode> code, uint32_t symbol_size, uint64_t block_length,
                                 bool iterative_only, uint8_t* out, uint8_t* repair)
    : code_(std::move(code)),
      k_(code_->k),
      n_(code_->n),
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
  work_ = TakeWork();
  DecoderWork& w = *work_;
  w.known.assign(c.n, 0);
  w.queue.resize(c.n);
  w.count.resize(c.rows);
  w.acc.resize(c.rows);
  int32_t* count = w.count.data();
  int32_t* acc = w.acc.data();
  const int32_t* row_start = c.left.row_start.data();
  const int32_t* row_cols = c.left.row_cols.data();
  for (uint32_t r = 0; r < c.rows; r++) {
    int32_t a = static_cast<int32_t>(c.k + r);
    for (int32_t x = row_start[r]; x < row_start[r + 1]; x++) a ^= row_cols[x];
    if (r > 0) a ^= static_cast<int32_t>(c.k + r - 1);
    acc[r] = a;
    count[r] = row_start[r + 1] - row_start[r] + (r > 0 ? 2 : 1);
  }
  live_rows_ = c.rows;
  lazy_.reserve(c.k);
  held_ = (owned_repair_ != nullptr ? repair_bytes : 0) + pad_.size() + seen_.size() + lazy_.capacity() * sizeof(uint32_t) + w.Capacity();
}

LdpcDecoderCore::~LdpcDecoderCore() { GiveWork(std::move(work_)); }

uint8_t* LdpcDecoderCore::Sym(uint32_t j) {
  const uint32_t k = k_;
  if (j < k) return j == k - 1 && !pad_.empty() ? pad_.data() : out_ + static_cast<size_t>(j) * e_;
  if (j < n_) return repair_ + static_cast<size_t>(j - k) * e_;
  return work_->scratch.data() + static_cast<size_t>(j - n_) * e_;
}

bool LdpcDecoderCore::Push(uint32_t esi, const uint8_t* symbol, size_t len) {
  if (seen_[esi] != 0) return false;
  seen_[esi] = 1;
  received_++;
  if (done_ || work_->known[esi] != 0) return false;
  const uint32_t k = k_;
  // Only the object's bytes of the short last symbol: its padding must stay zero, or it would
  // leak into the symbols recovered through it.
  // memmove: a caller may hand in a view that overlaps its own slot.
  std::memmove(Sym(esi), symbol, esi == k - 1 ? last_len_ : (len < e_ ? len : e_));
  // In its slot until completion (all symbol work is deferred to it): HeldBitmap.
  seen_[esi] = 2;
  // Until the first repair symbol, peeling can recover nothing (every row keeps a repair unknown
  // and the staircase gives each missing source a free solution; ML neither): a source symbol is
  // only counted, and peeled once a repair symbol comes. A lossless block (every source symbol
  // first, as a push sends them) completes without any row bookkeeping. decoder.ts does the same.
  if (!peeling_ && esi < k) {
    SetKnown(esi);
    lazy_.push_back(esi);
    if (known_source_ == k) Complete();
    return true;
  }
  // Known before the held source symbols are peeled: peeling them could otherwise solve esi itself
  // (a staircase column whose rows have every other column known), and esi would then be learned
  // twice (its rows losing it twice: a row's last unknown, the XOR of what is left, becomes an
  // index past n) and recomputed by a record XORed into its slot over the received bytes.
  // decoder.ts alike.
  SetKnown(esi);
  StartPeeling();
  Propagate(esi);
  if (known_source_ == k) Complete();
  else if (!iterative_only_) MaybeMl(esi);
  return true;
}

void LdpcDecoderCore::SetKnown(uint32_t c) {
  work_->known[c] = 1;
  known_total_++;
  if (c < k_) known_source_++;
}

void LdpcDecoderCore::StartPeeling() {
  if (peeling_) return;
  peeling_ = true;
  for (uint32_t c : lazy_) Propagate(c);
  std::vector<uint32_t>().swap(lazy_);
}

// Column c0 (known) leaves its rows; a row left with one unknown solves it, and so on.
void LdpcDecoderCore::Propagate(uint32_t c0) {
  const LdpcCode& m = *code_;
  const uint32_t k = m.k;
  const int32_t* col_start = m.left.col_start.data();
  const int32_t* col_rows = m.left.col_rows.data();
  DecoderWork& w = *work_;
  int32_t* count = w.count.data();
  int32_t* acc = w.acc.data();
  const uint8_t* known = w.known.data();
  uint32_t* queue = w.queue.data();
  queue[0] = c0;
  size_t head = 0;
  size_t tail = 1;
  while (head < tail) {
    const uint32_t c = queue[head++];
    // Rows of c: its left-side rows for a source column, rows c-k and c-k+1 for a repair one.
    const bool src = c < k;
    const uint32_t end = src ? static_cast<uint32_t>(col_start[c + 1]) : (c - k + 2 < m.rows ? c - k + 2 : m.rows);
    for (uint32_t x = src ? static_cast<uint32_t>(col_start[c]) : c - k; x < end; x++) {
      const uint32_t r = src ? static_cast<uint32_t>(col_rows[x]) : x;
      const int32_t left = --count[r];
      acc[r] ^= static_cast<int32_t>(c);
      if (left == 0) {
        live_rows_--;
      } else if (left == 1) {
        // The last unknown may already be solved and waiting in the queue.
        const uint32_t u = static_cast<uint32_t>(acc[r]);
        if (known[u] != 0) continue;
        EmitSolve(r, u);
        SetKnown(u);
        queue[tail++] = u;
      }
    }
  }
}

void LdpcDecoderCore::EmitSolve(uint32_t r, uint32_t u) {
  const LdpcCode& m = *code_;
  std::vector<uint32_t>& prog = work_->prog;
  const int32_t from = m.left.row_start[r];
  const int32_t to = m.left.row_start[r + 1];
  // Room for the whole record at once: dst, length, the row's other columns (at most all its
  // left-side ones plus two staircase ones).
  const size_t head = prog.size();
  prog.resize(head + 2 + static_cast<size_t>(to - from) + 2);
  uint32_t* rec = prog.data() + head;
  size_t len = 0;
  rec[0] = u | kRecordSet;
  for (int32_t x = from; x < to; x++) {
    const uint32_t c = static_cast<uint32_t>(m.left.row_cols[x]);
    if (c != u) rec[2 + len++] = c;
  }
  if (m.k + r != u) rec[2 + len++] = m.k + r;
  if (r > 0 && m.k + r - 1 != u) rec[2 + len++] = m.k + r - 1;
  rec[1] = static_cast<uint32_t>(len);
  prog.resize(head + 2 + len);
}

void LdpcDecoderCore::HeldBitmap(uint8_t* bits) const {
  std::memset(bits, 0, (n_ + 7) / 8);
  if (done_) return;
  for (uint32_t i = 0; i < n_; i++) {
    if (seen_[i] == 2) bits[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
  }
}

bool LdpcDecoderCore::RaisesRank(uint32_t esi) {
  // Column esi leaves the unknowns: the solutions where it is 0 remain. One basis solution with
  // it set is dropped, after being added to the others with it set.
  DecoderWork& w = *work_;
  const uint64_t m = w.null_bits[esi];
  if (m == 0) return false;
  const uint64_t low = m & (~m + 1);
  for (uint32_t c : w.null.cols) {
    if ((w.null_bits[c] & low) != 0) w.null_bits[c] ^= m;
  }
  w.null.dim--;
  return true;
}

void LdpcDecoderCore::MaybeMl(uint32_t esi) {
  DecoderWork& w = *work_;
  if (w.null.dim > 0) {
    if (!RaisesRank(esi) || w.null.dim > 0) return;
    w.null_bits.clear();
    ml_wait_ = 0;
  }
  if (ml_wait_ > 0) ml_wait_--;
  if (ml_wait_ > 0) return;
  const uint32_t unknowns = n_ - known_total_;
  if (unknowns > live_rows_) {
    ml_wait_ = unknowns - live_rows_;
    return;
  }
  uint32_t scratch = 0;
  const uint32_t shortfall = w.ml.Solve(*code_, w.known.data(), w.count.data(), w.acc.data(), &w.prog, &scratch, &w.null);
  if (shortfall > 0) {
    ml_wait_ = shortfall;
    if (w.null.dim > 0) {
      w.null_bits.assign(n_, 0);
      for (size_t i = 0; i < w.null.cols.size(); i++) w.null_bits[w.null.cols[i]] = w.null.bits[i];
    }
    return;
  }
  scratch_symbols_ = scratch;
  for (uint32_t c = 0; c < n_; c++) {
    if (w.known[c] == 0) SetKnown(c);
  }
  Complete();
}

void LdpcDecoderCore::Complete() {
  done_ = true;
  RunDeferred();
  if (!pad_.empty()) std::memcpy(out_ + static_cast<size_t>(k_ - 1) * e_, pad_.data(), last_len_);
  // The block is in `out_`: everything else goes now, not when the GC finalises this object (the
  // work back to the pool for the next block, the matrix to whoever else holds the code).
  repair_ = nullptr;
  owned_repair_.reset();
  std::vector<uint8_t>().swap(pad_);
  GiveWork(std::move(work_));
  code_.reset();
  held_ = seen_.size();
}

void LdpcDecoderCore::RunDeferred() {
  DecoderWork& w = *work_;
  const std::vector<uint32_t>& prog = w.prog;
  const size_t scratch_bytes = static_cast<size_t>(scratch_symbols_) * e_;
  // Grown, never shrunk: set records write every scratch symbol before any record reads it.
  if (w.scratch.size() < scratch_bytes) w.scratch.resize(scratch_bytes);
  std::vector<uint32_t>& starts = w.starts;
  starts.clear();
  for (size_t pos = 0; pos < prog.size(); pos += 2 + prog[pos + 1]) starts.push_back(static_cast<uint32_t>(pos));
  // Backward pass: keep a record only if its result is read by a kept record after it, or is a
  // source symbol's final value. A set record ends the need for its dst's earlier value.
  std::vector<uint8_t>& needed = w.needed;
  needed.assign(static_cast<size_t>(n_) + scratch_symbols_, 0);
  std::memset(needed.data(), 1, k_);
  std::vector<uint8_t>& keep = w.keep;
  keep.assign(starts.size(), 0);
  size_t widest = 0;
  for (size_t i = starts.size(); i-- > 0;) {
    const uint32_t* rec = prog.data() + starts[i];
    const uint32_t dst = rec[0] & kRecordIndex;
    if (needed[dst] == 0) continue;
    keep[i] = 1;
    if ((rec[0] & kRecordSet) != 0) needed[dst] = 0;
    for (uint32_t j = 0; j < rec[1]; j++) needed[rec[2 + j]] = 1;
    if (rec[1] > widest) widest = rec[1];
  }
  std::vector<const uint8_t*>& src = w.src;
  if (src.size() < widest + 1) src.resize(widest + 1);
  // Every symbol's address once (Sym branches), not once per read.
  std::vector<uint8_t*>& at = w.at;
  at.resize(needed.size());
  for (uint32_t j = 0; j < at.size(); j++) at[j] = Sym(j);
  size_t kept = 0;
  for (size_t i = 0; i < starts.size(); i++) {
    if (keep[i] != 0) starts[kept++] = starts[i];
  }
  for (size_t i = 0; i < kept; i++) {
    const uint32_t* rec = prog.data() + starts[i];
    const uint32_t m = rec[1];
    if (i + 1 < kept) {
      // Symbols are read in record order, scattered over a block larger than L2: start fetching
      // the next record's sources while this one runs.
      const uint32_t* next = prog.data() + starts[i + 1];
      for (uint32_t j = 0; j < next[1]; j++) __builtin_prefetch(at[next[2 + j]]);
    }
    for (uint32_t j = 0; j < m; j++) src[j] = at[rec[2 + j]];
    XorSources(at[rec[0] & kRecordIndex], src.data(), m, e_, (rec[0] & kRecordSet) != 0);
  }
}

void LdpcDecoderCore::KnownBitmap(uint8_t* bits) const {
  const uint32_t k = k_;
  std::memset(bits, 0, (k + 7) / 8);
  for (uint32_t i = 0; i < k; i++) {
    if (done_ || work_->known[i] != 0) bits[i >> 3] = static_cast<uint8_t>(bits[i >> 3] | (1u << (i & 7)));
  }
}

}  // namespace fcast
