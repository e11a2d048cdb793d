#include "switch/core/port_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace rtvs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

template <typename F>
std::string errorOf(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

class PortStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtvs-state-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST(ExternalIds, ValidAndInvalid) {
  EXPECT_NO_THROW(checkExternalId("iface-id", "3f2b8c1e-7d4a-4b6e-9c1f-0a2b3c4d5e6f"));
  EXPECT_NO_THROW(checkExternalId("k8s.io/pod-name", "default/web-1"));
  EXPECT_THAT(errorOf([] { checkExternalId("", "x"); }), HasSubstr("external-ids: key must be"));
  EXPECT_THAT(errorOf([] { checkExternalId("a b", "x"); }), HasSubstr("key must be"));
  EXPECT_THAT(errorOf([] { checkExternalId(std::string(65, 'k'), "x"); }), HasSubstr("1-64"));
  EXPECT_THAT(errorOf([] { checkExternalId("vm", ""); }),
              HasSubstr("external-ids:vm: value must be 1-256 printable"));
  EXPECT_THAT(errorOf([] { checkExternalId("vm", "a\nb"); }), HasSubstr("\\x0a"));
}

TEST(ExternalIds, ChangesSetAndRemove) {
  const ExternalIds ids = applyExternalIdChanges({{"a", "1"}, {"b", "2"}},
                                                 {{"b", std::nullopt}, {"c", "3"}, {"a", "9"}});
  EXPECT_EQ(ids, (ExternalIds{{"a", "9"}, {"c", "3"}}));
  EXPECT_THAT(errorOf([] {
                applyExternalIdChanges({}, {{"a", "1"}, {"a", "2"}});
              }),
              HasSubstr("given more than once"));
  ExternalIdChanges many;
  for (int i = 0; i <= 32; ++i) many.emplace_back("k" + std::to_string(i), "v");
  EXPECT_THAT(errorOf([&] { applyExternalIdChanges({}, many); }), HasSubstr("at most 32"));
}

TEST(PortState, RoundTrip) {
  const std::vector<SavedPort> ports = {
      {"vhu3f2b8c1e-7d",
       {{"type", "vhostuserclient"}, {"path", "/run/x.sock"}, {"mtu", "9000"}},
       {{"iface-id", "3f2b"}, {"vm-uuid", "u"}},
       false},
      {"cfg", {{"type", "vhostuser"}}, {}, true},
  };
  const std::vector<SavedPort> back = parsePortState(serializePortState(ports));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].name, "vhu3f2b8c1e-7d");
  // Options come back in key order (a JSON object): the same options.
  EXPECT_THAT(back[0].options,
              ElementsAre(std::pair<std::string, std::string>{"mtu", "9000"},
                          std::pair<std::string, std::string>{"path", "/run/x.sock"},
                          std::pair<std::string, std::string>{"type", "vhostuserclient"}));
  EXPECT_EQ(back[0].external_ids, ports[0].external_ids);
  EXPECT_EQ(back[1], ports[1]);
  EXPECT_THAT(parsePortState(serializePortState({})), IsEmpty());
}

TEST(PortState, DamagedFilesSayWhere) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"{\"version\": 1, \"ports\": [{\"name\": \"a\"", "not valid JSON"},
      {"garbage", "not valid JSON"},
      {"[]", "top level: must be an object, got array"},
      {"{\"ports\": []}", "version: missing"},
      {"{\"version\": 2, \"ports\": []}", "version: must be 1, got 2"},
      {"{\"version\": 1}", "ports: missing"},
      {"{\"version\": 1, \"ports\": {}}", "ports: must be an array, got object"},
      {"{\"version\": 1, \"ports\": [], \"x\": 1}", "\"x\": unknown key"},
      {"{\"version\": 1, \"ports\": [5]}", "ports[0]: must be an object, got number"},
      {"{\"version\": 1, \"ports\": [{}]}", "ports[0].name: missing"},
      {"{\"version\": 1, \"ports\": [{\"name\": 5}]}", "ports[0].name: must be a string"},
      {"{\"version\": 1, \"ports\": [{\"name\": \"a\", \"options\": []}]}",
       "ports[0].options: must be an object, got array"},
      {"{\"version\": 1, \"ports\": [{\"name\": \"a\", \"options\": {\"mtu\": 9000}}]}",
       "ports[0].options.mtu: must be a string, got number"},
      {"{\"version\": 1, \"ports\": [{\"name\": \"a\", \"external_ids\": {\"k\": null}}]}",
       "ports[0].external_ids.k: must be a string, got null"},
      {"{\"version\": 1, \"ports\": [{\"name\": \"a\", \"from_config\": 1}]}",
       "ports[0].from_config: must be a boolean"},
      {"{\"version\": 1, \"ports\": [{\"name\": \"a/b\"}]}", "ports[0]: name: must be 1-64"},
      {"{\"version\": 1, \"ports\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
       "ports[1]: port \"a\" given twice"},
      {"{\"version\": 1, \"ports\": [{\"name\": \"a\", \"what\": 1}]}",
       "ports[0]: unknown key \"what\""},
  };
  for (const auto& c : cases) {
    // Named copies, not a structured binding: clang before 16 cannot capture those.
    const auto& text = c.first;
    const auto& want = c.second;
    const std::string err = errorOf([&] { parsePortState(text); });
    EXPECT_THAT(err, HasSubstr(want)) << text;
    EXPECT_EQ(err.find('\n'), std::string::npos) << text;
  }
}

