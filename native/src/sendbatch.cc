// Batched IPv4 multicast send (the carousel's data path, src/net/batch-send.ts). node:dgram
// costs about 10 us of CPU per datagram here (a libuv request, a completion callback and one
// sendmsg each), most of the sender's per-packet budget; this file sends up to 64 different
// packets with one sendmmsg(2) from a staging buffer the caller fills. The socket is opened and
// owned here (the fd is an integer TypeScript holds and closes with udpClose from sendmmsg.cc),
// set up like src/net/udp-send.ts sets up its node:dgram socket: bound to the source address,
// IP_MULTICAST_IF, IP_MULTICAST_TTL, IP_MULTICAST_LOOP on, a large SO_SNDBUF.
//
// Exports (validated in src/net/batch-send.ts first; failures are -errno integers):
//   mcastSendOpen4(bind Uint8Array(4), iface Uint8Array(4), ttl, sndbuf) -> fd | -errno
//     Non-blocking. iface 0.0.0.0 leaves IP_MULTICAST_IF to the routing table. SO_SNDBUFFORCE is
//     tried first (root may exceed net.core.wmem_max), then SO_SNDBUF (best effort).
//   mcastSndbuf(fd) -> the SO_SNDBUF the kernel granted | -errno
//   sendBatch4(fd, stage Uint8Array, meta Uint32Array, count, dests Uint8Array, gso bool) -> sent | -errno
//     Packet i is stage[meta[3i] .. meta[3i] + meta[3i+1]) sent to destination meta[3i+2], an
//     index into `dests` (8-byte entries: IPv4 address, port u16 big-endian, 2 zero bytes).
//     Packets go in order; at most 64 per call. A full socket buffer (EAGAIN) stops the batch
//     early: the return value is the number sent so far (0 if none), the caller sends the rest
//     later. Another error with nothing sent yet is returned as -errno (with some sent, the
//     count; the next call meets the error again). gso: cut runs with UDP_SEGMENT (below).
// On other systems every call returns -ENOSYS.
#include "napi_args.h"
#include "sendbatch.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#ifdef __linux__
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace {

using namespace fcast::napi_args;

constexpr unsigned kMaxBatch = 64;
constexpr size_t kDestEntry = 8;
constexpr size_t kMaxDatagram = 65507;
// Segments per GSO message. A filter or queue that drops a GSO buffer before it is cut (a netdev
// ingress rule, a full qdisc on a veth or bridge) drops every segment at once; 16 keeps such a
// burst at about one packet per block of the carousel's 16-block window, and still divides the
// per-buffer cost of the stack by 16.
constexpr unsigned kMaxGsoSegments = 16;

#ifdef __linux__

Napi::Value McastSendOpen4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *bindAddr, *iface;
  size_t blen, ilen;
  int64_t ttl, sndbuf;
  if (info.Length() != 4 || !BytesOf(info[0], &bindAddr, &blen) || !BytesOf(info[1], &iface, &ilen) || !IntOf(info[2], &ttl) ||
      !IntOf(info[3], &sndbuf) || blen != 4 || ilen != 4 || ttl < 0 || ttl > 255 || sndbuf < 0 || sndbuf > (1 << 30)) {
    return BadCall(env, "mcastSendOpen4(bind, iface, ttl, sndbuf)");
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Num(env, -errno);
  if (sndbuf > 0) {
    int v = static_cast<int>(sndbuf);
    // FORCE needs CAP_NET_ADMIN; without it the plain option (capped by wmem_max) is best effort.
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  std::memcpy(&sa.sin_addr, bindAddr, 4);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return Num(env, Fail(fd));
  int t = static_cast<int>(ttl);
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &t, sizeof(t)) != 0) return Num(env, Fail(fd));
  int one = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) != 0) return Num(env, Fail(fd));
  in_addr ifa;
  std::memcpy(&ifa, iface, 4);
  if (ifa.s_addr != INADDR_ANY && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)) != 0) return Num(env, Fail(fd));
  return Num(env, fd);
}

