// Batched IPv4 multicast receive. node:dgram hands JavaScript one datagram per libuv callback,
// about 13 us of CPU each on our 2-core test VM, which is most of a receiver's per-packet cost;
// recvmmsg(2) fetches many datagrams per system call into one caller-owned buffer. The socket
// is opened and owned here (the fd is an integer TypeScript holds and closes with udpClose from
// sendmmsg.cc); src/net/mcast-recv.ts polls it from a timer and falls back to node:dgram when
// this addon or Linux is missing.
//
// UDP GRO (Linux >= 5.0, udp(7) UDP_GRO): our sender sends runs of equal-size packets as one
// UDP GSO buffer (UDP_SEGMENT), and such a buffer crosses loopback, veth and bridges whole. A
// socket without UDP_GRO makes the kernel cut it into one skb per packet before queueing; with
// UDP_GRO the socket queues the buffer as it came and recvmsg reports the segment size in a
// UDP_GRO control message, so one recvmmsg entry carries up to 16 packets. The caller splits it
// (every segment gso_size bytes, the last one possibly shorter: the sender's GSO rule). Datagrams
// that were never aggregated come with segment size 0.
//
// Exports (validated in src/net/mcast-recv.ts first; failures are -errno integers):
//   mcastOpen4(group Uint8Array(4), port, iface Uint8Array(4), source Uint8Array(0|4), rcvbuf, gro)
//     -> fd | -errno. Binds group:port (only that group's datagrams), joins (ASM, or SSM when a
//     source is given) on the interface address (0.0.0.0 = the kernel's choice), and asks for
//     SO_RCVBUF = rcvbuf, with SO_RCVBUFFORCE first (root may exceed net.core.rmem_max). gro = 1
//     asks for UDP_GRO (best effort: a kernel without it simply never aggregates).
//     Optional 7th argument, flags: bit 0 (kOpenNoJoin) binds without joining (the caller joins
//     and leaves with mcastMembership4: WEBRC's channels, src/net/webrc-groups.ts); bit 1
//     (kOpenStamps) asks for SO_TIMESTAMPNS, the kernel's receive time of every datagram.
//   mcastMembership4(fd, group Uint8Array(4), iface Uint8Array(4), source Uint8Array(0|4), join)
//     -> 0 | -errno. IP_ADD/DROP_MEMBERSHIP, or IP_ADD/DROP_SOURCE_MEMBERSHIP with a source.
//   mcastRecvBatch(fd, buf Uint8Array, slot, meta Uint32Array[, ages Float64Array]) -> entries | -errno
//     Up to min(buf.length / slot, meta.length / 3, 64) entries; entry i is at buf[i*slot], its
//     length in meta[3i] (truncated ones are dropped by the kernel flag check: length = 0), its
//     IPv4 source address (network order as a big-endian u32) in meta[3i+1], its GRO segment size
//     in meta[3i+2] (0: one datagram). 0 when none is waiting (non-blocking socket). With ages
//     (a socket opened with kOpenStamps): ages[i] = ms from the kernel's SO_TIMESTAMPNS stamp of
//     entry i to a CLOCK_REALTIME read right after the call (a GRO entry has one stamp for all
//     its segments), -1 when the entry has none. An age, not the stamp: the stamps are
//     CLOCK_REALTIME (no monotonic receive stamp exists for sockets), and the caller subtracts
//     the age from its own monotonic clock read just after, so a step of the wall clock
//     misplaces only packets stamped before it and read after it, by the step, clamped at 0.
//   mcastRecvRuns(fd, buf Uint8Array, slot, offsets Uint32Array, lengths Uint32Array, runs Uint32Array)
//     -> entries | -errno. The same recvmmsg (no stamps), its entries cut here into datagrams (GRO
//     buffers split, empty entries skipped) and grouped into runs from one sender, so that
//     JavaScript does nothing per datagram: datagram j at buf[offsets[j], + lengths[j]);
//     runs[0] = datagrams, runs[1] = runs, runs[2] = GRO buffers among the entries, then per run
//     r: runs[3 + 2r] = its end (exclusive datagram index), runs[4 + 2r] = its IPv4 source (host
//     order). Entries read: up to min(buf.length / slot, (runs.length - 3) / 2, 64). Datagrams past
//     min(offsets.length, lengths.length) are dropped (runs[0] stops there): give room for 64
//     segments an entry (the kernel's UDP_GRO_CNT_MAX), and nothing is.
//   mcastRcvbuf(fd) -> the SO_RCVBUF the kernel granted | -errno
//   mcastGro(fd) -> 1 when UDP_GRO is on, 0 when not | -errno
#include "napi_args.h"
#include "recvmmsg.h"

