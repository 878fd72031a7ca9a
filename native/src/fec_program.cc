// Fused multi-source XOR of symbols (see fec_program.h). Same dispatch as xor.cc: the
// AVX2 path is compiled with a target attribute and picked at run time.
#include "fec_program.h"

#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define FCAST_X86 1
#endif

namespace fcast {
namespace {

// Sources handled per fused pass; longer records take several passes over dst (rare: RFC 5170
// rows hold about N1*k/(n-k) + 2 ones).
constexpr size_t kGroup = 32;

void FusedWords(uint8_t* dst, const uint8_t* const* src, size_t m, size_t from, size_t len) {
  size_t i = from;
  for (; i + 8 <= len; i += 8) {
    uint64_t a;
    std::memcpy(&a, dst + i, 8);
    for (size_t j = 0; j < m; j++) {
      uint64_t b;
      std::memcpy(&b, src[j] + i, 8);
      a ^= b;
    }
    std::memcpy(dst + i, &a, 8);
  }
  for (; i < len; i++) {
    uint8_t a = dst[i];
    for (size_t j = 0; j < m; j++) a ^= src[j][i];
    dst[i] = a;
  }
}

#ifdef FCAST_X86
// kSet: dst = src[0] ^ ... ^ src[m-1] (dst is not read: decoder slots start with stale bytes);
// otherwise dst ^= them. m >= 1.
template <bool kSet>
__attribute__((target("avx2"))) void FusedAvx2T(uint8_t* dst, const uint8_t* const* src, size_t m, size_t len) {
  size_t i = 0;
  // 4-way unrolled: 128 bytes of dst live in four registers while all m sources stream through.
  for (; i + 128 <= len; i += 128) {
    const size_t first = kSet ? 1 : 0;
    const uint8_t* base = kSet ? src[0] + i : dst + i;
    __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base));
    __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + 32));
    __m256i a2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + 64));
    __m256i a3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + 96));
    for (size_t j = first; j < m; j++) {
      const uint8_t* s = src[j] + i;
      a0 = _mm256_xor_si256(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s)));
      a1 = _mm256_xor_si256(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 32)));
      a2 = _mm256_xor_si256(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 64)));
      a3 = _mm256_xor_si256(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + 96)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), a0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 32), a1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 64), a2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 96), a3);
  }
  for (; i + 32 <= len; i += 32) {
    const size_t first = kSet ? 1 : 0;
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kSet ? src[0] + i : dst + i));
    for (size_t j = first; j < m; j++) {
      a = _mm256_xor_si256(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src[j] + i)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), a);
  }
  if (i < len) {
    if (kSet) std::memcpy(dst + i, src[0] + i, len - i);
    FusedWords(dst, src + (kSet ? 1 : 0), m - (kSet ? 1 : 0), i, len);
  }
}

void FusedAvx2(uint8_t* dst, const uint8_t* const* src, size_t m, size_t len) { FusedAvx2T<false>(dst, src, m, len); }

void FusedSse2(uint8_t* dst, const uint8_t* const* src, size_t m, size_t len) {
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    __m128i a0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + i));
    __m128i a1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + i + 16));
    __m128i a2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + i + 32));
    __m128i a3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + i + 48));
    for (size_t j = 0; j < m; j++) {
      const uint8_t* s = src[j] + i;
      a0 = _mm_xor_si128(a0, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
      a1 = _mm_xor_si128(a1, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 16)));
      a2 = _mm_xor_si128(a2, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 32)));
      a3 = _mm_xor_si128(a3, _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 48)));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), a0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 16), a1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 32), a2);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i + 48), a3);
  }
  FusedWords(dst, src, m, i, len);
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

#endif

using FusedFn = void (*)(uint8_t*, const uint8_t* const*, size_t, size_t);

#ifndef FCAST_X86
void FusedPortable(uint8_t* dst, const uint8_t* const* src, size_t m, size_t len) { FusedWords(dst, src, m, 0, len); }
#endif

FusedFn PickFused() {
#ifdef FCAST_X86
  return HasAvx2() ? FusedAvx2 : FusedSse2;
#else
  return FusedPortable;
#endif
}

}  // namespace

void XorSources(uint8_t* dst, const uint8_t* const* src, size_t m, size_t len, bool set) {
  static const FusedFn fused = PickFused();
  if (m == 0) {
    if (set) std::memset(dst, 0, len);
    return;
  }
  size_t done = 0;
  if (set) {
#ifdef FCAST_X86
    if (HasAvx2()) {
      done = m < kGroup ? m : kGroup;
      FusedAvx2T<true>(dst, src, done, len);
    }
#endif
    if (done == 0) {
      std::memcpy(dst, src[0], len);
      done = 1;
    }
  }
  for (; done < m; done += kGroup) fused(dst, src + done, m - done < kGroup ? m - done : kGroup, len);
}

}  // namespace fcast