Napi::Value McastSndbuf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (info.Length() != 1 || !IntOf(info[0], &fd) || fd < 0 || fd > 0x7fffffff) return BadCall(env, "mcastSndbuf(fd)");
  int v = 0;
  socklen_t l = sizeof(v);
  if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_SNDBUF, &v, &l) != 0) return Num(env, -errno);
  return Num(env, v);
}

// UDP GSO (UDP_SEGMENT, Linux 4.18): a run of equal-size packets to one destination, contiguous
// in the stage, goes as one message that the kernel (or the NIC) cuts into the same datagrams.
// One skb crosses the IP stack, the bridge and the veth instead of one per packet. A device that
// cannot (no checksum offload: EIO; no UDP_SEGMENT: ENOPROTOOPT / EOPNOTSUPP) turns GSO off for
// the process; a segment above the path MTU (EINVAL, or EMSGSIZE when the datagram is larger
// than the device MTU: `fcast send --allow-fragments`) sends that run packet by packet, which
// the kernel then fragments.
std::atomic<bool> g_gsoOff{false};

bool GsoUnsupported(int err) { return err == EIO || err == EOPNOTSUPP || err == ENOPROTOOPT; }

struct Batch {
  mmsghdr msgs[kMaxBatch];
  iovec iov[kMaxBatch];
  sockaddr_in to[kMaxBatch];
  alignas(cmsghdr) char ctl[kMaxBatch][CMSG_SPACE(sizeof(uint16_t))];
  unsigned first[kMaxBatch];  // first packet of message m
  unsigned count[kMaxBatch];  // packets in message m
};

