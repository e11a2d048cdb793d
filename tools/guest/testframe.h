#pragma once
// Test frames shared by rtvs-guest and rtvswitch-probe. Layout:
//   dst(6) src(6) [0x8100 TCI(2)] 0x88B5 | TestPayload | fill byte i = i & 0xff
// where i counts from the start of TestPayload. 0x88B5 is the IEEE "local experimental"
// ethertype, so a switch never interprets these frames. Both ends are our own processes on the
// same host, so the payload is in host byte order. The payload records its own L2 payload length
// (from TestPayload to the end), so a switch that pushes or pops a VLAN tag does not make a
// frame look truncated, but a cut or padded one does.

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rtvs::testframe {

inline constexpr uint16_t kEtherType = 0x88B5;
inline constexpr uint32_t kMagic = 0x52545653;  // "RTVS"
inline constexpr uint32_t kMaxFrame = 9018;     // 9000 MTU + Ethernet header + one VLAN tag

struct __attribute__((packed)) TestPayload {
  uint32_t magic;
  uint32_t flow;
  uint64_t seq;
  uint64_t tsc;
  uint32_t l2_len;  // bytes from the start of this struct to the end of the frame
};

// Headers up to and including the ethertype.
constexpr uint32_t headerLen(bool vlan) { return vlan ? 18 : 14; }
constexpr uint32_t minFrame(bool vlan) { return headerLen(vlan) + sizeof(TestPayload); }

struct FrameSpec {
  rte_ether_addr dst{};
  rte_ether_addr src{};
  int vlan = -1;  // 0..4095 adds an 802.1Q tag
  uint32_t size = 64;
};

// A frame's bytes with flow/seq/tsc zero; stamp them per frame with stamp().
std::vector<uint8_t> buildTemplate(const FrameSpec& spec);

// Copies `len` bytes into a new mbuf chain from `pool` (several segments when the data room is
// smaller than len). Returns nullptr when the pool is empty.
rte_mbuf* mbufFromBytes(rte_mempool* pool, const uint8_t* bytes, uint32_t len) noexcept;

// Writes flow/seq/tsc into a frame built from a template (the payload is in the first segment:
// every data room is larger than minFrame()).
inline void stamp(rte_mbuf* m, uint32_t payload_offset, uint32_t flow, uint64_t seq,
                  uint64_t tsc) noexcept {
  auto* p = rte_pktmbuf_mtod_offset(m, TestPayload*, payload_offset);
  p->flow = flow;
  p->seq = seq;
  p->tsc = tsc;
}

enum class Kind { kForeign, kOurs, kBad };

struct Parsed {
  Kind kind = Kind::kForeign;
  uint32_t flow = 0;
  uint64_t seq = 0;
  uint64_t tsc = 0;
};

// Classifies a received frame: kForeign if it is not 0x88B5 with our magic; kBad if it is ours
// but its length or (with verify_fill) its fill bytes are wrong.
Parsed parse(const rte_mbuf* m, bool verify_fill) noexcept;

// Duplicate and reordering detection for one sequence space. A window of the last kWindow
// sequence numbers remembers which were seen; older ones count as reordered.
class SeqTracker {
 public:
  static constexpr uint64_t kWindow = 4096;
  enum class Result { kNew, kDup, kReorder };
  Result observe(uint64_t seq) noexcept;

 private:
  bool started_ = false;
  uint64_t max_ = 0;
  std::bitset<kWindow> seen_;
};

std::string macToString(const rte_ether_addr& mac);
// Throws std::invalid_argument (message names `what`) unless s is six ':'-separated hex bytes.
rte_ether_addr parseMac(std::string_view s, std::string_view what);
uint64_t macToU64(const rte_ether_addr& mac) noexcept;

}  // namespace rtvs::testframe
