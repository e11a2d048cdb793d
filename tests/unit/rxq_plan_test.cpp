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

// NUMA: a described two-node host, PMDs 0 and 1 on node 0, PMDs 2 and 3 on node 1.
RxqNodes twoNodes(std::map<uint32_t, int> ports) { return {{0, 0, 1, 1}, std::move(ports)}; }

TEST(RxqPlanNuma, QueuesGoToPmdsOnTheirPortsNode) {
  const RxqNodes nodes = twoNodes({{0, 1}, {1, 0}});
  auto plan = planAdd({}, 0, 3, 4, {}, nodes);  // a NIC on node 1
  EXPECT_EQ(plan, (std::vector<RxqSlot>{{0, 0, 2}, {0, 1, 3}, {0, 2, 2}}));
  plan = planAdd(plan, 1, 2, 4, {}, nodes);  // a guest whose memory is on node 0
  EXPECT_EQ(loadOf(plan, 4), (std::vector<unsigned>{1, 1, 2, 1}));
  EXPECT_EQ(plan[3].pmd, 0u);
  EXPECT_EQ(plan[4].pmd, 1u);
  // A port whose node is not known yet (a vhost port before its guest): any PMD, least loaded.
  plan = planAdd(plan, 2, 1, 4, {}, nodes);
  EXPECT_EQ(plan.back(), (RxqSlot{2, 0, 0}));
}

TEST(RxqPlanNuma, NodeWithoutPmdsUsesAnyPmd) {
  // Every PMD on node 0, the NIC on node 1: cross-node rather than nowhere.
  const RxqNodes nodes{{0, 0}, {{0, 1}}};
  const auto plan = planAdd({}, 0, 2, 2, {}, nodes);
  EXPECT_EQ(loadOf(plan, 2), (std::vector<unsigned>{1, 1}));
}

TEST(RxqPlanNuma, GuestNodeKnownLaterMovesItsQueuesHome) {
  // Two queues placed before the guest connected (node unknown), then its memory is on node 1.
  auto plan = planAdd({}, 0, 2, 4, {}, twoNodes({}));
  EXPECT_EQ(plan, (std::vector<RxqSlot>{{0, 0, 0}, {0, 1, 1}}));
  const auto after = planPins(plan, 4, {}, twoNodes({{0, 1}}));
  EXPECT_EQ(after, (std::vector<RxqSlot>{{0, 0, 2}, {0, 1, 3}}));
  // Nothing else to do: placing again moves nothing.
  EXPECT_EQ(planPins(after, 4, {}, twoNodes({{0, 1}})), after);
}

TEST(RxqPlanNuma, RebalanceStaysOnTheNode) {
  // Node 1's queues crowd its PMDs while node 0's are idle: they stay on node 1, evened out there.
  const RxqNodes nodes = twoNodes({{0, 1}, {1, 0}});
  std::vector<RxqSlot> plan{{0, 0, 2}, {0, 1, 2}, {0, 2, 2}, {0, 3, 3}};
  auto after = planRebalance(plan, 4, {}, nodes);
  EXPECT_EQ(loadOf(after, 4), (std::vector<unsigned>{0, 0, 2, 2}));
  // Without node information the same plan spreads over all four.
  EXPECT_EQ(loadOf(planRebalance(plan, 4), 4), (std::vector<unsigned>{1, 1, 1, 1}));
  // A port of unknown node on a crowded PMD moves to the idle node.
  plan.push_back({2, 0, 2});
  after = planRebalance(plan, 4, {}, twoNodes({{0, 1}}));
  EXPECT_EQ(after.back(), (RxqSlot{2, 0, 0}));
}

TEST(RxqPlanNuma, IsolatedNodeFallsBackThenReturns) {
  // Node 1's PMDs are both pinned by port 0: port 1 (node 1) goes to node 0 meanwhile.
  const std::vector<RxqPin> pins{{0, 0, 2}, {0, 1, 3}};
  const RxqNodes nodes = twoNodes({{0, 1}, {1, 1}});
  auto plan = planAdd({}, 0, 2, 4, pins, nodes);
  plan = planAdd(plan, 1, 2, 4, pins, nodes);
  EXPECT_EQ(loadOf(plan, 4), (std::vector<unsigned>{1, 1, 1, 1}));
  EXPECT_EQ(plan[2].pmd, 0u);
  EXPECT_EQ(plan[3].pmd, 1u);
  // Port 0 unpins queue 1: PMD 3 is shared again and port 1 comes home to it.
  const auto after = planPins(plan, 4, {{0, 0, 2}}, nodes);
  EXPECT_EQ(after[0], (RxqSlot{0, 0, 2}));
  EXPECT_EQ(after[1].pmd, 3u);  // port 0's unpinned queue 1 stays
  EXPECT_EQ(after[2].pmd, 3u);
  EXPECT_EQ(after[3].pmd, 3u);
}

TEST(RxqPlanNuma, PinsMayCrossNodes) {
  // A pin is obeyed even on another node than the port's.
  const auto plan = planAdd({}, 0, 1, 4, {{0, 0, 0}}, twoNodes({{0, 1}}));
  EXPECT_EQ(plan, (std::vector<RxqSlot>{{0, 0, 0}}));
}

TEST(RxqPlanNuma, OneNodeIsTheSameAsNoNodes) {
  const RxqNodes one{{0, 0, 0}, {{0, 0}, {1, 0}, {2, 0}}};
  std::vector<RxqSlot> a, b;
  for (uint32_t port = 0; port < 3; ++port) {
    a = planAdd(a, port, static_cast<uint16_t>(port + 1), 3);
    b = planAdd(b, port, static_cast<uint16_t>(port + 1), 3, {}, one);
  }
  EXPECT_EQ(a, b);
  std::erase_if(a, [](const RxqSlot& s) { return s.pmd == 0; });
  std::erase_if(b, [](const RxqSlot& s) { return s.pmd == 0; });
  EXPECT_EQ(planRebalance(a, 3), planRebalance(b, 3, {}, one));
}

TEST(RxqPlanNuma, BadNodes) {
  EXPECT_THROW(planAdd({}, 0, 1, 2, {}, RxqNodes{{0}, {}}), std::invalid_argument);
  EXPECT_EQ(allowedPmds(0, {false, true, false}, RxqNodes{{0, 0, 1}, {{0, 0}}}),
            (std::vector<bool>{true, false, false}));
}

}  // namespace
}  // namespace rtvs