#include <cerrno>
#include <cstring>

#ifdef __linux__
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#endif

namespace {

using namespace fcast::napi_args;

constexpr unsigned kMaxBatch = 64;
constexpr int kMeta = 3;
constexpr int64_t kOpenNoJoin = 1;
constexpr int64_t kOpenStamps = 2;
// mcastRecvRuns' runs array: datagrams, runs, GRO buffers; then per run (end index, source).
constexpr size_t kRunsHead = 3;

#ifndef UDP_GRO
#define UDP_GRO 104  // linux/udp.h; older libc headers lack it
#endif

#ifdef __linux__

// Join or leave group on iface (ASM), or (source, group) when a source is given (slen 4).
int Membership(int fd, const uint8_t* group, const uint8_t* iface, const uint8_t* source, size_t slen, bool join) {
  if (slen == 4) {
    ip_mreq_source m{};
    std::memcpy(&m.imr_multiaddr, group, 4);
    std::memcpy(&m.imr_interface, iface, 4);
    std::memcpy(&m.imr_sourceaddr, source, 4);
    return setsockopt(fd, IPPROTO_IP, join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP, &m, sizeof(m));
  }
  ip_mreq m{};
  std::memcpy(&m.imr_multiaddr, group, 4);
  std::memcpy(&m.imr_interface, iface, 4);
  return setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof(m));
}

Napi::Value McastOpen4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *group, *iface, *source;
  size_t glen, ilen, slen;
  int64_t port, rcvbuf, gro, flags = 0;
  if ((info.Length() != 6 && (info.Length() != 7 || !IntOf(info[6], &flags) || flags < 0 || flags > 3)) || !BytesOf(info[0], &group, &glen) || !IntOf(info[1], &port) || !BytesOf(info[2], &iface, &ilen) ||
      !BytesOf(info[3], &source, &slen) || !IntOf(info[4], &rcvbuf) || !IntOf(info[5], &gro) || glen != 4 || ilen != 4 ||
      (slen != 0 && slen != 4) || port < 1 || port > 65535 || rcvbuf < 0 || rcvbuf > (1 << 30) || (gro != 0 && gro != 1)) {
    return BadCall(env, "mcastOpen4(group, port, iface, source, rcvbuf, gro)");
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Num(env, -errno);
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) return Num(env, Fail(fd));
  if (rcvbuf > 0) {
    int v = static_cast<int>(rcvbuf);
    // FORCE needs CAP_NET_ADMIN; without it the plain option (capped by rmem_max) is best effort.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
  }
  // Best effort: without it the kernel segments GSO buffers itself and nothing else changes.
  if (gro == 1) setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one));
  if ((flags & kOpenStamps) != 0 && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) != 0) return Num(env, Fail(fd));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  std::memcpy(&sa.sin_addr, group, 4);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) return Num(env, Fail(fd));
  if ((flags & kOpenNoJoin) == 0 && Membership(fd, group, iface, source, slen, true) != 0) return Num(env, Fail(fd));
  return Num(env, fd);
}

Napi::Value McastMembership4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *group, *iface, *source;
  size_t glen, ilen, slen;
  int64_t fd, join;
  if (info.Length() != 5 || !IntOf(info[0], &fd) || !BytesOf(info[1], &group, &glen) || !BytesOf(info[2], &iface, &ilen) ||
      !BytesOf(info[3], &source, &slen) || !IntOf(info[4], &join) || fd < 0 || fd > 0x7fffffff || glen != 4 || ilen != 4 ||
      (slen != 0 && slen != 4) || (join != 0 && join != 1)) {
    return BadCall(env, "mcastMembership4(fd, group, iface, source, join)");
  }
  return Num(env, Membership(static_cast<int>(fd), group, iface, source, slen, join == 1) == 0 ? 0 : -errno);
}

// The CLOCK_REALTIME receive stamp of a datagram (SO_TIMESTAMPNS) in ms, or -1 without one.
double StampMs(msghdr* h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS || c->cmsg_len < CMSG_LEN(sizeof(timespec))) continue;
    timespec ts;
    std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
  }
  return -1;
}

