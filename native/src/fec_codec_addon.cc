// Node-API classes of the native LDPC-Staircase codec (RFC 5170): LdpcCode (the parity-check
// matrix of one (k, n, N1, seed)), LdpcDecoder (the incremental decoder of fec_decoder.h) and
// encodeRepair (fec_encoder.h). codecs/ldpc-staircase/native-decoder.ts and native-encoder.ts are
// the only callers and validate every argument first; the checks here are the second line, so a
// bad call throws an Error whose message starts with the fcast error code instead of touching
// memory it does not own. Lengths are checked before anything is allocated from them.
#include <napi.h>

#include <cstring>
#include <memory>
#include <vector>

#include "fec.h"
#include "fec_code.h"
#include "fec_decoder.h"
#include "fec_encoder.h"

namespace fcast {
namespace {

// Blocks above this many bytes (n*E) are refused; the TypeScript codec caps them lower
// (codecs/partition.ts MAX_BLOCK_BYTES).
constexpr uint64_t kMaxBlockBytes = uint64_t{1} << 30;

// Marks objects made by LdpcCode, so that an LdpcDecoder never unwraps anything else.
constexpr napi_type_tag kCodeTag = {0x6663617374636f64ULL, 0x4c44504353433031ULL};
// Marks objects made by LdpcDecoder, so that LdpcRecvFast.hot never unwraps anything else.
constexpr napi_type_tag kDecoderTag = {0x6663617374646563ULL, 0x4c44504353443031ULL};

void Throw(Napi::Env env, const char* message) { Napi::Error::New(env, message).ThrowAsJavaScriptException(); }

bool IsU32(const Napi::Value& v, uint32_t* out) {
  double d = 0;
  // napi_number_expected for anything but a number.
  if (napi_get_value_double(v.Env(), v, &d) != napi_ok) return false;
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

bool IsUint(const Napi::Value& v, uint64_t max, uint64_t* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<uint64_t>(d))) return false;
  *out = static_cast<uint64_t>(d);
  return true;
}

// One napi call (push runs once per symbol; node-addon-api's accessors would make four).
template <typename T>
bool TypedOf(const Napi::Value& v, napi_typedarray_type type, T** data, size_t* count) {
  napi_typedarray_type got;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(v.Env(), v, &got, count, &ptr, nullptr, nullptr) != napi_ok || got != type) return false;
  *data = static_cast<T*>(ptr);
  return true;
}

// Bytes of a code's matrix (what the GC is told a code object holds).
size_t CodeBytes(const LdpcCode& c) {
  const LdpcLeft& l = c.left;
  return sizeof(LdpcCode) + 4 * (l.row_start.capacity() + l.row_cols.capacity() + l.col_start.capacity() + l.col_rows.capacity());
}

class CodeWrap : public Napi::ObjectWrap<CodeWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LdpcCode", {InstanceMethod<&CodeWrap::Release>("release")});
  }

  // new LdpcCode(k, n, n1, seed)
  explicit CodeWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CodeWrap>(info) {
    uint32_t k = 0, n = 0, n1 = 0, seed = 0;
    if (info.Length() != 4 || !IsU32(info[0], &k) || !IsU32(info[1], &n) || !IsU32(info[2], &n1) || !IsU32(info[3], &seed) ||
        k < 1 || n < k || n > kMaxCodeN || seed < 1 || seed > 0x7ffffffe || (n > k && (n1 < 1 || n1 > n - k || n1 > kMaxCodeN1))) {
      Throw(info.Env(), "FEC_PARAMS: LdpcCode(1 <= k <= n <= 2^20, 1 <= n1 <= min(n - k, 64), 1 <= seed <= 2^31 - 2)");
      return;
    }
    code_ = BuildCode(k, n, n1, seed);
    // The matrix lives outside V8's heap: without this account a loop that builds codes faster
    // than the GC runs would grow the process by the whole matrix per code.
    accounted_ = static_cast<int64_t>(CodeBytes(*code_));
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), accounted_);
    info.This().As<Napi::Object>().TypeTag(&kCodeTag);
  }

  ~CodeWrap() override {
    if (accounted_ > 0) Napi::MemoryManagement::AdjustExternalMemory(Env(), -accounted_);
  }

  // The code of `v` if it is an LdpcCode object, else null.
  static std::shared_ptr<const LdpcCode> Of(const Napi::Value& v) {
    if (!v.IsObject()) return nullptr;
    Napi::Object o = v.As<Napi::Object>();
    if (!o.CheckTypeTag(&kCodeTag)) return nullptr;
    return Unwrap(o)->code_;
  }

 private:
  // release(): void — this object lets go of the matrix now (decoders and encoders still using it
  // keep it until they complete); it then builds nothing. For a caller that built a code for one
  // block (as an OpenFEC session is created and released per block): finalizers run only when the
  // event loop turns, so a synchronous loop would otherwise pile codes up.
  Napi::Value Release(const Napi::CallbackInfo& info) {
    code_.reset();
    if (accounted_ > 0) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -accounted_);
    accounted_ = 0;
    return info.Env().Undefined();
  }

  std::shared_ptr<const LdpcCode> code_;
  int64_t accounted_ = 0;
};

