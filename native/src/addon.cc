// Node-API entry point. Every argument was validated in TypeScript before the call (see
// codecs/native.ts); the checks here only keep a bad call from touching memory it does not own.
#include <napi.h>

#include "fec.h"
#include "flow_aead.h"
#include "recvmmsg.h"
#include "sendbatch.h"
#include "sendmmsg.h"
#include "sha256_job.h"
#include "xor.h"

namespace {

bool ViewOf(const Napi::Value& v, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  *data = u.Data();
  *len = u.ByteLength();
  return true;
}

// xorInto(dst: Uint8Array, src: Uint8Array): void — dst ^= src over dst.length bytes.
Napi::Value XorIntoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *dst, *src;
  size_t dlen, slen;
  if (info.Length() != 2 || !ViewOf(info[0], &dst, &dlen) || !ViewOf(info[1], &src, &slen) || slen < dlen) {
    Napi::TypeError::New(env, "xorInto(dst, src): two Uint8Arrays, src at least as long as dst").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  fcast::XorInto(dst, src, dlen);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("xorInto", Napi::Function::New(env, XorIntoJs));
  exports.Set("xorPath", Napi::String::New(env, fcast::XorPath()));
  fcast::RegisterFecCodec(env, exports);
  fcast::RegisterSendmmsg(env, exports);
  fcast::RegisterRecvmmsg(env, exports);
  fcast::RegisterSendBatch(env, exports);
  fcast::RegisterFlowAead(env, exports);
  fcast::RegisterSha256Job(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace

NODE_API_MODULE(fcast_native, Init)