// The UDP_GRO segment size of a received buffer, 0 when it is one datagram.
uint32_t GroSegment(msghdr* h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level != IPPROTO_UDP || c->cmsg_type != UDP_GRO || c->cmsg_len < CMSG_LEN(sizeof(int))) continue;
    int seg;
    std::memcpy(&seg, CMSG_DATA(c), sizeof(seg));
    return seg > 0 ? static_cast<uint32_t>(seg) : 0;
  }
  return 0;
}

// One recvmmsg(2) of up to n (<= kMaxBatch) entries into buf (entry i at buf + i * slot): each
// entry's length (0 when truncated), IPv4 source (host order), GRO segment size (0: one datagram)
// and, with ages, the age of its kernel stamp. The number of entries, 0 when none waits, or -errno.
int RecvEntries(int fd, uint8_t* buf, size_t slot, size_t n, uint32_t* lens, uint32_t* ips, uint32_t* segs, double* ages) {
  mmsghdr msgs[kMaxBatch];
  iovec iov[kMaxBatch];
  sockaddr_in from[kMaxBatch];
  // Room for the control messages we ask for (UDP_GRO: an int; SO_TIMESTAMPNS: a timespec), with alignment slack.
  alignas(cmsghdr) char control[kMaxBatch][CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(timespec)) + 16];
  std::memset(msgs, 0, sizeof(mmsghdr) * n);
  for (size_t i = 0; i < n; i++) {
    iov[i].iov_base = buf + i * slot;
    iov[i].iov_len = slot;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    msgs[i].msg_hdr.msg_control = control[i];
    msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
  }
  int r;
  do {
    r = recvmmsg(fd, msgs, static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  if (ages != nullptr) {
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const double nowMs = static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
    for (int i = 0; i < r; i++) {
      const double at = StampMs(&msgs[i].msg_hdr);
      ages[i] = at < 0 ? -1 : (nowMs > at ? nowMs - at : 0);
    }
  }
  for (int i = 0; i < r; i++) {
    const bool truncated = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    lens[i] = truncated ? 0 : msgs[i].msg_len;
    ips[i] = ntohl(from[i].sin_addr.s_addr);
    segs[i] = GroSegment(&msgs[i].msg_hdr);
  }
  return r;
}

Napi::Value McastRecvBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, slot;
  uint8_t* buf;
  size_t blen;
  if ((info.Length() != 4 && (info.Length() != 5 || !info[4].IsTypedArray() ||
                              info[4].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)) ||
      !IntOf(info[0], &fd) || !BytesOf(info[1], &buf, &blen) || !IntOf(info[2], &slot) ||
      !info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array || fd < 0 ||
      fd > 0x7fffffff || slot < 1 || slot > 65536) {
    return BadCall(env, "mcastRecvBatch(fd, buf, slot, meta[, ages])");
  }
  Napi::Uint32Array meta = info[3].As<Napi::Uint32Array>();
  double* ages = nullptr;
  size_t n = blen / static_cast<size_t>(slot);
  if (meta.ElementLength() / kMeta < n) n = meta.ElementLength() / kMeta;
  if (info.Length() == 5) {
    Napi::Float64Array a = info[4].As<Napi::Float64Array>();
    ages = a.Data();
    if (a.ElementLength() < n) n = a.ElementLength();
  }
  if (n > kMaxBatch) n = kMaxBatch;
  if (n == 0) return Num(env, 0);
  uint32_t lens[kMaxBatch], ips[kMaxBatch], segs[kMaxBatch];
  const int r = RecvEntries(static_cast<int>(fd), buf, static_cast<size_t>(slot), n, lens, ips, segs, ages);
  uint32_t* m = meta.Data();
  for (int i = 0; i < r; i++) {
    m[kMeta * i] = lens[i];
    m[kMeta * i + 1] = ips[i];
    m[kMeta * i + 2] = segs[i];
  }
  return Num(env, r);
}