// What a decoder object and its `push` function share. push is a function of its own per decoder
// (its data pointer names this state): napi_unwrap looks the native object up through a private
// property on every call, which cost about a tenth of a k=1000 decode.
struct DecoderState {
  napi_env env = nullptr;
  std::unique_ptr<LdpcDecoderCore> core;
  // `out`, `repair` and `state` stay alive (and, being referenced, in place) while the core may
  // write them.
  Napi::ObjectReference out_ref;
  Napi::ObjectReference repair_ref;
  Napi::ObjectReference state_ref;
  int32_t* state = nullptr;
  uint32_t k = 0, n = 0, e = 0, last_len = 0;
  size_t accounted = 0;
  bool released = false;

  ~DecoderState() {
    if (accounted > 0) Napi::MemoryManagement::AdjustExternalMemory(Napi::Env(env), -static_cast<int64_t>(accounted));
  }

  void Publish() {
    state[0] = static_cast<int32_t>(core->received());
    state[1] = static_cast<int32_t>(core->known_source());
    state[2] = core->complete() ? 1 : 0;
  }

  // Native memory tells V8's GC nothing by itself: keep its account equal to what we hold.
  void Account() {
    const size_t now = core->HeldBytes();
    if (now != accounted) Napi::MemoryManagement::AdjustExternalMemory(Napi::Env(env), static_cast<int64_t>(now) - static_cast<int64_t>(accounted));
    accounted = now;
  }
};

napi_value ThrowRaw(napi_env env, const char* message) {
  napi_throw_error(env, nullptr, message);
  return nullptr;
}

// One symbol into the core, then the bookkeeping a completion brings (shared by push and
// pushBatch; the caller has checked esi < n and len).
bool PushOne(DecoderState& st, uint32_t esi, const uint8_t* bytes, size_t len) {
  const bool fresh = st.core->Push(esi, bytes, len);
  if (st.core->complete() && !st.released) {
    // The block is in `out`: drop that reference and tell the GC the native memory is gone.
    st.released = true;
    st.out_ref.Reset();
    st.repair_ref.Reset();
    st.Account();
  }
  return fresh;
}

// push(esi, symbol: Uint8Array): boolean — see LdpcDecoderCore::Push.
napi_value PushJs(napi_env env, napi_callback_info cb) {
  size_t argc = 2;
  napi_value argv[2];
  void* data = nullptr;
  if (napi_get_cb_info(env, cb, &argc, argv, nullptr, &data) != napi_ok || data == nullptr) return ThrowRaw(env, "FEC_ESI: push");
  DecoderState& st = **static_cast<std::shared_ptr<DecoderState>*>(data);
  double d = -1;
  napi_typedarray_type type;
  size_t len = 0;
  void* bytes = nullptr;
  if (argc != 2 || napi_get_value_double(env, argv[0], &d) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &type, &len, &bytes, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    return ThrowRaw(env, "FEC_ESI: push(esi, symbol: Uint8Array)");
  }
  if (!(d >= 0 && d < st.n) || d != static_cast<double>(static_cast<uint32_t>(d))) return ThrowRaw(env, "FEC_ESI: ESI outside 0..n-1");
  const uint32_t esi = static_cast<uint32_t>(d);
  if (len != st.e && !(esi == st.k - 1 && len == st.last_len)) {
    return ThrowRaw(env, "FEC_SYMBOL_SIZE: symbol is not E bytes (nor the short last symbol's length)");
  }
  const bool fresh = PushOne(st, esi, static_cast<const uint8_t*>(bytes), len);
  st.Publish();
  napi_value result;
  napi_get_boolean(env, fresh, &result);
  return result;
}

