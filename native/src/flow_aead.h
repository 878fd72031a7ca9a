// AES-256-GCM for the flexicast shared flow (src/flexicast/flow-crypto.ts) through the OpenSSL
// that Node itself links and exports: one call per packet instead of node:crypto's five.
#pragma once
#include <napi.h>

namespace fcast {
void RegisterFlowAead(Napi::Env env, Napi::Object exports);
}  // namespace fcast