TEST(PortState, ConfigPortsWinSavedOnesFollow) {
  const SavedPort cfg_a{"a", {{"type", "vhostuser"}, {"mtu", "1500"}}, {}, true};
  const SavedPort saved_a{"a", {{"type", "vhostuser"}, {"mtu", "9000"}}, {{"k", "v"}}, true};
  const SavedPort saved_b{"b", {{"type", "vhostuser"}}, {}, false};
  const SavedPort gone_c{"c", {{"type", "vhostuser"}}, {}, true};
  const StartPlan plan = planStartPorts({cfg_a}, {saved_b, saved_a, gone_c});
  ASSERT_EQ(plan.ports.size(), 2u);
  EXPECT_EQ(plan.ports[0], cfg_a);
  EXPECT_EQ(plan.ports[1], saved_b);
  ASSERT_EQ(plan.notes.size(), 2u);
  EXPECT_THAT(plan.notes[0], HasSubstr("port \"a\": the config file's [[port]] wins"));
  EXPECT_THAT(plan.notes[1], HasSubstr("port \"c\": saved as a config-file port, no longer"));
  // Same spec saved and configured: no note.
  EXPECT_THAT(planStartPorts({cfg_a}, {cfg_a}).notes, IsEmpty());
}

TEST_F(PortStateTest, DifferencesNameTheKeys) {
  const PortSpec a = parsePortSpec("p", {{"type", "vhostuser"}}, dir_);
  const PortSpec b = parsePortSpec("p", {{"type", "vhostuser"}, {"mtu", "9000"}}, dir_);
  EXPECT_THAT(portDifferences(a, {}, a, {}), IsEmpty());
  // Given explicitly at its default value: the same spec.
  const PortSpec a2 = parsePortSpec("p", {{"type", "vhostuser"}, {"queues", "1"}}, dir_);
  EXPECT_THAT(portDifferences(a, {}, a2, {}), IsEmpty());
  EXPECT_THAT(
      portDifferences(a, {{"k", "1"}}, b, {{"k", "2"}}),
      ElementsAre("mtu: \"1500\" now, \"9000\" asked", "external-ids:k: \"1\" now, \"2\" asked"));
  EXPECT_THAT(portDifferences(a, {}, a, {{"n", "x"}}),
              ElementsAre("external-ids:n: (none) now, \"x\" asked"));
}

TEST_F(PortStateTest, SetChangesSettableOptionsOnly) {
  const PortOptions opts = {{"type", "vhostuser"}};
  const PortSpec cur = parsePortSpec("p", opts, dir_);
  PortSetPlan plan = planPortSet(cur, opts, {{"mtu", "9000"}, {"latency-budget-us", "50"}}, dir_);
  EXPECT_EQ(plan.spec.mtu, 9000u);
  EXPECT_EQ(plan.spec.latency_budget_us, 50u);
  EXPECT_THAT(plan.changed, ElementsAre("mtu", "latency-budget-us"));
  EXPECT_EQ(plan.options.size(), 3u);
  // The current value of a re-create option is no change.
  plan = planPortSet(cur, opts, {{"queues", "1"}, {"type", "vhostuser"}}, dir_);
  EXPECT_THAT(plan.changed, IsEmpty());
  EXPECT_THAT(errorOf([&] {
                planPortSet(cur, opts, {{"queues", "2"}}, dir_);
              }),
              HasSubstr("queues: cannot change on a running port; delete and add the port"));
  EXPECT_THAT(errorOf([&] {
                planPortSet(cur, opts, {{"type", "dpdk"}}, dir_);
              }),
              HasSubstr("type: cannot change on a running port"));
  EXPECT_THAT(errorOf([&] {
                planPortSet(cur, opts, {{"mtu", "99999"}}, dir_);
              }),
              HasSubstr("mtu: must be 68..9600"));
  EXPECT_THAT(errorOf([&] {
                planPortSet(cur, opts, {{"colour", "red"}}, dir_);
              }),
              HasSubstr("unknown key"));
  EXPECT_THAT(errorOf([&] {
                planPortSet(cur, opts, {{"mtu", "1600"}, {"mtu", "1700"}}, dir_);
              }),
              HasSubstr("mtu: given more than once"));
  EXPECT_TRUE(portOptionSettable("mtu"));
  EXPECT_TRUE(portOptionSettable("latency-budget-us"));
  EXPECT_TRUE(portOptionSettable("tx-retry-us"));
  EXPECT_FALSE(portOptionSettable("path"));
  EXPECT_FALSE(portOptionSettable("nonsense"));
}

TEST(PortInfo, LabelsAreSanitized) {
  EXPECT_EQ(externalIdLabel("iface-id"), "iface_id");
  EXPECT_EQ(externalIdLabel("k8s.io/pod"), "k8s_io_pod");
  EXPECT_EQ(externalIdLabel("9lives"), "_9lives");
  EXPECT_EQ(externalIdLabel("port"), "");
  EXPECT_EQ(externalIdLabel("__x"), "");
  EXPECT_EQ(externalIdLabel("--x"), "");
  const auto labels = portInfoLabels(
      "vm1", {{"iface-id", "A"}, {"iface.id", "B"}, {"port", "C"}, {"vm-uuid", "U"}});
  EXPECT_THAT(labels, ElementsAre(std::pair<std::string, std::string>{"port", "vm1"},
                                  std::pair<std::string, std::string>{"iface_id", "A"},
                                  std::pair<std::string, std::string>{"vm_uuid", "U"}));
}

}  // namespace
}  // namespace rtvs
