#include "switch/protocol/port_params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "switch/protocol/jsonrpc.h"

namespace rtvs {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::Pair;

// The RpcError of `params`, as "code: message", or "" when it converts.
std::string errorOf(const json& params) {
  try {
    portOptionsFromParams(params);
  } catch (const RpcError& e) {
    return std::to_string(e.code()) + ": " + e.what();
  }
  return "";
}

TEST(PortParams, StringsAndIntegersInOrder) {
  const json p = json::parse(R"({"name": "vm1", "options": {"type": "vhostuserclient",
      "path": "/run/vm1.sock", "queues": 2, "latency-budget-us": 18446744073709551615}})");
  // nlohmann keeps object keys sorted.
  EXPECT_THAT(
      portOptionsFromParams(p),
      ElementsAre(Pair("latency-budget-us", "18446744073709551615"), Pair("path", "/run/vm1.sock"),
                  Pair("queues", "2"), Pair("type", "vhostuserclient")));
}

TEST(PortParams, NoOptionsIsEmpty) {
  EXPECT_TRUE(portOptionsFromParams(json::parse(R"({"name": "vm1"})")).empty());
  EXPECT_TRUE(portOptionsFromParams(json::parse(R"({"options": {}})")).empty());
  EXPECT_TRUE(portOptionsFromParams(json()).empty());
}

TEST(PortParams, BadShapesAreInvalidParams) {
  const std::string invalid = std::to_string(rpc_code::kInvalidParams) + ": ";
  EXPECT_EQ(errorOf(json::parse(R"({"options": ["type=dpdk"]})")),
            invalid + "options: must be an object");
  EXPECT_EQ(errorOf(json::parse(R"({"options": "type=dpdk"})")),
            invalid + "options: must be an object");
  for (const char* v : {"1.5", "true", "null", "[1]", "{\"a\": 1}", "-1.0e3"}) {
    EXPECT_EQ(errorOf(json::parse(std::string(R"({"options": {"mtu": )") + v + "}}")),
              invalid + "option mtu: must be a string or an integer")
        << v;
  }
}

TEST(PortParams, NegativeIntegersPassThroughForTheSpecToRefuse) {
  // The conversion keeps the text; parsePortSpec judges the value (and names the key).
  EXPECT_THAT(portOptionsFromParams(json::parse(R"({"options": {"mtu": -1}})")),
              ElementsAre(Pair("mtu", "-1")));
}

}  // namespace
}  // namespace rtvs
