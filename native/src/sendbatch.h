// Batched IPv4 multicast send for the carousel sender: many different packets, one sendmmsg(2).
// Loaded only through src/net/batch-send.ts.
#pragma once
#include <napi.h>

namespace fcast {
void RegisterSendBatch(Napi::Env env, Napi::Object exports);
}  // namespace fcast
