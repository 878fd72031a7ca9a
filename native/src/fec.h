// FEC kernels exported to JavaScript (codecs/ldpc-staircase/native-executor.ts is the only caller).
#pragma once
#include <napi.h>

namespace fcast {
// Adds xorProgram (and the other FEC kernels) to the addon's exports.
void RegisterFec(Napi::Env env, Napi::Object exports);
// Adds the native LDPC-Staircase codec classes (fec_codec_addon.cc); RegisterFec calls it.
void RegisterFecCodec(Napi::Env env, Napi::Object exports);
}  // namespace fcast
