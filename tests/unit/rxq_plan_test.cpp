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

}  // namespace
}  // namespace rtvs
