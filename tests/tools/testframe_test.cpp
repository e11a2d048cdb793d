// The guest tools' frame format, sequence tracking and port options, without an EAL: mbufs are
// laid out by hand over plain buffers.

#include "tools/guest/testframe.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "tools/guest/virtio_port.h"

namespace rtvs::testframe {
namespace {

// A chain of hand-made mbufs holding `bytes`, cut into segments of at most `seg` bytes.
class FakeChain {
 public:
  FakeChain(const std::vector<uint8_t>& bytes, size_t seg) {
    const size_t n = (bytes.size() + seg - 1) / seg;
    mbufs_.resize(n);
    data_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      rte_mbuf& m = mbufs_[i];
      std::memset(&m, 0, sizeof(m));
      data_[i].assign(bytes.begin() + i * seg,
                      bytes.begin() + std::min(bytes.size(), (i + 1) * seg));
      m.buf_addr = data_[i].data();
      m.data_off = 0;
      m.data_len = static_cast<uint16_t>(data_[i].size());
      m.next = i + 1 < n ? &mbufs_[i + 1] : nullptr;
    }
    mbufs_[0].pkt_len = static_cast<uint32_t>(bytes.size());
    mbufs_[0].nb_segs = static_cast<uint16_t>(n);
  }
  const rte_mbuf* head() const { return &mbufs_[0]; }
  uint8_t* byte(size_t seg, size_t i) { return &data_[seg][i]; }

