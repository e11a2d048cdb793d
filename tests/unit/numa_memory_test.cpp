#include "switch/core/numa_memory.h"

#include <gtest/gtest.h>

namespace rtvs {
namespace {

using Args = std::vector<std::string>;

TEST(NumaMemory, OneNodeIsTheWholeAmount) {
  EXPECT_EQ(socketMemArgs({0}, 1, 512, 0), (Args{"--socket-mem", "512"}));
  EXPECT_EQ(socketMemArgs({}, 1, 512, 0), (Args{"--socket-mem", "512"}));
  EXPECT_EQ(socketMemArgs({0, 0}, 1, 256, 1024),
            (Args{"--socket-mem", "256", "--socket-limit", "1024"}));
}

TEST(NumaMemory, EachUsedNodeGetsItsShare) {
  // Two nodes, PMDs on node 1, housekeeping on node 0.
  EXPECT_EQ(socketMemArgs({1, 0}, 2, 512, 0), (Args{"--socket-mem", "512,512"}));
  // Four nodes, everything on node 1: nodes 2 and 3 left out, node 0 none.
  EXPECT_EQ(socketMemArgs({1, 1}, 4, 1024, 2048),
            (Args{"--socket-mem", "0,1024", "--socket-limit", "0,2048"}));
  // Node 1 between two used nodes: listed with 0.
  EXPECT_EQ(socketMemArgs({0, 2}, 3, 64, 0), (Args{"--socket-mem", "64,0,64"}));
}

TEST(NumaMemory, LimitNeverBelowTheReservation) {
  EXPECT_EQ(socketMemArgs({0, 1}, 2, 512, 128),
            (Args{"--socket-mem", "512,512", "--socket-limit", "512,512"}));
}

TEST(NumaMemory, UnknownNodesAreIgnored) {
  EXPECT_EQ(socketMemArgs({-1, 7}, 2, 512, 0), (Args{"--socket-mem", "512"}));
  EXPECT_EQ(socketMemArgs({1}, 0, 512, 0), (Args{"--socket-mem", "512"}));
}

}  // namespace
}  // namespace rtvs
