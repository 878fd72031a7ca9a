// Node-API wrappers of the FEC kernels. TypeScript validates every argument first (codecs/
// ldpc-staircase/native-executor.ts); these checks are the second line, so that a bad call throws
// an Error whose message starts with the fcast error code instead of touching foreign memory.
#include <napi.h>

#include <cstring>
#include <vector>

#include "fec.h"
#include "fec_dense.h"
#include "fec_matrix.h"
#include "fec_program.h"

namespace fcast {
namespace {

Napi::Value Fail(Napi::Env env, const char* message) {
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool IsU32(const Napi::Value& v, uint32_t* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

bool IsTyped(const Napi::Value& v, napi_typedarray_type type) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == type;
}

// xorProgram(arena: Uint8Array, symbolSize: number, program: Uint32Array, length: number): void
Napi::Value XorProgramJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t e = 0, length = 0;
  if (info.Length() != 4 || !IsTyped(info[0], napi_uint8_array) || !IsU32(info[1], &e) || e == 0 ||
      !IsTyped(info[2], napi_uint32_array) || !IsU32(info[3], &length)) {
    return Fail(env, "FEC_PROGRAM: xorProgram(arena: Uint8Array, symbolSize > 0, program: Uint32Array, length)");
  }
  Napi::Uint8Array arena = info[0].As<Napi::Uint8Array>();
  Napi::Uint32Array program = info[2].As<Napi::Uint32Array>();
  if (length > program.ElementLength()) return Fail(env, "FEC_PROGRAM: length exceeds the program array");
  const ProgramCheck check = CheckProgram(program.Data(), length, arena.ByteLength() / e);
  switch (check.fault) {
    case ProgramFault::kOk:
      break;
    case ProgramFault::kTruncated:
      return Fail(env, "FEC_PROGRAM: a record runs past the program length");
    case ProgramFault::kIndex:
      return Fail(env, "FEC_PROGRAM: a symbol index is outside the arena");
    case ProgramFault::kSelf:
      return Fail(env, "FEC_PROGRAM: a record names its dst as a source");
  }
  RunProgram(arena.Data(), e, program.Data(), length);
  return env.Undefined();
}

// solveDense(matrix: Uint32Array, rows: number, cols: number, rowOfCol: Int32Array)
//   : { rank: number, ops: Uint32Array }   (contract of codecs/ldpc-staircase/dense.ts)
Napi::Value SolveDenseJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t rows = 0, cols = 0;
  if (info.Length() != 4 || !IsTyped(info[0], napi_uint32_array) || !IsU32(info[1], &rows) || !IsU32(info[2], &cols) ||
      !IsTyped(info[3], napi_int32_array)) {
    return Fail(env, "FEC_PROGRAM: solveDense(matrix: Uint32Array, rows, cols, rowOfCol: Int32Array)");
  }
  Napi::Uint32Array matrix = info[0].As<Napi::Uint32Array>();
  Napi::Int32Array row_of_col = info[3].As<Napi::Int32Array>();
  const uint64_t w32 = (static_cast<uint64_t>(cols) + 31) / 32;
  if (static_cast<uint64_t>(rows) * w32 > matrix.ElementLength()) return Fail(env, "FEC_PROGRAM: matrix shorter than rows x ceil(cols/32) words");
  if (cols > row_of_col.ElementLength()) return Fail(env, "FEC_PROGRAM: rowOfCol shorter than cols");
  std::vector<uint32_t> ops;
  const size_t rank = SolveDense(matrix.Data(), rows, cols, row_of_col.Data(), &ops);
  Napi::Uint32Array out = Napi::Uint32Array::New(env, ops.size());
  if (!ops.empty()) std::memcpy(out.Data(), ops.data(), ops.size() * sizeof(uint32_t));
  Napi::Object result = Napi::Object::New(env);
  result.Set("rank", Napi::Number::New(env, static_cast<double>(rank)));
  result.Set("ops", out);
  return result;
}

Napi::Int32Array Int32Of(Napi::Env env, const std::vector<int32_t>& v) {
  Napi::Int32Array out = Napi::Int32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(out.Data(), v.data(), v.size() * sizeof(int32_t));
  return out;
}

// buildLeft(k, n, n1, seed): { rowStart, rowCols, colStart, colRows, fallbackPlacements,
// rowfixAdded } — the left side of H exactly as matrix.ts buildMatrix (RFC 5170 §6.2).
Napi::Value BuildLeftJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t k = 0, n = 0, n1 = 0, seed = 0;
  if (info.Length() != 4 || !IsU32(info[0], &k) || !IsU32(info[1], &n) || !IsU32(info[2], &n1) || !IsU32(info[3], &seed) ||
      k < 1 || n <= k || n > (1u << 24) || n1 < 1 || n1 > n - k || n1 > 64 || seed < 1 || seed > 0x7ffffffe) {
    return Fail(env, "FEC_PARAMS: buildLeft(k >= 1, n > k (n <= 2^24), 1 <= n1 <= min(n - k, 64), 1 <= seed <= 2^31 - 2)");
  }
  LdpcLeft left;
  BuildLeft(k, n, n1, seed, &left);
  Napi::Object result = Napi::Object::New(env);
  result.Set("rowStart", Int32Of(env, left.row_start));
  result.Set("rowCols", Int32Of(env, left.row_cols));
  result.Set("colStart", Int32Of(env, left.col_start));
  result.Set("colRows", Int32Of(env, left.col_rows));
  result.Set("fallbackPlacements", Napi::Number::New(env, left.fallback_placements));
  result.Set("rowfixAdded", Napi::Number::New(env, left.rowfix_added));
  return result;
}

}  // namespace

void RegisterFec(Napi::Env env, Napi::Object exports) {
  exports.Set("xorProgram", Napi::Function::New(env, XorProgramJs));
  exports.Set("solveDense", Napi::Function::New(env, SolveDenseJs));
  exports.Set("buildLeft", Napi::Function::New(env, BuildLeftJs));
  RegisterFecCodec(env, exports);
}

}  // namespace fcast