Napi::Value McastRecvRuns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, slot;
  uint8_t* buf;
  size_t blen;
  auto u32 = [](const Napi::Value& v) { return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array; };
  if (info.Length() != 6 || !IntOf(info[0], &fd) || !BytesOf(info[1], &buf, &blen) || !IntOf(info[2], &slot) || !u32(info[3]) ||
      !u32(info[4]) || !u32(info[5]) || fd < 0 || fd > 0x7fffffff || slot < 1 || slot > 65536) {
    return BadCall(env, "mcastRecvRuns(fd, buf, slot, offsets, lengths, runs)");
  }
  Napi::Uint32Array offs = info[3].As<Napi::Uint32Array>(), lens_out = info[4].As<Napi::Uint32Array>(), runs = info[5].As<Napi::Uint32Array>();
  const size_t cap = offs.ElementLength() < lens_out.ElementLength() ? offs.ElementLength() : lens_out.ElementLength();
  size_t n = blen / static_cast<size_t>(slot);
  // Room for the header and one run per entry.
  if (runs.ElementLength() < kRunsHead + 2) return BadCall(env, "mcastRecvRuns: runs holds at least 5 words");
  if ((runs.ElementLength() - kRunsHead) / 2 < n) n = (runs.ElementLength() - kRunsHead) / 2;
  if (n > kMaxBatch) n = kMaxBatch;
  if (n == 0 || cap == 0) return Num(env, 0);
  uint32_t lens[kMaxBatch], ips[kMaxBatch], segs[kMaxBatch];
  const int r = RecvEntries(static_cast<int>(fd), buf, static_cast<size_t>(slot), n, lens, ips, segs, nullptr);
  if (r <= 0) return Num(env, r);
  uint32_t* o = offs.Data();
  uint32_t* l = lens_out.Data();
  uint32_t* rw = runs.Data();
  uint32_t count = 0, nruns = 0, gro = 0;
  for (int i = 0; i < r; i++) {
    const uint32_t len = lens[i];
    if (len == 0) continue;
    if (nruns == 0 || rw[kRunsHead + 2 * (nruns - 1) + 1] != ips[i]) {
      // A new run: the last one ends here.
      if (nruns > 0) rw[kRunsHead + 2 * (nruns - 1)] = count;
      rw[kRunsHead + 2 * nruns + 1] = ips[i];
      nruns++;
    }
    // A GRO buffer is segments of `seg` bytes, the last one possibly shorter (udp(7)).
    const uint32_t seg = segs[i] != 0 && segs[i] < len ? segs[i] : len;
    if (seg < len) gro++;
    const size_t start = static_cast<size_t>(i) * static_cast<size_t>(slot);
    for (uint32_t off = 0; off < len && count < cap; off += seg) {
      o[count] = static_cast<uint32_t>(start + off);
      l[count] = len - off < seg ? len - off : seg;
      count++;
    }
  }
  if (nruns > 0) rw[kRunsHead + 2 * (nruns - 1)] = count;
  rw[0] = count;
  rw[1] = nruns;
  rw[2] = gro;
  return Num(env, r);
}

Napi::Value McastRcvbuf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (info.Length() != 1 || !IntOf(info[0], &fd) || fd < 0 || fd > 0x7fffffff) return BadCall(env, "mcastRcvbuf(fd)");
  int v = 0;
  socklen_t l = sizeof(v);
  if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_RCVBUF, &v, &l) != 0) return Num(env, -errno);
  return Num(env, v);
}

Napi::Value McastGro(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd;
  if (info.Length() != 1 || !IntOf(info[0], &fd) || fd < 0 || fd > 0x7fffffff) return BadCall(env, "mcastGro(fd)");
  int v = 0;
  socklen_t l = sizeof(v);
  if (getsockopt(static_cast<int>(fd), IPPROTO_UDP, UDP_GRO, &v, &l) != 0) return Num(env, errno == ENOPROTOOPT ? 0 : -errno);
  return Num(env, v != 0 ? 1 : 0);
}

#else  // not Linux: no recvmmsg(2)

Napi::Value NoSys(const Napi::CallbackInfo& info) { return Num(info.Env(), -ENOSYS); }
#define McastOpen4 NoSys
#define McastRecvBatch NoSys
#define McastRecvRuns NoSys
#define McastRcvbuf NoSys
#define McastGro NoSys
#define McastMembership4 NoSys

#endif

}  // namespace

namespace fcast {

void RegisterRecvmmsg(Napi::Env env, Napi::Object exports) {
  exports.Set("mcastOpen4", Napi::Function::New(env, McastOpen4));
  exports.Set("mcastRecvBatch", Napi::Function::New(env, McastRecvBatch));
  exports.Set("mcastRecvRuns", Napi::Function::New(env, McastRecvRuns));
  exports.Set("mcastRcvbuf", Napi::Function::New(env, McastRcvbuf));
  exports.Set("mcastGro", Napi::Function::New(env, McastGro));
  exports.Set("mcastMembership4", Napi::Function::New(env, McastMembership4));
}

}  // namespace fcast
