// AES-256-GCM seal/open of one flexicast flow packet in one native call. node:crypto needs a
// Cipheriv object, setAAD, update, final and getAuthTag per packet: about 10 us of JS and
// allocation around 1 us of AES on this box. Here the same OpenSSL EVP calls run on the caller's
// buffers, with one context reused across calls on each thread.
//
// Layout (src/flexicast/flow-crypto.ts): packet = header (AAD) | ciphertext | tag (16).
//   aeadSeal(key 32, nonce 12, header, plaintext, out) -> bytes written (header+ct+tag) | -1
//     writes header, ciphertext and tag into `out` (length >= header + plaintext + 16)
//   aeadOpen(key 32, nonce 12, packet, headerLen, out) -> plaintext length | -1 (auth failed)
//     `out` length >= packet - headerLen - 16
// Sizes are validated in TypeScript first; the checks here only guard memory.
#include "flow_aead.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

namespace {

constexpr size_t kTag = 16;

bool BytesOf(const Napi::Value& v, uint8_t** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  *data = u.Data();
  *len = u.ByteLength();
  return true;
}

// One context per thread (worker_threads may load the addon too), freed when the thread ends.
EVP_CIPHER_CTX* Ctx() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  return ctx.get();
}

Napi::Value Num(Napi::Env env, double v) { return Napi::Number::New(env, v); }

Napi::Value AeadSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *key, *nonce, *hdr, *pt, *out;
  size_t klen, nlen, hlen, plen, olen;
  if (info.Length() != 5 || !BytesOf(info[0], &key, &klen) || !BytesOf(info[1], &nonce, &nlen) || !BytesOf(info[2], &hdr, &hlen) ||
      !BytesOf(info[3], &pt, &plen) || !BytesOf(info[4], &out, &olen) || klen != 32 || nlen != 12 || plen > (1u << 30) ||
      olen < hlen + plen + kTag) {
    Napi::TypeError::New(env, "aeadSeal(key32, nonce12, header, plaintext, out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EVP_CIPHER_CTX* c = Ctx();
  int n = 0;
  int fin = 0;
  std::memmove(out, hdr, hlen);
  uint8_t* ct = out + hlen;
  if (c == nullptr || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), nullptr, key, nonce) != 1 ||
      EVP_EncryptUpdate(c, nullptr, &n, out, static_cast<int>(hlen)) != 1 ||
      EVP_EncryptUpdate(c, ct, &n, pt, static_cast<int>(plen)) != 1 || EVP_EncryptFinal_ex(c, ct + n, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, kTag, ct + plen) != 1) {
    return Num(env, -1);
  }
  return Num(env, static_cast<double>(hlen + plen + kTag));
}

Napi::Value AeadOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *key, *nonce, *pkt, *out;
  size_t klen, nlen, plen, olen;
  if (info.Length() != 5 || !BytesOf(info[0], &key, &klen) || !BytesOf(info[1], &nonce, &nlen) || !BytesOf(info[2], &pkt, &plen) ||
      !info[3].IsNumber() || !BytesOf(info[4], &out, &olen) || klen != 32 || nlen != 12) {
    Napi::TypeError::New(env, "aeadOpen(key32, nonce12, packet, headerLen, out)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t hlen = info[3].As<Napi::Number>().Int64Value();
  if (hlen < 0 || static_cast<size_t>(hlen) + kTag > plen || olen < plen - hlen - kTag || plen > (1u << 30)) {
    Napi::TypeError::New(env, "aeadOpen: sizes do not fit").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t clen = plen - hlen - kTag;
  EVP_CIPHER_CTX* c = Ctx();
  int n = 0;
  int fin = 0;
  uint8_t tag[kTag];
  std::memcpy(tag, pkt + hlen + clen, kTag);
  if (c == nullptr || EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), nullptr, key, nonce) != 1 ||
      EVP_DecryptUpdate(c, nullptr, &n, pkt, static_cast<int>(hlen)) != 1 ||
      EVP_DecryptUpdate(c, out, &n, pkt + hlen, static_cast<int>(clen)) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1 || EVP_DecryptFinal_ex(c, out + n, &fin) != 1) {
    return Num(env, -1);
  }
  return Num(env, static_cast<double>(clen));
}

}  // namespace

namespace fcast {

void RegisterFlowAead(Napi::Env env, Napi::Object exports) {
  exports.Set("aeadSeal", Napi::Function::New(env, AeadSeal));
  exports.Set("aeadOpen", Napi::Function::New(env, AeadOpen));
}

}  // namespace fcast
