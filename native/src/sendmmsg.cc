// FC-msg replication (Flexicast QUIC's sendmmsg mode, research/quic.md §2.6, §3.5): the sender
// emulates multicast by sending the same encrypted flow packet to every listening receiver.
// node:dgram sends one datagram per call and exposes no file descriptor, so this file opens and
// owns its own UDP socket (socket/setsockopt/bind here; the fd is an integer TypeScript holds and
// must close with udpClose) and sends N copies with one sendmmsg(2): every mmsghdr's iovec points
// at the same packet buffer, only the destination differs.
//
// Exports (all validated in src/net/batch-udp.ts first; errors come back as -errno integers,
// which TypeScript turns into FcastError FLEX_SOCKET, never as exceptions):
//   udpOpen(family 4|6, bindAddr Uint8Array(4|16), port, sndbuf) -> fd | -errno
//   udpLocalPort(fd) -> port | -errno
//   udpClose(fd) -> 0 | -errno
//   sendmmsgCopies(fd, packet Uint8Array, addrs Uint8Array, count) -> copies sent | -errno
//     addrs packs `count` entries of 20 bytes: family u8 (4|6), 0 u8, port u16 BE, 16 address
//     bytes (IPv4 in the first 4). Sends stop early (returning the count so far) when the socket
//     buffer is full (non-blocking socket): the flow tolerates loss, the caller counts it.
// On other systems every call returns -ENOSYS.
#include "napi_args.h"
#include "sendmmsg.h"

#include <cerrno>
#include <cstring>
#include <vector>

#ifdef __linux__
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace {

using namespace fcast::napi_args;

constexpr size_t kAddrEntry = 20;
constexpr unsigned kBatch = 1024;  // UIO_MAXIOV: the kernel's cap on messages per sendmmsg call

#ifdef __linux__

// Fill `ss` from one 20-byte entry; returns the sockaddr length or 0 for a bad family.
socklen_t ToSockaddr(const uint8_t* e, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof(*ss));
  uint16_t port = static_cast<uint16_t>((e[2] << 8) | e[3]);
  if (e[0] == 4) {
    auto* a = reinterpret_cast<sockaddr_in*>(ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, e + 4, 4);
    return sizeof(sockaddr_in);
  }
  if (e[0] == 6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, e + 4, 16);
    return sizeof(sockaddr_in6);
  }
  return 0;
}

Napi::Value UdpOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t family, port, sndbuf;
  uint8_t* addr;
  size_t alen;
  if (info.Length() != 4 || !IntOf(info[0], &family) || !BytesOf(info[1], &addr, &alen) || !IntOf(info[2], &port) ||
      !IntOf(info[3], &sndbuf) || (family != 4 && family != 6) || alen != (family == 4 ? 4u : 16u) || port < 0 ||
      port > 65535 || sndbuf < 0 || sndbuf > (1 << 30)) {
    return BadCall(env, "udpOpen(family, bindAddr, port, sndbuf)");
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Num(env, -errno);
  if (sndbuf > 0) {
    int v = static_cast<int>(sndbuf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));  // best effort: the kernel clamps it
  }
  uint8_t entry[kAddrEntry] = {static_cast<uint8_t>(family), 0, static_cast<uint8_t>(port >> 8), static_cast<uint8_t>(port)};
  std::memcpy(entry + 4, addr, alen);
  sockaddr_storage ss;
  socklen_t sl = ToSockaddr(entry, &ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sl) != 0) {
    int err = errno;
    close(fd);
    return Num(env, -err);
  }
  return Num(env, fd);
}

Napi::Value UdpLocalPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (info.Length() != 1 || !IntOf(info[0], &fd) || fd < 0 || fd > 0x7fffffff) return BadCall(env, "udpLocalPort(fd)");
  sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&ss), &sl) != 0) return Num(env, -errno);
  if (ss.ss_family == AF_INET) return Num(env, ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
  return Num(env, ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port));
}

Napi::Value UdpClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (info.Length() != 1 || !IntOf(info[0], &fd) || fd < 0 || fd > 0x7fffffff) return BadCall(env, "udpClose(fd)");
  return Num(env, close(static_cast<int>(fd)) == 0 ? 0 : -errno);
}

Napi::Value SendmmsgCopies(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, count;
  uint8_t *packet, *addrs;
  size_t plen, alen;
  if (info.Length() != 4 || !IntOf(info[0], &fd) || !BytesOf(info[1], &packet, &plen) || !BytesOf(info[2], &addrs, &alen) ||
      !IntOf(info[3], &count) || fd < 0 || fd > 0x7fffffff || count < 0 || static_cast<size_t>(count) * kAddrEntry > alen ||
      plen > 65507) {
    return BadCall(env, "sendmmsgCopies(fd, packet, addrs, count)");
  }
  const unsigned n = static_cast<unsigned>(count);
  std::vector<sockaddr_storage> to(n < kBatch ? n : kBatch);
  std::vector<mmsghdr> msgs(to.size());
  iovec iov{packet, plen};
  int64_t sent = 0;
  for (unsigned base = 0; base < n; base += kBatch) {
    const unsigned k = n - base < kBatch ? n - base : kBatch;
    for (unsigned i = 0; i < k; i++) {
      socklen_t sl = ToSockaddr(addrs + (base + i) * kAddrEntry, &to[i]);
      if (sl == 0) return BadCall(env, "sendmmsgCopies: address family must be 4 or 6");
      std::memset(&msgs[i], 0, sizeof(mmsghdr));
      msgs[i].msg_hdr.msg_name = &to[i];
      msgs[i].msg_hdr.msg_namelen = sl;
      msgs[i].msg_hdr.msg_iov = &iov;
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned done = 0;
    while (done < k) {
      int r = sendmmsg(static_cast<int>(fd), msgs.data() + done, k - done, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (sent + done > 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Num(env, sent + done);
        return Num(env, sent + done > 0 ? sent + done : -errno);
      }
      done += static_cast<unsigned>(r);
    }
    sent += k;
  }
  return Num(env, sent);
}

#else  // not Linux: no sendmmsg(2)

Napi::Value NoSys(const Napi::CallbackInfo& info) { return Num(info.Env(), -ENOSYS); }
#define UdpOpen NoSys
#define UdpLocalPort NoSys
#define UdpClose NoSys
#define SendmmsgCopies NoSys

#endif

}  // namespace

namespace fcast {

void RegisterSendmmsg(Napi::Env env, Napi::Object exports) {
  exports.Set("udpOpen", Napi::Function::New(env, UdpOpen));
  exports.Set("udpLocalPort", Napi::Function::New(env, UdpLocalPort));
  exports.Set("udpClose", Napi::Function::New(env, UdpClose));
  exports.Set("sendmmsgCopies", Napi::Function::New(env, SendmmsgCopies));
}

}  // namespace fcast
