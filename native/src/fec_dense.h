// The dense core of LDPC-Staircase maximum-likelihood decoding: Gauss-Jordan elimination over
// GF(2), a port of codecs/ldpc-staircase/dense.ts `solveDense` with the same contract (same pivot
// choice, same row operations in the same order) on 64-bit words.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fcast {

// matrix: rows x cols bits, row r at 32-bit words [r*w32, (r+1)*w32), w32 = ceil(cols/32), column
// c = bit (c & 31) of word (c >> 5); overwritten with the eliminated matrix.
// row_of_col[c] (cols entries) receives the pivot row of column c or -1.
// ops receives flat (dst, src) pairs "row dst ^= row src", restricted to pivot rows, only when the
// rank is cols (empty otherwise). Returns the rank.
size_t SolveDense(uint32_t* matrix, size_t rows, size_t cols, int32_t* row_of_col, std::vector<uint32_t>* ops);

}  // namespace fcast