void FreeStateRef(napi_env, void* data, void*) { delete static_cast<std::shared_ptr<DecoderState>*>(data); }

class DecoderWrap : public Napi::ObjectWrap<DecoderWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LdpcDecoder", {
      InstanceMethod<&DecoderWrap::KnownBitmap>("knownBitmap"),
      InstanceMethod<&DecoderWrap::PushBatch>("pushBatch"),
      InstanceMethod<&DecoderWrap::HeldBitmap>("heldBitmap"),
    });
  }

  // new LdpcDecoder(code, symbolSize, blockLength, iterativeOnly, out: Uint8Array, state: Int32Array,
  //                 repair?: Uint8Array)
  // `out` (blockLength bytes) receives the source symbols, `repair` ((n-k)*E bytes) when given the
  // repair symbols; state[0..2] mirror received, knownSource and complete after every call, so
  // progress costs JavaScript no native call. The new object has its own `push` (PushJs).
  explicit DecoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DecoderWrap>(info) {
    Napi::Env env = info.Env();
    std::shared_ptr<const LdpcCode> code = info.Length() == 6 || info.Length() == 7 ? CodeWrap::Of(info[0]) : nullptr;
    uint32_t e = 0;
    uint64_t length = 0;
    uint8_t* out = nullptr;
    size_t out_len = 0;
    int32_t* state = nullptr;
    size_t state_len = 0;
    if (code == nullptr || !IsU32(info[1], &e) || e < 1 || e > 0xffff || !IsUint(info[2], kMaxBlockBytes, &length) ||
        !info[3].IsBoolean() || !TypedOf(info[4], napi_uint8_array, &out, &out_len) ||
        !TypedOf(info[5], napi_int32_array, &state, &state_len) || state_len < 3) {
      Throw(env, "FEC_PARAMS: LdpcDecoder(code: LdpcCode (not released), 1 <= symbolSize <= 65535, blockLength, iterativeOnly, out: Uint8Array, state: Int32Array(3))");
      return;
    }
    if (static_cast<uint64_t>(code->n) * e > kMaxBlockBytes || length <= static_cast<uint64_t>(code->k - 1) * e ||
        length > static_cast<uint64_t>(code->k) * e || out_len != length) {
      Throw(env, "FEC_PARAMS: LdpcDecoder: blockLength must be in ((k-1)*E, k*E], out exactly blockLength bytes, n*E <= 2^30");
      return;
    }
    uint8_t* repair = nullptr;
    size_t repair_len = 0;
    const bool has_repair = info.Length() == 7 && !info[6].IsUndefined();
    if (has_repair && (!TypedOf(info[6], napi_uint8_array, &repair, &repair_len) || repair_len != static_cast<uint64_t>(code->rows) * e)) {
      Throw(env, "FEC_PARAMS: LdpcDecoder: repair must be a Uint8Array of exactly (n-k)*E bytes");
      return;
    }
    auto st = std::make_shared<DecoderState>();
    st->env = env;
    st->core = std::make_unique<LdpcDecoderCore>(code, e, length, info[3].As<Napi::Boolean>().Value(), out, has_repair ? repair : nullptr);
    if (!st->core->ok()) {
      Throw(env, "FEC_PARAMS: LdpcDecoder: out of memory for the repair symbols");
      return;
    }
    st->out_ref = Napi::Persistent(info[4].As<Napi::Object>());
    if (has_repair) st->repair_ref = Napi::Persistent(info[6].As<Napi::Object>());
    st->state_ref = Napi::Persistent(info[5].As<Napi::Object>());
    st->state = state;
    st->k = code->k;
    st->n = code->n;
    st->e = e;
    st->last_len = static_cast<uint32_t>(length - static_cast<uint64_t>(code->k - 1) * e);
    st->Account();
    st->Publish();
    // push keeps its own share of the state, freed when the function is collected.
    auto* share = new std::shared_ptr<DecoderState>(st);
    napi_value push;
    if (napi_create_function(env, "push", NAPI_AUTO_LENGTH, PushJs, share, &push) != napi_ok ||
        napi_add_finalizer(env, push, share, FreeStateRef, nullptr, nullptr) != napi_ok) {
      delete share;
      Throw(env, "FEC_PARAMS: LdpcDecoder: cannot create push");
      return;
    }
    info.This().As<Napi::Object>().Set("push", Napi::Value(env, push));
    info.This().As<Napi::Object>().TypeTag(&kDecoderTag);
    state_ = std::move(st);
  }

  // The decoder state of `v` if it is an LdpcDecoder object, else null.
  static std::shared_ptr<DecoderState> Of(const Napi::Value& v) {
    if (!v.IsObject()) return nullptr;
    Napi::Object o = v.As<Napi::Object>();
    if (!o.CheckTypeTag(&kDecoderTag)) return nullptr;
    return Unwrap(o)->state_;
  }

 private:
  // pushBatch(esis: Uint32Array, data: Uint8Array, offsets: Uint32Array, count): number
  // Symbols esis[i] at data[offsets[i] ..] (E bytes; the short last source symbol its own length),
  // taken in order like push() while the block is incomplete: one call for a whole receive batch.
  // Returns how many it took. A bad ESI or a symbol outside `data` throws after the ones before it.
  Napi::Value PushBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t *esis = nullptr, *offsets = nullptr;
    uint8_t* data = nullptr;
    size_t n_esis = 0, n_offsets = 0, data_len = 0;
    uint32_t count = 0;
    if (state_ == nullptr || info.Length() != 4 || !TypedOf(info[0], napi_uint32_array, &esis, &n_esis) ||
        !TypedOf(info[1], napi_uint8_array, &data, &data_len) || !TypedOf(info[2], napi_uint32_array, &offsets, &n_offsets) ||
        !IsU32(info[3], &count) || count > n_esis || count > n_offsets) {
      Throw(env, "FEC_PARAMS: pushBatch(esis: Uint32Array, data: Uint8Array, offsets: Uint32Array, count <= both lengths)");
      return env.Undefined();
    }
    DecoderState& st = *state_;
    uint32_t taken = 0;
    const char* error = nullptr;
    for (; taken < count && !st.core->complete(); taken++) {
      const uint32_t esi = esis[taken];
      if (esi >= st.n) {
        error = "FEC_ESI: ESI outside 0..n-1";
        break;
      }
      const size_t len = esi == st.k - 1 ? st.last_len : st.e;
      const size_t off = offsets[taken];
      if (off > data_len || data_len - off < len) {
        error = "FEC_SYMBOL_SIZE: symbol reaches past the end of data";
        break;
      }
      PushOne(st, esi, data + off, len);
    }
    st.Publish();
    if (error != nullptr) {
      Throw(env, error);
      return env.Undefined();
    }
    return Napi::Number::New(env, taken);
  }

  // knownBitmap(bits: Uint8Array of ceil(k/8) bytes): void
  Napi::Value KnownBitmap(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* bits = nullptr;
    size_t len = 0;
    if (state_ == nullptr || info.Length() != 1 || !TypedOf(info[0], napi_uint8_array, &bits, &len) || len != (state_->k + 7) / 8) {
      Throw(env, "FEC_PARAMS: knownBitmap(bits: Uint8Array of ceil(k/8) bytes)");
      return env.Undefined();
    }
    state_->core->KnownBitmap(bits);
    return env.Undefined();
  }

  // heldBitmap(bits: Uint8Array of ceil(n/8) bytes): see LdpcDecoderCore::HeldBitmap.
  Napi::Value HeldBitmap(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* bits = nullptr;
    size_t len = 0;
    if (state_ == nullptr || info.Length() != 1 || !TypedOf(info[0], napi_uint8_array, &bits, &len) || len != (state_->n + 7) / 8) {
      Throw(env, "FEC_PARAMS: heldBitmap(bits: Uint8Array of ceil(n/8) bytes)");
      return env.Undefined();
    }
    state_->core->HeldBitmap(bits);
    return env.Undefined();
  }

  std::shared_ptr<DecoderState> state_;
};

