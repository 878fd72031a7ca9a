// SHA-256 of file ranges on libuv's thread pool, through the OpenSSL that Node itself links and
// exports (as flow_aead.cc): the sender's source digests and the receiver's object digests leave
// the main thread (src/store/sha256-pool.ts).
#pragma once
#include <napi.h>

namespace fcast {
void RegisterSha256Job(Napi::Env env, Napi::Object exports);
}  // namespace fcast