 private:
  std::vector<rte_mbuf> mbufs_;
  std::vector<std::vector<uint8_t>> data_;
};

std::vector<uint8_t> stamped(FrameSpec spec, uint32_t flow, uint64_t seq, uint64_t tsc) {
  auto f = buildTemplate(spec);
  TestPayload p;
  const uint32_t off = headerLen(spec.vlan >= 0);
  std::memcpy(&p, f.data() + off, sizeof(p));
  p.flow = flow;
  p.seq = seq;
  p.tsc = tsc;
  std::memcpy(f.data() + off, &p, sizeof(p));
  return f;
}

TEST(TestFrame, TemplateLayout) {
  FrameSpec spec;
  spec.dst = parseMac("ff:ff:ff:ff:ff:ff", "dst");
  spec.src = parseMac("52:54:00:00:00:01", "src");
  spec.vlan = 100;
  spec.size = 64;
  const auto f = buildTemplate(spec);
  ASSERT_EQ(f.size(), 64u);
  EXPECT_EQ(f[12], 0x81);
  EXPECT_EQ(f[13], 0x00);
  EXPECT_EQ((f[14] << 8) | f[15], 100);
  EXPECT_EQ(f[16], 0x88);
  EXPECT_EQ(f[17], 0xB5);
  TestPayload p;
  std::memcpy(&p, f.data() + 18, sizeof(p));
  EXPECT_EQ(p.magic, kMagic);
  EXPECT_EQ(p.l2_len, 64u - 18);
}

TEST(TestFrame, ParsesOwnFramesAcrossSegments) {
  FrameSpec spec;
  spec.size = 9018;
  const auto f = stamped(spec, 7, 42, 1234);
  FakeChain chain(f, 2048);
  const Parsed p = parse(chain.head(), true);
  EXPECT_EQ(p.kind, Kind::kOurs);
  EXPECT_EQ(p.flow, 7u);
  EXPECT_EQ(p.seq, 42u);
  EXPECT_EQ(p.tsc, 1234u);
}

TEST(TestFrame, DetectsCorruptionAndTruncation) {
  FrameSpec spec;
  spec.size = 3000;
  auto f = stamped(spec, 1, 1, 1);
  FakeChain corrupt(f, 1000);
  *corrupt.byte(2, 17) ^= 1;
  EXPECT_EQ(parse(corrupt.head(), true).kind, Kind::kBad);
  EXPECT_EQ(parse(corrupt.head(), false).kind, Kind::kOurs);  // fill not checked
  f.resize(2000);
  FakeChain cut(f, 1000);
  EXPECT_EQ(parse(cut.head(), false).kind, Kind::kBad);
}

TEST(TestFrame, ForeignFrames) {
  FrameSpec spec;
  auto f = stamped(spec, 1, 1, 1);
  f[13] = 0x00;  // ethertype 0x8800
  EXPECT_EQ(parse(FakeChain(f, 2048).head(), true).kind, Kind::kForeign);
  std::vector<uint8_t> runt(10, 0xff);
  EXPECT_EQ(parse(FakeChain(runt, 2048).head(), true).kind, Kind::kForeign);
}

TEST(SeqTracker, DupAndReorder) {
  SeqTracker t;
  using R = SeqTracker::Result;
  EXPECT_EQ(t.observe(10), R::kNew);
  EXPECT_EQ(t.observe(12), R::kNew);
  EXPECT_EQ(t.observe(11), R::kReorder);
  EXPECT_EQ(t.observe(11), R::kDup);
  EXPECT_EQ(t.observe(12), R::kDup);
  EXPECT_EQ(t.observe(13), R::kNew);
  EXPECT_EQ(t.observe(13 + SeqTracker::kWindow), R::kNew);
  EXPECT_EQ(t.observe(14), R::kReorder);  // jumped over, then late
  EXPECT_EQ(t.observe(20 + SeqTracker::kWindow), R::kNew);
  EXPECT_EQ(t.observe(15 + SeqTracker::kWindow), R::kReorder);
  EXPECT_EQ(t.observe(15 + SeqTracker::kWindow), R::kDup);
  EXPECT_EQ(t.observe(12), R::kReorder);  // older than the window: cannot tell, not a dup
  EXPECT_EQ(t.observe(12), R::kReorder);
}

TEST(Mac, ParseAndFormat) {
  const auto m = parseMac("52:54:00:AB:cd:0f", "mac");
  EXPECT_EQ(macToString(m), "52:54:00:ab:cd:0f");
  EXPECT_EQ(macToU64(m), 0x525400abcd0fULL);
  EXPECT_THROW(parseMac("52:54:00:ab:cd", "mac"), std::invalid_argument);
  EXPECT_THROW(parseMac("52-54-00-ab-cd-0f", "mac"), std::invalid_argument);
  EXPECT_THROW(parseMac("52:54:00:ab:cd:0g", "mac"), std::invalid_argument);
}

TEST(PortArgs, ParsesAndNamesBadKeys) {
  const auto a =
      guest::parsePortArgs("path=/tmp/x.sock,server=1,queues=2,mac=52:54:00:00:00:01,mtu=9000");
  EXPECT_EQ(a.path, "/tmp/x.sock");
  EXPECT_TRUE(a.server);
  EXPECT_EQ(a.queues, 2u);
  EXPECT_EQ(a.mtu, 9000u);
  EXPECT_EQ(macToString(a.mac), "52:54:00:00:00:01");
  const auto r = guest::parsePortArgs("path=/tmp/y.sock");
  EXPECT_FALSE(rte_is_multicast_ether_addr(&r.mac));
  EXPECT_TRUE(rte_is_local_admin_ether_addr(&r.mac));
  auto error = [](const char* spec) {
    try {
      guest::parsePortArgs(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("server=1"), "port path: is required");
  EXPECT_NE(error("path=/a,queues=0").find("port queues"), std::string::npos);
  EXPECT_NE(error("path=/a,mtu=9001").find("port mtu"), std::string::npos);
  EXPECT_NE(error("path=/a,queue_size=1000").find("power of two"), std::string::npos);
  EXPECT_NE(error("path=/a,mac=01:00:00:00:00:01").find("unicast"), std::string::npos);
  EXPECT_NE(error("path=/a,color=red").find("unknown key 'color'"), std::string::npos);
  EXPECT_NE(error("path=/a,path=/b").find("given twice"), std::string::npos);
  EXPECT_NE(error("path=/a,server").find("not key=value"), std::string::npos);
}

}  // namespace
}  // namespace rtvs::testframe
