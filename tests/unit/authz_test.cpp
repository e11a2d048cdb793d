#include "switch/protocol/authz.h"

#include <gtest/gtest.h>

#include "switch/protocol/jsonrpc.h"

namespace rtvs {
namespace {

using nlohmann::json;

TEST(Authz, RoleTable) {
  for (const char* m :
       {"version", "list-commands", "control.show", "port.list", "port.show", "fdb.show",
        "pmd.show", "pmd.perf", "stats.show", "latency.show", "port.xstats", "log.show"}) {
    EXPECT_EQ(methodRole(m), Role::kRead) << m;
  }
  // State-changing methods, and any method not listed (default deny).
  for (const char* m : {"port.add", "port.del", "port.set", "fdb.flush", "stats.clear",
                        "latency.clear", "log.set", "some.future.method", ""}) {
    EXPECT_EQ(methodRole(m), Role::kAdmin) << m;
  }
  EXPECT_STREQ(roleName(Role::kAdmin), "admin");
  EXPECT_STREQ(roleName(Role::kRead), "read");
}

TEST(Authz, PeerRoles) {
  const AccessPolicy dflt{1000, std::nullopt, std::nullopt};
  EXPECT_EQ(peerRole(dflt, 0, {0}, 50), Role::kAdmin);           // root
  EXPECT_EQ(peerRole(dflt, 1000, {1000}, 50), Role::kAdmin);     // the daemon's user
  EXPECT_EQ(peerRole(dflt, 1001, {1001, 50}, 50), Role::kRead);  // the socket's group reads
  EXPECT_EQ(peerRole(dflt, 1001, {1001}, 50), std::nullopt);
  const AccessPolicy groups{0, 60, 70};
  EXPECT_EQ(peerRole(groups, 1001, {1001, 60}, 50), Role::kAdmin);
  EXPECT_EQ(peerRole(groups, 1001, {70}, 50), Role::kRead);
  EXPECT_EQ(peerRole(groups, 1001, {50}, 50), std::nullopt);  // read group set: socket's no more
  EXPECT_EQ(peerRole(groups, 1001, {60, 70}, 50), Role::kAdmin);
}

TEST(Authz, TokenBucket) {
  TokenBucket b(10, 3, 0);
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_TRUE(b.take(0));
  EXPECT_FALSE(b.take(0));
  EXPECT_NEAR(b.waitS(0), 0.1, 1e-9);
  EXPECT_TRUE(b.take(100'000'000));  // one token per 100 ms
  EXPECT_FALSE(b.take(100'000'000));
  EXPECT_TRUE(b.take(10'000'000'000));  // refills to the burst, not beyond
  EXPECT_TRUE(b.take(10'000'000'000));
  EXPECT_TRUE(b.take(10'000'000'000));
  EXPECT_FALSE(b.take(10'000'000'000));
}

TEST(Authz, AuditLineIsOneLineWithWhoWhatAndResult) {
  Peer p{1001, 1002, 4242, "agent\n\"x\"", Role::kAdmin};
  json err = {{"error", {{"code", -32602}, {"message", "port \"a\": bad"}}}};
  EXPECT_EQ(auditLine(p, "port.add", {{"name", "a"}}, err),
            "audit: uid=1001 gid=1002 pid=4242 comm=\"agent\\n\\\"x\\\"\" role=admin "
            "method=\"port.add\" params={\"name\":\"a\"} result=error -32602 \"port \\\"a\\\": "
            "bad\"");
  EXPECT_EQ(auditLine(p, "port.del", {{"name", "a"}}, {{"result", {{"name", "a"}}}}),
            "audit: uid=1001 gid=1002 pid=4242 comm=\"agent\\n\\\"x\\\"\" role=admin "
            "method=\"port.del\" params={\"name\":\"a\"} result=ok");
  const std::string big = auditLine(p, "port.add", {{"name", std::string(10000, 'x')}}, json{});
  EXPECT_LT(big.size(), 4300u);
  EXPECT_EQ(big.find('\n'), std::string::npos);
}

class AuthzDispatch : public ::testing::Test {
 protected:
  void SetUp() override {
    d_.add("port.list", "", "", [](const json&) { return json{{"ports", json::array()}}; });
    d_.add("port.add", "", "", [this](const json&) {
      ++adds_;
      return json{{"ok", true}};
    });
    d_.setAccess(&access_);
  }
  json call(const Peer& p, const std::string& method) {
    return json::parse(d_.handleLine(
        R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":{"name":"a"}})", p));
  }
  RpcDispatcher d_;
  std::vector<std::string> audit_, warn_;
  ControlAccess access_{{2, 3},
                        [this](const std::string& l) { audit_.push_back(l); },
                        [this](const std::string& l) { warn_.push_back(l); }};
  int adds_ = 0;
};

TEST_F(AuthzDispatch, ReadPeerIsRefusedAdminMethodsAndNothingRuns) {
  const Peer reader{1001, 1001, 7, "ro", Role::kRead};
  EXPECT_TRUE(call(reader, "port.list").contains("result"));
  const json r = call(reader, "port.add");
  EXPECT_EQ(r["error"]["code"], rpc_code::kPermissionDenied);
  EXPECT_EQ(r["error"]["message"],
            "permission denied: port.add needs role admin (uid 1001 has role read)");
  EXPECT_EQ(adds_, 0);
  ASSERT_EQ(audit_.size(), 1u);  // the refused attempt is audited once; reads are not
  EXPECT_NE(audit_[0].find("uid=1001"), std::string::npos);
  EXPECT_NE(audit_[0].find("result=error -32003"), std::string::npos);
  EXPECT_EQ(access_.counters().permission_denied, 1u);
  // In-process calls (no peer) are not checked.
  EXPECT_TRUE(json::parse(d_.handleLine(R"({"jsonrpc":"2.0","id":1,"method":"port.add"})"))
                  .contains("result"));
}

TEST_F(AuthzDispatch, AdminCallsAreRateLimitedPerUid) {
  const Peer admin{0, 0, 8, "vswitchctl", Role::kAdmin};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(call(admin, "port.add").contains("result")) << i;
  const json r = call(admin, "port.add");
  EXPECT_EQ(r["error"]["code"], rpc_code::kRateLimited);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("rate limited: uid 0"),
            std::string::npos);
  EXPECT_EQ(adds_, 3);
  EXPECT_TRUE(call(admin, "port.list").contains("result"));  // reads are not limited
  EXPECT_EQ(access_.counters().rate_limited, 1u);
  EXPECT_EQ(access_.counters().admin_calls, 4u);
  EXPECT_EQ(warn_.size(), 1u);
  // Another uid has its own bucket.
  EXPECT_TRUE(call(Peer{1000, 0, 9, "x", Role::kAdmin}, "port.add").contains("result"));
}

TEST_F(AuthzDispatch, ListCommandsRole) {
  for (const auto& m : d_.methods()) {
    EXPECT_EQ(m.role, m.method == "port.list" ? "read" : "admin") << m.method;
  }
}

}  // namespace
}  // namespace rtvs
