#include "tools/guest/testframe.h"

#include <rte_byteorder.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace rtvs::testframe {

std::vector<uint8_t> buildTemplate(const FrameSpec& spec) {
  const bool vlan = spec.vlan >= 0;
  std::vector<uint8_t> f(spec.size, 0);
  std::memcpy(f.data(), spec.dst.addr_bytes, 6);
  std::memcpy(f.data() + 6, spec.src.addr_bytes, 6);
  uint32_t off = 12;
  if (vlan) {
    const uint16_t tpid = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
    const uint16_t tci = rte_cpu_to_be_16(static_cast<uint16_t>(spec.vlan));
    std::memcpy(f.data() + off, &tpid, 2);
    std::memcpy(f.data() + off + 2, &tci, 2);
    off += 4;
  }
  const uint16_t type = rte_cpu_to_be_16(kEtherType);
  std::memcpy(f.data() + off, &type, 2);
  off += 2;
  TestPayload p{};
  p.magic = kMagic;
  p.l2_len = spec.size - off;
  std::memcpy(f.data() + off, &p, sizeof(p));
  for (uint32_t i = sizeof(p); off + i < spec.size; ++i) f[off + i] = static_cast<uint8_t>(i);
  return f;
}

rte_mbuf* mbufFromBytes(rte_mempool* pool, const uint8_t* bytes, uint32_t len) noexcept {
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  uint32_t done = 0;
  while (done < len || head == nullptr) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    const uint32_t n = std::min<uint32_t>(len - done, rte_pktmbuf_tailroom(m));
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), bytes + done, n);
    m->data_len = static_cast<uint16_t>(n);
    done += n;
    if (head == nullptr) {
      head = m;
    } else {
      tail->next = m;
      head->nb_segs++;
    }
    tail = m;
  }
  head->pkt_len = len;
  return head;
}

Parsed parse(const rte_mbuf* m, bool verify_fill) noexcept {
  Parsed r;
  uint8_t buf[minFrame(true)];
  const uint32_t len = m->pkt_len;
  if (len < minFrame(false)) return r;
  const auto* h = static_cast<const uint8_t*>(
      rte_pktmbuf_read(m, 0, std::min<uint32_t>(len, sizeof(buf)), buf));
  uint16_t type;
  std::memcpy(&type, h + 12, 2);
  uint32_t off = 14;
  if (type == rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) {
    if (len < minFrame(true)) return r;
    std::memcpy(&type, h + 16, 2);
    off = 18;
  }
  if (type != rte_cpu_to_be_16(kEtherType)) return r;
  TestPayload p;
  std::memcpy(&p, h + off, sizeof(p));
  if (p.magic != kMagic) return r;
  r.flow = p.flow;
  r.seq = p.seq;
  r.tsc = p.tsc;
  r.kind = Kind::kOurs;
  if (p.l2_len != len - off) {
    r.kind = Kind::kBad;
    return r;
  }
  if (!verify_fill) return r;
  // Walk the segments: byte at frame offset o must be (o - off) & 0xff past the payload struct.
  uint32_t seg_start = 0;
  const uint32_t fill_start = off + sizeof(TestPayload);
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    const auto* d = rte_pktmbuf_mtod(s, const uint8_t*);
    for (uint32_t i = std::max(seg_start, fill_start); i < seg_start + s->data_len; ++i) {
      if (d[i - seg_start] != static_cast<uint8_t>(i - off)) {
        r.kind = Kind::kBad;
        return r;
      }
    }
    seg_start += s->data_len;
  }
  if (seg_start != len) r.kind = Kind::kBad;
  return r;
}

SeqTracker::Result SeqTracker::observe(uint64_t seq) noexcept {
  if (!started_) {
    started_ = true;
    max_ = seq;
    seen_.reset();
    seen_.set(seq % kWindow);
    return Result::kNew;
  }
  if (seq > max_) {
    if (seq - max_ >= kWindow) {
      seen_.reset();
    } else {
      for (uint64_t s = max_ + 1; s < seq; ++s) seen_.reset(s % kWindow);
    }
    max_ = seq;
    seen_.set(seq % kWindow);
    return Result::kNew;
  }
  if (max_ - seq >= kWindow) return Result::kReorder;
  if (seen_.test(seq % kWindow)) return Result::kDup;
  seen_.set(seq % kWindow);
  return Result::kReorder;
}

std::string macToString(const rte_ether_addr& mac) {
  char s[RTE_ETHER_ADDR_FMT_SIZE];
  const auto* b = mac.addr_bytes;
  std::snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return s;
}

rte_ether_addr parseMac(std::string_view s, std::string_view what) {
  rte_ether_addr mac{};
  auto bad = [&] {
    return std::invalid_argument(std::string(what) + ": '" + std::string(s) +
                                 "' is not a MAC address (xx:xx:xx:xx:xx:xx)");
  };
  if (s.size() != 17) throw bad();
  for (int i = 0; i < 6; ++i) {
    if (i > 0 && s[i * 3 - 1] != ':') throw bad();
    unsigned v = 0;
    for (int j = 0; j < 2; ++j) {
      const char c = s[i * 3 + j];
      unsigned d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        throw bad();
      }
      v = v * 16 + d;
    }
    mac.addr_bytes[i] = static_cast<uint8_t>(v);
  }
  return mac;
}

uint64_t macToU64(const rte_ether_addr& mac) noexcept {
  uint64_t v = 0;
  for (uint8_t b : mac.addr_bytes) v = (v << 8) | b;
  return v;
}

}  // namespace rtvs::testframe
