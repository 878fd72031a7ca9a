// Native incremental LDPC-Staircase decoder of one source block (RFC 5170 §6.4: the decoder is
// free). The same decoder as codecs/ldpc-staircase/decoder.ts (the reference): each new symbol is
// copied into its slot and peeled at once, so progress is exact after every push; when peeling
// stalls and the equations could determine every unknown, ML decoding (fec_ml.h) runs; after a
// failure for rank deficiency d it is retried only when d symbols have raised the rank (tracked
// exactly through the failed attempt's solution space when d <= 64, else counted). Same acceptance, progress and
// completion as the TypeScript decoder, symbol for symbol.
//
// Symbol work is deferred: solving appends records (fec_ml.h format) that run once, when every
// source symbol is known, after dropping those whose result no later record or output reads.
//
// Memory: source symbols go straight into the caller's output buffer (block_length bytes; the
// short last symbol of an object lives in a padded slot and is copied out at the end); repair
// symbols go to the caller's repair buffer when it gives one ((n-k)*E bytes, e.g. the tail of a
// pooled arena), else to one of ours. The bookkeeping and ML scratch (DecoderWork) come from a small
// per-thread pool and go back to it when the block completes: a decode reuses warm memory instead
// of faulting fresh pages in, and the code's matrix is let go at completion too.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "fec_code.h"
#include "fec_ml.h"

namespace fcast {

// What a decoder needs only until its block completes. Vectors keep their capacity between
// decoders (TakeWork / GiveWork), so none of this is allocated or zeroed per block once warm.
struct DecoderWork {
  std::vector<uint8_t> known;
  std::vector<int32_t> count, acc;
  std::vector<uint32_t> queue, prog;
  // Scratch symbols of ML records (never read before a record sets them: no zeroing).
  std::vector<uint8_t> scratch;
  MlSolver ml;
  // After ML failed for rank deficiency d <= 64: the solution space, with null_bits[c] the bits of
  // column c, so ML waits for exactly the symbols that raise the rank.
  NullSpace null;
  std::vector<uint64_t> null_bits;
  // RunDeferred's tables.
  std::vector<uint32_t> starts;
  std::vector<uint8_t> needed, keep;
  std::vector<uint8_t*> at;
  std::vector<const uint8_t*> src;
  // Bytes reserved by the vectors above and the solver's (their capacity).
  size_t Capacity() const;
};

// A DecoderWork from this thread's pool (or a new one). The JavaScript thread is the only caller
// per Node-API environment; worker threads have pools of their own.
std::unique_ptr<DecoderWork> TakeWork();
// Back to the pool; dropped instead when the pool is full or the work is larger than kPooledWorkBytes.
void GiveWork(std::unique_ptr<DecoderWork> work);
// Pooled DecoderWorks per thread, and the largest one kept (bigger blocks free theirs).
constexpr size_t kWorkPool = 4;
constexpr size_t kPooledWorkBytes = size_t{16} << 20;

class LdpcDecoderCore {
 public:
  // Preconditions (checked by the caller): (k-1)*E < block_length <= k*E, `out` holds
  // block_length bytes, `repair` (may be null) (n-k)*E bytes, and both outlive the decoding.
  LdpcDecoderCore(std::shared_ptr<const LdpcCode> code, uint32_t symbol_size, uint64_t block_length, bool iterative_only,
                  uint8_t* out, uint8_t* repair);
  // False when the repair buffer could not be allocated (the object is then unusable).
  bool ok() const { return repair_ != nullptr || n_ == k_; }
  ~LdpcDecoderCore();

  // Symbol `esi` (< n) of `len` bytes (E, or the short length for the short last source symbol;
  // checked by the caller). Returns true when it brought something new; false for a duplicate,
  // a symbol already solved, or any symbol after completion.
  bool Push(uint32_t esi, const uint8_t* symbol, size_t len);

  uint32_t received() const { return received_; }
  uint32_t known_source() const { return known_source_; }
  bool complete() const { return done_; }
  // Bit i = source symbol i known, LSB-first; `bits` holds ceil(k/8) bytes.
  void KnownBitmap(uint8_t* bits) const;
  // Bit i (LSB-first, ceil(n/8) bytes): symbol i was received and copied into its slot, where it
  // stays until completion (a symbol peeling already knew is not copied). All clear once complete.
  void HeldBitmap(uint8_t* bits) const;
  // Bytes this decoder holds beside the output buffer (for the GC's external-memory account).
  size_t HeldBytes() const { return held_; }

 private:
  uint8_t* Sym(uint32_t j);
  void Propagate(uint32_t c0);
  void StartPeeling();
  void SetKnown(uint32_t c);
  void EmitSolve(uint32_t r, uint32_t u);
  void MaybeMl(uint32_t esi);
  bool RaisesRank(uint32_t esi);
  void Complete();
  void RunDeferred();

  // Released at completion (the matrix is not needed after it).
  std::shared_ptr<const LdpcCode> code_;
  const uint32_t k_, n_;
  const size_t e_;
  const bool iterative_only_;
  uint8_t* const out_;
  // Bytes of the last source symbol in `out_` (< E for an object's short last symbol).
  const size_t last_len_;
  // Repair symbol j at repair_ + (j-k)*E: the caller's buffer or owned_repair_.
  uint8_t* repair_ = nullptr;
  std::unique_ptr<uint8_t[]> owned_repair_;
  std::vector<uint8_t> pad_;
  std::vector<uint8_t> seen_;
  // Until completion (null after it).
  std::unique_ptr<DecoderWork> work_;
  uint32_t scratch_symbols_ = 0;
  uint32_t received_ = 0;
  uint32_t known_source_ = 0;
  uint32_t known_total_ = 0;
  uint32_t live_rows_ = 0;
  uint32_t ml_wait_ = 0;
  // Source symbols received before any repair symbol: known, not yet peeled (see Push).
  std::vector<uint32_t> lazy_;
  bool peeling_ = false;
  bool done_ = false;
  size_t held_ = 0;
};

}  // namespace fcast
