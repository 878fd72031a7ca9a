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
//   fillRun(stage Uint8Array, used, meta Uint32Array, at, dest, headers Uint8Array[],
//           payloads Uint8Array[], words Uint32Array, count) -> used after the run
//     Writes packets at..at+count-1 of the batch from a run the carousel core described
//     (src/carousel/sender.ts DataRun): packet i is headers[i] with bytes 4-7 replaced by
//     words[2i+1] (the CCI) and its last 4 by words[2i] (the FEC payload ID), both big-endian,
//     then payloads[i]; it goes at stage[used..], and meta gets its (offset, length, dest). One
//     call and one copy per packet where the TypeScript path made a datagram, then copied it into
//     the stage. Every length and offset is checked before anything is written; a bad call throws
//     and writes nothing. Not Linux-specific.
// On other systems every socket call returns -ENOSYS.
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

constexpr size_t kHeaderMin = 12;
// Packets whose symbols are fetched ahead of the copy (see FillRun).
constexpr uint32_t kPrefetchAhead = 3;  // LCT first word, CCI, and a 4-byte FEC payload ID at least

Napi::Value FillRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* stage;
  size_t slen;
  int64_t used, at, dest, count;
  if (info.Length() != 9 || !BytesOf(info[0], &stage, &slen) || !IntOf(info[1], &used) || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array || !IntOf(info[3], &at) || !IntOf(info[4], &dest) ||
      !info[5].IsArray() || !info[6].IsArray() || !info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      !IntOf(info[8], &count)) {
    return BadCall(env, "fillRun(stage, used, meta, at, dest, headers, payloads, words, count)");
  }
  Napi::Uint32Array metaArr = info[2].As<Napi::Uint32Array>();
  Napi::Uint32Array wordArr = info[7].As<Napi::Uint32Array>();
  Napi::Array headers = info[5].As<Napi::Array>();
  Napi::Array payloads = info[6].As<Napi::Array>();
  if (used < 0 || static_cast<uint64_t>(used) > slen || at < 0 || at > 0xffffffffLL || count < 0 || count > kMaxBatch || dest < 0 || dest > 0xffffffffLL ||
      static_cast<uint64_t>(at + count) * 3 > metaArr.ElementLength() || static_cast<uint64_t>(count) * 2 > wordArr.ElementLength() ||
      static_cast<uint64_t>(count) > headers.Length() || static_cast<uint64_t>(count) > payloads.Length()) {
    return BadCall(env, "fillRun: used, at, dest or count outside the arrays given");
  }
  uint32_t* meta = metaArr.Data();
  const uint32_t* words = wordArr.Data();
  // First every packet's bytes and room, checked, then the copies: nothing is written for a bad call.
  const uint8_t* hp[kMaxBatch];
  const uint8_t* pp[kMaxBatch];
  size_t hl[kMaxBatch], pl[kMaxBatch];
  size_t end = static_cast<size_t>(used);
  for (uint32_t i = 0; i < static_cast<uint32_t>(count); i++) {
    uint8_t *h, *p;
    size_t hlen, plen;
    if (!BytesOf(headers.Get(i), &h, &hlen) || !BytesOf(payloads.Get(i), &p, &plen)) return BadCall(env, "fillRun: headers[i] and payloads[i] must be Uint8Arrays");
    if (hlen < kHeaderMin || plen > kMaxDatagram || hlen > kMaxDatagram - plen || hlen + plen > slen - end) {
      return BadCall(env, "fillRun: a header shorter than 12 bytes, a datagram over 65507 bytes, or no room in the stage");
    }
    hp[i] = h;
    pp[i] = p;
    hl[i] = hlen;
    pl[i] = plen;
    end += hlen + plen;
  }
  // The symbols come from block buffers far larger than the caches, one from each block in turn
  // (the carousel's round robin), so each copy waits on memory: the next packet's symbol is
  // fetched while this one is copied
  // (a few ahead: one was not enough to hide the latency).
  auto prefetch = [&](uint32_t i) {
    for (size_t o = 0; o < pl[i]; o += 64) __builtin_prefetch(pp[i] + o, 0, 0);
  };
  const uint32_t n = static_cast<uint32_t>(count);
  for (uint32_t i = 0; i < kPrefetchAhead && i < n; i++) prefetch(i);
  size_t off = static_cast<size_t>(used);
  for (uint32_t i = 0; i < n; i++) {
    if (i + kPrefetchAhead < n) prefetch(i + kPrefetchAhead);
    const size_t hlen = hl[i], plen = pl[i];
    uint8_t* d = stage + off;
    std::memcpy(d, hp[i], hlen);
    const uint32_t cci = words[2 * i + 1], id = words[2 * i];
    d[4] = static_cast<uint8_t>(cci >> 24);
    d[5] = static_cast<uint8_t>(cci >> 16);
    d[6] = static_cast<uint8_t>(cci >> 8);
    d[7] = static_cast<uint8_t>(cci);
    d[hlen - 4] = static_cast<uint8_t>(id >> 24);
    d[hlen - 3] = static_cast<uint8_t>(id >> 16);
    d[hlen - 2] = static_cast<uint8_t>(id >> 8);
    d[hlen - 1] = static_cast<uint8_t>(id);
    std::memcpy(d + hlen, pp[i], plen);
    const size_t m = 3 * static_cast<size_t>(at + i);
    meta[m] = static_cast<uint32_t>(off);
    meta[m + 1] = static_cast<uint32_t>(hlen + plen);
    meta[m + 2] = static_cast<uint32_t>(dest);
    off += hlen + plen;
  }
  return Num(env, static_cast<int64_t>(off));
}

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
  exports.Set("fillRun", Napi::Function::New(env, FillRun));
}

}  // namespace fcast
