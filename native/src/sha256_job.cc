// SHA-256 of file ranges on libuv's thread pool (src/store/sha256-pool.ts is the only caller).
//
//   sha256Open() -> handle                       a fresh SHA-256 state
//   sha256Range(handle, fd, offset, length, cb)  pread [offset, offset+length) of fd and hash it,
//                                                on a pool thread; cb(null) or cb(Error)
//   sha256Update(handle, bytes) -> bool          hash bytes here, on the calling thread (false: a job
//                                                is running or the hash is finished)
//   sha256Final(handle) -> Uint8Array(32) | undefined (a job still running, or finished already)
//
// Why a range of a file and not a buffer: the receiver's bytes are in its part file already (its
// decoder arena goes back to a pool as soon as the block is written), so the pool thread reads
// them back from the page cache; the main thread copies nothing. One job per handle at a time
// (the caller chains them; a second one is refused), so the ranges are hashed in order.
#include "sha256_job.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#ifdef __linux__
#include <unistd.h>
#endif

namespace {

constexpr size_t kReadChunk = 1 << 20;

struct Sha256State {
  EVP_MD_CTX* ctx = nullptr;
  bool busy = false;
  bool done = false;
  ~Sha256State() { EVP_MD_CTX_free(ctx); }
};

Sha256State* StateOf(const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  return v.As<Napi::External<Sha256State>>().Data();
}

// One read buffer per pool thread, reused across jobs.
uint8_t* ReadBuffer() {
  thread_local std::unique_ptr<uint8_t[]> buf(new uint8_t[kReadChunk]);
  return buf.get();
}

class RangeJob : public Napi::AsyncWorker {
 public:
  RangeJob(Napi::Function cb, Napi::Value handle, Sha256State* st, int fd, int64_t offset, int64_t length)
      : Napi::AsyncWorker(cb, "fcast:sha256Range"), handle_(Napi::Persistent(handle.As<Napi::Object>())), st_(st), fd_(fd), offset_(offset), length_(length) {}

  void Execute() override {
#ifdef __linux__
    uint8_t* buf = ReadBuffer();
    int64_t pos = offset_;
    int64_t left = length_;
    while (left > 0) {
      size_t want = left < static_cast<int64_t>(kReadChunk) ? static_cast<size_t>(left) : kReadChunk;
      ssize_t n = pread(fd_, buf, want, pos);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return SetError(std::string("pread: ") + std::strerror(errno));
      if (n == 0) return SetError("pread: file shorter than the range");
      if (EVP_DigestUpdate(st_->ctx, buf, static_cast<size_t>(n)) != 1) return SetError("EVP_DigestUpdate failed");
      pos += n;
      left -= n;
    }
#else
    SetError("sha256Range: Linux only");
#endif
  }

  void OnOK() override {
    st_->busy = false;
    Callback().Call({Env().Null()});
  }

  void OnError(const Napi::Error& e) override {
    st_->busy = false;
    Callback().Call({e.Value()});
  }

 private:
  // Keeps the state alive (not collected) while the pool thread uses it.
  Napi::ObjectReference handle_;
  Sha256State* st_;
  int fd_;
  int64_t offset_;
  int64_t length_;
};

Napi::Value Sha256Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* st = new Sha256State();
  st->ctx = EVP_MD_CTX_new();
  if (st->ctx == nullptr || EVP_DigestInit_ex(st->ctx, EVP_sha256(), nullptr) != 1) {
    delete st;
    Napi::Error::New(env, "sha256Open: EVP_DigestInit_ex failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::External<Sha256State>::New(env, st, [](Napi::Env, Sha256State* s) { delete s; });
}

Napi::Value Sha256Range(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sha256State* st = info.Length() == 5 ? StateOf(info[0]) : nullptr;
  if (st == nullptr || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsFunction()) {
    Napi::TypeError::New(env, "sha256Range(handle, fd, offset, length, cb)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int64_t fd = info[1].As<Napi::Number>().Int64Value();
  int64_t offset = info[2].As<Napi::Number>().Int64Value();
  int64_t length = info[3].As<Napi::Number>().Int64Value();
  if (st->busy || st->done || fd < 0 || fd > INT32_MAX || offset < 0 || length < 0) {
    Napi::Error::New(env, "sha256Range: busy or finished handle, or bad fd/offset/length").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  st->busy = true;
  (new RangeJob(info[4].As<Napi::Function>(), info[0], st, static_cast<int>(fd), offset, length))->Queue();
  return env.Undefined();
}

// Bytes already in memory and next in order (a receiver's block at its prefix's end): hashed here,
// into the same state the jobs feed, with no read-back.
Napi::Value Sha256Update(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sha256State* st = info.Length() == 2 ? StateOf(info[0]) : nullptr;
  if (st == nullptr || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "sha256Update(handle, bytes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (st->busy || st->done) return Napi::Boolean::New(env, false);
  Napi::Uint8Array u = info[1].As<Napi::Uint8Array>();
  return Napi::Boolean::New(env, EVP_DigestUpdate(st->ctx, u.Data(), u.ByteLength()) == 1);
}

Napi::Value Sha256Final(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sha256State* st = info.Length() == 1 ? StateOf(info[0]) : nullptr;
  if (st == nullptr) {
    Napi::TypeError::New(env, "sha256Final(handle)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (st->busy || st->done) return env.Undefined();
  Napi::Uint8Array out = Napi::Uint8Array::New(env, 32);
  unsigned int n = 0;
  st->done = true;
  if (EVP_DigestFinal_ex(st->ctx, out.Data(), &n) != 1 || n != 32) return env.Undefined();
  return out;
}

}  // namespace

namespace fcast {

void RegisterSha256Job(Napi::Env env, Napi::Object exports) {
  exports.Set("sha256Open", Napi::Function::New(env, Sha256Open));
  exports.Set("sha256Range", Napi::Function::New(env, Sha256Range));
  exports.Set("sha256Update", Napi::Function::New(env, Sha256Update));
  exports.Set("sha256Final", Napi::Function::New(env, Sha256Final));
}

}  // namespace fcast