// The receiver's native fast path (src/assembly/receiver.ts handleBatch, "Native fast path"): one
// object's blocks whose hot decoder is native and whose new symbols are deferred (not spooled on
// arrival). run() takes a receive batch's datagrams from `from` on, while each is the common one
// (the remembered header, CCI aside: RFC 5775 §4.4 steps 1-4 would repeat exactly; an E-byte
// symbol, SBN and ESI in range: RFC 5170 §6.1; its block registered here, or the object or block
// done: a duplicate), and does in C++ what receiver.ts does for it: count it, set its bit in the
// block's `seen` bitmap (the receiver's own Uint8Array), and push it into the decoder. It stops at
// the first datagram it does not take, which the receiver then handles in TypeScript, in arrival
// order. Every offset, length, SBN and ESI is checked before it is used.
//
//   new LdpcRecvFast(ns: Uint32Array (n per block), symbolSize, done: Uint8Array (bit per block))
//   hot(sbn, decoder: LdpcDecoder, seen: Uint8Array of ceil(n/8) bytes): boolean   (registers)
//   cold(sbn): void                                                                (unregisters)
//   receiving(flag: boolean): void        false: every symbol of the object is a duplicate
//   run(data, offsets, lengths, from, count, header, cciEnd, esiBits, out: Uint32Array) -> stop index
//     out: [packets, bytes, duplicates, blocks, then per block touched (first-touch order):
//     sbn, new symbols m, their m ESIs in arrival order]; out holds 4 + 3 * (count - from) words.
class FastWrap : public Napi::ObjectWrap<FastWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LdpcRecvFast", {
      InstanceMethod<&FastWrap::Hot>("hot"),
      InstanceMethod<&FastWrap::Cold>("cold"),
      InstanceMethod<&FastWrap::Receiving>("receiving"),
      InstanceMethod<&FastWrap::Run>("run"),
    });
  }

  explicit FastWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FastWrap>(info) {
    Napi::Env env = info.Env();
    uint32_t* ns = nullptr;
    size_t nb = 0, done_len = 0;
    uint32_t e = 0;
    uint8_t* done = nullptr;
    if (info.Length() != 3 || !TypedOf(info[0], napi_uint32_array, &ns, &nb) || nb < 1 || nb > (size_t{1} << 20) ||
        !IsU32(info[1], &e) || e < 1 || e > 0xffff || !TypedOf(info[2], napi_uint8_array, &done, &done_len) || done_len < (nb + 7) / 8) {
      Throw(env, "FEC_PARAMS: LdpcRecvFast(ns: Uint32Array of 1..2^20 blocks, 1 <= symbolSize <= 65535, done: Uint8Array of ceil(blocks/8) bytes)");
      return;
    }
    blocks_.resize(nb);
    for (size_t i = 0; i < nb; i++) {
      if (ns[i] < 1 || ns[i] > kMaxCodeN) {
        Throw(env, "FEC_PARAMS: LdpcRecvFast: every n in 1..2^20");
        return;
      }
      blocks_[i].n = ns[i];
    }
    e_ = e;
    done_ = done;
    done_ref_ = Napi::Persistent(info[2].As<Napi::Object>());
  }

 private:
  struct Block {
    std::shared_ptr<DecoderState> dec;
    uint8_t* seen = nullptr;
    Napi::ObjectReference seen_ref;
    uint32_t n = 0;
    // run() bookkeeping: the call that last touched the block, its slot there, new symbols.
    uint32_t mark = 0, slot = 0, fresh = 0;
  };

  bool BlockArg(const Napi::Value& v, uint32_t* sbn) const { return IsU32(v, sbn) && *sbn < blocks_.size(); }

  Napi::Value Hot(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t sbn = 0;
    uint8_t* seen = nullptr;
    size_t seen_len = 0;
    std::shared_ptr<DecoderState> dec = info.Length() == 3 ? DecoderWrap::Of(info[1]) : nullptr;
    if (dec == nullptr || !BlockArg(info[0], &sbn) || !TypedOf(info[2], napi_uint8_array, &seen, &seen_len)) {
      Throw(env, "FEC_PARAMS: hot(sbn < blocks, decoder: LdpcDecoder, seen: Uint8Array)");
      return env.Undefined();
    }
    Block& b = blocks_[sbn];
    // Only a decoder of this block's shape: run() pushes E-byte symbols of ESI < n into it.
    if (dec->n != b.n || dec->e != e_ || seen_len != (b.n + 7) / 8) return Napi::Boolean::New(env, false);
    b.dec = std::move(dec);
    b.seen = seen;
    b.seen_ref = Napi::Persistent(info[2].As<Napi::Object>());
    return Napi::Boolean::New(env, true);
  }

  Napi::Value Cold(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t sbn = 0;
    if (info.Length() != 1 || !BlockArg(info[0], &sbn)) {
      Throw(env, "FEC_PARAMS: cold(sbn < blocks)");
      return env.Undefined();
    }
    Block& b = blocks_[sbn];
    b.dec.reset();
    b.seen = nullptr;
    b.seen_ref.Reset();
    return env.Undefined();
  }

  Napi::Value Receiving(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsBoolean()) {
      Throw(env, "FEC_PARAMS: receiving(flag: boolean)");
      return env.Undefined();
    }
    receiving_ = info[0].As<Napi::Boolean>().Value();
    return env.Undefined();
  }

  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t *data = nullptr, *hdr = nullptr;
    uint32_t *offs = nullptr, *lens = nullptr, *out = nullptr;
    size_t data_len = 0, n_offs = 0, n_lens = 0, hlen = 0, out_len = 0;
    uint32_t from = 0, count = 0, cci_end = 0, esi_bits = 0;
    if (info.Length() != 9 || !TypedOf(info[0], napi_uint8_array, &data, &data_len) || !TypedOf(info[1], napi_uint32_array, &offs, &n_offs) ||
        !TypedOf(info[2], napi_uint32_array, &lens, &n_lens) || !IsU32(info[3], &from) || !IsU32(info[4], &count) ||
        !TypedOf(info[5], napi_uint8_array, &hdr, &hlen) || !IsU32(info[6], &cci_end) || !IsU32(info[7], &esi_bits) ||
        !TypedOf(info[8], napi_uint32_array, &out, &out_len) || count > n_offs || count > n_lens || from > count || hlen < 4 ||
        cci_end < 4 || cci_end > hlen || esi_bits < 1 || esi_bits > 31 || out_len < 4 + 3 * static_cast<size_t>(count - from)) {
      Throw(env, "FEC_PARAMS: run(data, offsets, lengths, from <= count <= both lengths, header (>= 4 bytes), 4 <= cciEnd <= header length, 1 <= esiBits <= 31, out of 4 + 3 * (count - from) words)");
      return env.Undefined();
    }
    if (++stamp_ == 0) {
      for (Block& b : blocks_) b.mark = 0;
      stamp_ = 1;
    }
    touched_.clear();
    picks_.clear();
    const uint32_t esi_mask = (uint32_t{1} << esi_bits) - 1;
    uint64_t packets = 0, bytes = 0, dups = 0;
    uint32_t i = from;
    for (; i < count; i++) {
      const size_t at = offs[i], len = lens[i];
      if (at > data_len || len > data_len - at || len < hlen + 4) break;
      const uint8_t* d = data + at;
      if (std::memcmp(d, hdr, 4) != 0 || std::memcmp(d + cci_end, hdr + cci_end, hlen - cci_end) != 0) break;
      const uint8_t* p = d + hlen;
      const uint32_t word = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
      const uint32_t sbn = word >> esi_bits, esi = word & esi_mask;
      // The TypeScript path's order (receiver.ts newSymbol): SBN, ESI and length first (a bad one
      // is dropped there with its code), then done object or block, then the block's own state.
      if (sbn >= blocks_.size()) break;
      Block& b = blocks_[sbn];
      if (esi >= b.n || len - hlen - 4 != e_) break;
      if (!receiving_ || (done_[sbn >> 3] & (1u << (sbn & 7))) != 0) {
        packets++;
        bytes += len;
        dups++;
        continue;
      }
      if (b.dec == nullptr) break;
      packets++;
      bytes += len;
      const uint8_t bit = static_cast<uint8_t>(1u << (esi & 7));
      if ((b.seen[esi >> 3] & bit) != 0) {
        dups++;
        continue;
      }
      b.seen[esi >> 3] |= bit;
      if (b.mark != stamp_) {
        b.mark = stamp_;
        b.slot = static_cast<uint32_t>(touched_.size());
        b.fresh = 0;
        touched_.push_back(sbn);
      }
      b.fresh++;
      picks_.push_back((uint64_t{b.slot} << 32) | esi);
      // Symbols after completion count as new but go nowhere (as pushBatch stops at completion).
      if (!b.dec->core->complete()) PushOne(*b.dec, esi, p + 4, e_);
    }
    out[0] = static_cast<uint32_t>(packets);
    out[1] = static_cast<uint32_t>(bytes);
    out[2] = static_cast<uint32_t>(dups);
    out[3] = static_cast<uint32_t>(touched_.size());
    // Each touched block's record: sbn, m, then room for its m ESIs (filled in arrival order).
    cursor_.resize(touched_.size());
    size_t w = 4;
    for (size_t s = 0; s < touched_.size(); s++) {
      Block& b = blocks_[touched_[s]];
      out[w] = touched_[s];
      out[w + 1] = b.fresh;
      cursor_[s] = static_cast<uint32_t>(w + 2);
      w += 2 + b.fresh;
      if (b.dec != nullptr) b.dec->Publish();
    }
    for (uint64_t pick : picks_) out[cursor_[pick >> 32]++] = static_cast<uint32_t>(pick);
    return Napi::Number::New(env, i);
  }

  std::vector<Block> blocks_;
  uint32_t e_ = 0;
  uint8_t* done_ = nullptr;
  Napi::ObjectReference done_ref_;
  bool receiving_ = true;
  uint32_t stamp_ = 0;
  std::vector<uint32_t> touched_, cursor_;
  std::vector<uint64_t> picks_;
};

