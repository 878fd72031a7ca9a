// The native LDPC-Staircase codec exported to JavaScript (codecs/ldpc-staircase/native-code.ts,
// native-decoder.ts and native-encoder.ts are the only callers).
#pragma once
#include <napi.h>

namespace fcast {
// Adds the native LDPC-Staircase codec classes (fec_codec_addon.cc) to the addon's exports.
void RegisterFecCodec(Napi::Env env, Napi::Object exports);
}  // namespace fcast
