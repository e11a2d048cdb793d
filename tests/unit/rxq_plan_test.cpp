#include "switch/core/rxq_plan.h"

#include <gtest/gtest.h>

namespace rtvs {
namespace {

std::vector<unsigned> loadOf(const std::vector<RxqSlot>& plan, unsigned n) {
  std::vector<unsigned> l(n, 0);
  for (const auto& s : plan) ++l[s.pmd];
  return l;
}

TEST(RxqPlan, AddSpreadsQueuesOverLeastLoadedPmds) {
  auto plan = planAdd({}, 0, 3, 2);
  EXPECT_EQ(plan, (std::vector<RxqSlot>{{0, 0, 0}, {0, 1, 1}, {0, 2, 0}}));
  plan = planAdd(plan, 1, 1, 2);
  EXPECT_EQ(plan.back(), (RxqSlot{1, 0, 1}));
  EXPECT_EQ(loadOf(plan, 2), (std::vector<unsigned>{2, 2}));
}

TEST(RxqPlan, SinglePmdTakesEverything) {
  auto plan = planAdd(planAdd({}, 0, 2, 1), 1, 4, 1);
  EXPECT_EQ(loadOf(plan, 1), (std::vector<unsigned>{6}));
  EXPECT_EQ(planRebalance(plan, 1), plan);
}

TEST(RxqPlan, RebalanceAfterRemovalMovesOnlyWhatIsNeeded) {
  // Four single-queue ports on two PMDs: 0,1,0,1. Remove the two on PMD 1.
  auto plan = planAdd({}, 0, 1, 2);
  plan = planAdd(plan, 1, 1, 2);
  plan = planAdd(plan, 2, 1, 2);
  plan = planAdd(plan, 3, 1, 2);
  std::erase_if(plan, [](const RxqSlot& s) { return s.pmd == 1; });
  ASSERT_EQ(loadOf(plan, 2), (std::vector<unsigned>{2, 0}));
  const auto after = planRebalance(plan, 2);
  EXPECT_EQ(loadOf(after, 2), (std::vector<unsigned>{1, 1}));
  int moved = 0;
  for (size_t i = 0; i < plan.size(); ++i) moved += plan[i].pmd != after[i].pmd;
  EXPECT_EQ(moved, 1);
}

TEST(RxqPlan, BalancedPlanIsLeftAlone) {
  auto plan = planAdd({}, 0, 5, 3);  // 2,2,1
  EXPECT_EQ(planRebalance(plan, 3), plan);
}

TEST(RxqPlan, BadInput) {
  EXPECT_THROW(planAdd({}, 0, 1, 0), std::invalid_argument);
  EXPECT_THROW(planRebalance({{0, 0, 5}}, 2), std::invalid_argument);
}

// rxq-affinity: a pinned queue goes to its PMD, which then polls nothing else.
TEST(RxqPlan, PinnedQueuesIsolateTheirPmd) {
  // Three PMDs; port 0 (RT) pins its queue to PMD 2; best-effort ports never land there.
  const std::vector<RxqPin> pins{{0, 0, 2}};
  auto plan = planAdd({}, 0, 1, 3, pins);
  EXPECT_EQ(plan, (std::vector<RxqSlot>{{0, 0, 2}}));
  for (uint32_t port = 1; port <= 5; ++port) plan = planAdd(plan, port, 2, 3, pins);
  EXPECT_EQ(loadOf(plan, 3), (std::vector<unsigned>{5, 5, 1}));
  EXPECT_EQ(isolatedPmds(pins, 3), (std::vector<bool>{false, false, true}));
  // Rebalancing after removals never fills the isolated PMD.
  std::erase_if(plan, [](const RxqSlot& s) { return s.pmd == 1; });
  const auto after = planRebalance(plan, 3, pins);
  EXPECT_EQ(loadOf(after, 3), (std::vector<unsigned>{3, 2, 1}));
  EXPECT_EQ(after[0], (RxqSlot{0, 0, 2}));
}

TEST(RxqPlan, PinningMovesOtherQueuesOffTheNewlyIsolatedPmd) {
  // Two PMDs with two single-queue ports each: 0,1,0,1. Port 3 then pins its queue to PMD 0.
  auto plan = planAdd({}, 0, 1, 2);
  for (uint32_t port = 1; port < 4; ++port) plan = planAdd(plan, port, 1, 2);
  const auto after = planPins(plan, 2, {{3, 0, 0}});
  EXPECT_EQ(after, (std::vector<RxqSlot>{{0, 0, 1}, {1, 0, 1}, {2, 0, 1}, {3, 0, 0}}));
  // Unpinning gives PMD 0 back to everyone: the load evens out again.
  const auto unpinned = planPins(after, 2, {});
  EXPECT_EQ(loadOf(unpinned, 2), (std::vector<unsigned>{2, 2}));
  EXPECT_EQ(unpinned[3], (RxqSlot{3, 0, 0}));  // stays where it is
}

TEST(RxqPlan, PinsOfOnePortSplitOverPmds) {
  // A two-queue RT port with each queue on its own PMD; the third PMD takes the rest.
  const std::vector<RxqPin> pins{{0, 0, 0}, {0, 1, 1}};
  auto plan = planAdd({}, 0, 2, 3, pins);
  plan = planAdd(plan, 1, 3, 3, pins);
  EXPECT_EQ(loadOf(plan, 3), (std::vector<unsigned>{1, 1, 3}));
}

TEST(RxqPlan, NowhereLeftForUnpinnedQueues) {
  // Both PMDs isolated: a port with an unpinned queue cannot be placed.
  const std::vector<RxqPin> pins{{0, 0, 0}, {0, 1, 1}};
  EXPECT_THROW(planAdd({}, 0, 3, 2, pins), std::invalid_argument);
  EXPECT_NO_THROW(planAdd({}, 0, 2, 2, pins));
  EXPECT_THROW(planAdd({}, 0, 1, 2, {{0, 0, 2}}), std::invalid_argument);  // no PMD 2
}

}  // namespace
}  // namespace rtvs
