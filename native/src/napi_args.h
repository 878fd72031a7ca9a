// Argument helpers shared by the socket kernels (recvmmsg, sendbatch, sendmmsg). TypeScript has
// validated every argument already; these only keep a bad call from touching memory it does not own.
#pragma once
#include <napi.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#ifdef __linux__
#include <unistd.h>
#endif

namespace fcast::napi_args {

inline bool BytesOf(const Napi::Value& v, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  *data = u.Data();
  *len = u.ByteLength();
  return true;
}

inline bool IntOf(const Napi::Value& v, int64_t* out) {
  if (!v.IsNumber()) return false;
  *out = v.As<Napi::Number>().Int64Value();
  return true;
}

inline Napi::Value Num(Napi::Env env, int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

inline Napi::Value BadCall(Napi::Env env, const char* what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

#ifdef __linux__
// Close a half-set-up socket and return -errno of the call that failed (errno read first).
inline int Fail(int fd) {
  int err = errno;
  close(fd);
  return -err;
}
#endif

}  // namespace fcast::napi_args
