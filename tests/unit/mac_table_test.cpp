#include "switch/core/mac_table.h"

#include <gtest/gtest.h>

namespace rtvs {
namespace {

TEST(MacTable, LearnLookupMove) {
  MacTable t(16);
  EXPECT_EQ(t.lookup(0x525400000001).port, kNoPort);
  EXPECT_EQ(t.learn(0x525400000001, 3, 100), MacTable::LearnResult::kNew);
  EXPECT_EQ(t.lookup(0x525400000001).port, 3);
  EXPECT_EQ(t.learn(0x525400000001, 3, 200), MacTable::LearnResult::kRefreshed);
  EXPECT_EQ(t.learn(0x525400000001, 5, 300), MacTable::LearnResult::kMoved);
  EXPECT_EQ(t.lookup(0x525400000001).port, 5);
  EXPECT_EQ(t.size(), 1u);
}

}  // namespace
}  // namespace rtvs