// Packets first..first+count-1 of a failed GSO run, one datagram each. Returns packets sent, or
// -errno when the first one fails with something other than EAGAIN.
int64_t SendSingly(int fd, const Batch& b, unsigned m, uint8_t* stage, const uint32_t* meta) {
  const unsigned first = b.first[m];
  for (unsigned k = 0; k < b.count[m]; k++) {
    const unsigned i = first + k;
    ssize_t r;
    do {
      r = sendto(fd, stage + meta[3 * i], meta[3 * i + 1], 0, reinterpret_cast<const sockaddr*>(&b.to[m]), sizeof(sockaddr_in));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return k > 0 || errno == EAGAIN || errno == EWOULDBLOCK ? static_cast<int64_t>(k) : -errno;
  }
  return b.count[m];
}

Napi::Value SendBatch4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, count;
  uint8_t *stage, *dests;
  size_t slen, dlen;
  if (info.Length() != 6 || !IntOf(info[0], &fd) || !BytesOf(info[1], &stage, &slen) || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array || !IntOf(info[3], &count) ||
      !BytesOf(info[4], &dests, &dlen) || !info[5].IsBoolean() || fd < 0 || fd > 0x7fffffff || count < 0 || count > kMaxBatch) {
    return BadCall(env, "sendBatch4(fd, stage, meta, count, dests, gso)");
  }
  Napi::Uint32Array metaArr = info[2].As<Napi::Uint32Array>();
  const unsigned n = static_cast<unsigned>(count);
  if (metaArr.ElementLength() < 3 * static_cast<size_t>(n)) return BadCall(env, "sendBatch4: meta shorter than 3 x count");
  const uint32_t* meta = metaArr.Data();
  const size_t nDests = dlen / kDestEntry;
  for (unsigned i = 0; i < n; i++) {
    const size_t off = meta[3 * i], len = meta[3 * i + 1], dest = meta[3 * i + 2];
    if (off > slen || len > slen - off || len > kMaxDatagram || dest >= nDests) return BadCall(env, "sendBatch4: packet outside stage or bad destination");
  }
  const bool gso = info[5].As<Napi::Boolean>().Value() && !g_gsoOff.load(std::memory_order_relaxed);
  Batch b;
  unsigned msgs = 0;
  for (unsigned i = 0; i < n;) {
    const uint32_t off = meta[3 * i], len = meta[3 * i + 1], dest = meta[3 * i + 2];
    unsigned j = i + 1;
    // Extend the run: same size, same destination, next in the stage, within one 64 KiB datagram
    // and kMaxGsoSegments.
    if (gso && len > 0) {
      while (j < n && j - i < kMaxGsoSegments && meta[3 * j + 1] == len && meta[3 * j + 2] == dest && meta[3 * j] == meta[3 * (j - 1)] + len &&
             static_cast<size_t>(j - i + 1) * len <= kMaxDatagram) {
        j++;
      }
    }
    mmsghdr& mh = b.msgs[msgs];
    std::memset(&mh, 0, sizeof(mh));
    const uint8_t* e = dests + static_cast<size_t>(dest) * kDestEntry;
    sockaddr_in& to = b.to[msgs];
    std::memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, e, 4);
    to.sin_port = htons(static_cast<uint16_t>((e[4] << 8) | e[5]));
    b.iov[msgs].iov_base = stage + off;
    b.iov[msgs].iov_len = static_cast<size_t>(len) * (j - i);
    mh.msg_hdr.msg_name = &to;
    mh.msg_hdr.msg_namelen = sizeof(sockaddr_in);
    mh.msg_hdr.msg_iov = &b.iov[msgs];
    mh.msg_hdr.msg_iovlen = 1;
    if (j - i > 1) {
      mh.msg_hdr.msg_control = b.ctl[msgs];
      mh.msg_hdr.msg_controllen = sizeof(b.ctl[msgs]);
      cmsghdr* c = CMSG_FIRSTHDR(&mh.msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const uint16_t seg = static_cast<uint16_t>(len);
      std::memcpy(CMSG_DATA(c), &seg, sizeof(seg));
    }
    b.first[msgs] = i;
    b.count[msgs] = j - i;
    msgs++;
    i = j;
  }
  unsigned done = 0;  // messages
  int64_t sent = 0;   // packets
  while (done < msgs) {
    int r = sendmmsg(static_cast<int>(fd), b.msgs + done, msgs - done, 0);
    if (r < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (b.count[done] > 1 && (GsoUnsupported(err) || err == EINVAL || err == EMSGSIZE)) {
        if (GsoUnsupported(err)) g_gsoOff.store(true, std::memory_order_relaxed);
        const int64_t k = SendSingly(static_cast<int>(fd), b, done, stage, meta);
        if (k < 0) return Num(env, sent > 0 ? sent : k);
        sent += k;
        if (k < b.count[done]) return Num(env, sent);
        done++;
        continue;
      }
      if (err == EAGAIN || err == EWOULDBLOCK || sent > 0) return Num(env, sent);
      return Num(env, -err);
    }
    for (int m = 0; m < r; m++) sent += b.count[done + m];
    done += static_cast<unsigned>(r);
  }
  return Num(env, sent);
}

// sendGsoOff() -> bool: UDP GSO was turned off for this process (the device cannot segment).
Napi::Value SendGsoOff(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), g_gsoOff.load(std::memory_order_relaxed)); }

#else  // not Linux: no sendmmsg(2)

Napi::Value NoSys(const Napi::CallbackInfo& info) { return Num(info.Env(), -ENOSYS); }
#define McastSendOpen4 NoSys
#define McastSndbuf NoSys
#define SendBatch4 NoSys
#define SendGsoOff NoSys

#endif

}  // namespace

namespace fcast {

void RegisterSendBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("mcastSendOpen4", Napi::Function::New(env, McastSendOpen4));
  exports.Set("mcastSndbuf", Napi::Function::New(env, McastSndbuf));
  exports.Set("sendBatch4", Napi::Function::New(env, SendBatch4));
  exports.Set("sendGsoOff", Napi::Function::New(env, SendGsoOff));
}

}  // namespace fcast
