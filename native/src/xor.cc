// XOR of symbol buffers with the widest vector unit the CPU has (AVX2, else SSE2, else words).
// The AVX2 path is compiled with a target attribute and chosen at run time, so one binary runs
// on every x86-64 machine.
#include "xor.h"

#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define FCAST_X86 1
#endif

namespace fcast {
namespace {

void XorWords(uint8_t* dst, const uint8_t* src, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, dst + i, 8);
    std::memcpy(&b, src + i, 8);
    a ^= b;
    std::memcpy(dst + i, &a, 8);
  }
  for (; i < len; i++) dst[i] ^= src[i];
}

#ifdef FCAST_X86
__attribute__((target("avx2"))) void XorAvx2(uint8_t* dst, const uint8_t* src, size_t len) {
  size_t i = 0;
  for (; i + 128 <= len; i += 128) {
    __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dst + i));
    __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dst + i + 32));
    __m256i a2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dst + i + 64));
    __m256i a3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dst + i + 96));
    __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 32));
    __m256i b2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 64));
    __m256i b3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 96));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(a0, b0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 32), _mm256_xor_si256(a1, b1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 64), _mm256_xor_si256(a2, b2));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i + 96), _mm256_xor_si256(a3, b3));
  }
  for (; i + 32 <= len; i += 32) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dst + i));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(a, b));
  }
  XorWords(dst + i, src + i, len - i);
}

void XorSse2(uint8_t* dst, const uint8_t* src, size_t len) {
  size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_xor_si128(a, b));
  }
  XorWords(dst + i, src + i, len - i);
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

}  // namespace

void XorInto(uint8_t* dst, const uint8_t* src, size_t len) {
#ifdef FCAST_X86
  if (HasAvx2()) return XorAvx2(dst, src, len);
  return XorSse2(dst, src, len);
#else
  XorWords(dst, src, len);
#endif
}

const char* XorPath() {
#ifdef FCAST_X86
  return HasAvx2() ? "avx2" : "sse2";
#else
  return "word64";
#endif
}

}  // namespace fcast