// encodeRepair(code: LdpcCode, symbolSize, source: Uint8Array, repair: Uint8Array): void
// source: the block, ((k-1)*E, k*E] bytes; repair: exactly (n-k)*E bytes, overwritten.
Napi::Value EncodeRepairJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<const LdpcCode> code = info.Length() == 4 ? CodeWrap::Of(info[0]) : nullptr;
  uint32_t e = 0;
  uint8_t *source = nullptr, *repair = nullptr;
  size_t source_len = 0, repair_len = 0;
  if (code == nullptr || !IsU32(info[1], &e) || e < 1 || e > 0xffff || !TypedOf(info[2], napi_uint8_array, &source, &source_len) ||
      !TypedOf(info[3], napi_uint8_array, &repair, &repair_len)) {
    Throw(env, "FEC_PARAMS: encodeRepair(code: LdpcCode (not released), 1 <= symbolSize <= 65535, source: Uint8Array, repair: Uint8Array)");
    return env.Undefined();
  }
  if (source_len <= static_cast<uint64_t>(code->k - 1) * e || source_len > static_cast<uint64_t>(code->k) * e ||
      repair_len != static_cast<uint64_t>(code->rows) * e) {
    Throw(env, "FEC_SYMBOL_SIZE: encodeRepair: source must be ((k-1)*E, k*E] bytes and repair exactly (n-k)*E");
    return env.Undefined();
  }
  EncodeRepair(*code, e, source, source_len, repair);
  return env.Undefined();
}

}  // namespace

void RegisterFecCodec(Napi::Env env, Napi::Object exports) {
  exports.Set("LdpcCode", CodeWrap::Define(env));
  exports.Set("LdpcDecoder", DecoderWrap::Define(env));
  exports.Set("LdpcRecvFast", FastWrap::Define(env));
  exports.Set("encodeRepair", Napi::Function::New(env, EncodeRepairJs));
}

}  // namespace fcast
