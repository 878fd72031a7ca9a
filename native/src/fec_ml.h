// Maximum-likelihood decoding of LDPC-Staircase on the erasure channel (RFC 5170 §6.4 leaves the
// decoder free), native: the same structured elimination with inactivation as
// codecs/ldpc-staircase/ml.ts (the reference), so it succeeds on exactly the same symbol sets, with
// cheaper symbol work. From the state where peeling stalled, peel on symbolically; when no equation
// has a single active unknown, inactivate one (solved later in a small dense system). Then records
// (see fec_decoder.h for the record format):
//   A. pivots with the inactivated unknowns taken as zero (their "constant" part),
//   B. right-hand sides of the ni dense equations that form a basis, into scratch symbols,
//   X. each inactivated unknown as the XOR of the right-hand sides its row of the dense inverse
//      names (one fused record per unknown instead of one record per Gauss-Jordan row operation),
//   C. per pivot whose value depends on inactivated unknowns, the cheaper of: add those unknowns to
//      the constant part, or recompute it from its full equation (earlier pivots are final by then).
#pragma once
#include <cstdint>
#include <vector>

#include "fec_code.h"

namespace fcast {

// Records: [dst | kRecordSet?, m, src_1 .. src_m]; kRecordSet means dst = XOR of the sources,
// otherwise dst ^= XOR of the sources. Symbol indices >= n name scratch symbols n, n+1, ...
constexpr uint32_t kRecordSet = 1u << 31;
constexpr uint32_t kRecordIndex = kRecordSet - 1;

// Dense systems above this many inactivated unknowns cost too much time and memory; ML then waits
// for more symbols (1/16 of that count), as ml.ts MAX_INACTIVE.
constexpr uint32_t kMaxInactive = 8192;

// The solutions of the homogeneous system left when ML fails for rank deficiency d <= 64: per
// unknown column that some solution sets, bit t = its value in basis solution t. A new symbol
// raises the rank (by exactly one) iff its column is among them, so the decoder can tell exactly
// when the rank becomes full instead of retrying after every d symbols.
struct NullSpace {
  uint32_t dim = 0;
  std::vector<uint32_t> cols;
  std::vector<uint64_t> bits;
};

class MlSolver {
 public:
  // known[c] = 1 for known columns; count[r] / acc[r]: unknowns per row and the XOR of their
  // indices (the peeling state). On success appends the records that compute every unknown to
  // *prog, sets *scratch to the number of scratch symbols they use and returns 0. Otherwise appends
  // nothing and returns a lower bound (>= 1) on how many more symbols are needed; when that is the
  // exact rank deficiency d <= 64, *null receives the solution space (else null->dim = 0).
  uint32_t Solve(const LdpcCode& code, const uint8_t* known, const int32_t* count, const int32_t* acc,
                 std::vector<uint32_t>* prog, uint32_t* scratch, NullSpace* null);
  // Bytes its scratch vectors reserve (kept between attempts and, pooled, between blocks).
  size_t Capacity() const;

 private:
  uint32_t Eliminate(const LdpcCode& code, const uint8_t* known, const int32_t* count, const int32_t* acc);
  int32_t LightestRow() const;
  uint32_t HeaviestActive(const LdpcCode& code, uint32_t r) const;
  void RowBits(const LdpcCode& code, uint32_t r, uint32_t self, uint64_t* target) const;
  void NullSolutions(const LdpcCode& code, uint32_t rank, NullSpace* null) const;
  void EmitRow(const LdpcCode& code, uint32_t r, uint32_t dst, bool with_inactive, bool set, std::vector<uint32_t>* prog) const;

  // Scratch kept between attempts (a block may try ML several times) and, pooled with the
  // decoder's DecoderWork, between blocks.
  std::vector<uint8_t> mark_;
  std::vector<int32_t> count_, acc_;
  std::vector<uint8_t> used_;
  std::vector<uint32_t> pivot_col_, pivot_row_, pivot_index_, inact_col_, inact_index_;
  std::vector<uint32_t> ones_, leftover_;
  // Active unknowns keyed by d2, the number of unused equations with exactly two active unknowns
  // that contain them (ml.ts PairDegreeQueue): buckets of doubly linked lists, O(1) per change.
  std::vector<int32_t> d2_, next_, prev_, head_;
  int32_t top_ = 0;
  void PairAddRow(const LdpcCode& code, uint32_t r);
  void PairChange(uint32_t c, int32_t delta);
  void PairRemove(uint32_t c);
  int32_t PairMax();
  void PairLink(uint32_t c, int32_t v);
  void PairUnlink(uint32_t c, int32_t v);
  uint32_t np_ = 0;
  uint32_t ni_ = 0;
  std::vector<uint64_t> pivot_bits_;
  std::vector<uint32_t> dense_;
  std::vector<int32_t> row_of_col_;
  std::vector<uint32_t> ops_;
  std::vector<uint32_t> slot_of_row_;
  std::vector<uint64_t> combo_;
};

}  // namespace fcast
