// Batched UDP send for the flexicast FC-msg mode (issue 6): one flow packet, many unicast copies,
// one sendmmsg(2) system call. Loaded only through src/net/batch-udp.ts.
#pragma once
#include <napi.h>

namespace fcast {
void RegisterSendmmsg(Napi::Env env, Napi::Object exports);
}  // namespace fcast
