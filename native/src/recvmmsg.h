// Batched multicast receive for the receiver (src/net/mcast-recv.ts): one recvmmsg(2) system
// call for up to 64 datagrams instead of one libuv callback per datagram.
#pragma once
#include <napi.h>

namespace fcast {
void RegisterRecvmmsg(Napi::Env env, Napi::Object exports);
}  // namespace fcast
