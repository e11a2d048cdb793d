#include "switch/protocol/jsonrpc.h"

#include <gtest/gtest.h>

namespace rtvs {
namespace {

using nlohmann::json;

class JsonrpcTest : public ::testing::Test {
 protected:
  JsonrpcTest() {
    d_.add("echo", "[any]", "returns its params", [](const json& p) { return p; });
    d_.add("sum", "a b", "a + b",
           [](const json& p) { return json(p.at("a").get<int>() + p.at("b").get<int>()); });
    d_.add("fail", "", "always fails",
           [](const json&) -> json { throw RpcError(rpc_code::kNotFound, "no such port 'x'"); });
    d_.add("boom", "", "internal bug", [](const json&) -> json { throw std::logic_error("oops"); });
    d_.add("count", "", "counts calls", [this](const json&) { return json(++calls_); });
  }

  json call(std::string_view line) {
    std::string out = d_.handleLine(line);
    EXPECT_FALSE(out.empty()) << line;
    EXPECT_EQ(out.find('\n'), std::string::npos);
    return json::parse(out);
  }
  static int code(const json& r) { return r.at("error").at("code").get<int>(); }

  RpcDispatcher d_;
  int calls_ = 0;
};

TEST_F(JsonrpcTest, ResultWithIdEchoed) {
  json r = call(R"({"jsonrpc":"2.0","method":"sum","params":{"a":2,"b":3},"id":7})");
  EXPECT_EQ(r, json::parse(R"({"jsonrpc":"2.0","result":5,"id":7})"));
  r = call(R"({"jsonrpc":"2.0","method":"echo","id":"abc"})");
  EXPECT_EQ(r.at("id"), "abc");
  EXPECT_EQ(r.at("result"), json::object());  // absent params reach the handler as {}
  r = call(R"({"jsonrpc":"2.0","method":"echo","id":null})");
  EXPECT_TRUE(r.at("id").is_null());
  EXPECT_TRUE(r.contains("result"));
}

TEST_F(JsonrpcTest, ParseErrorHasNullId) {
  for (std::string_view bad :
       {"{", "", "nonsense", R"({"jsonrpc":"2.0","method":"echo","id":1)", "\xff\xfe", "[1,2"}) {
    json r = call(bad);
    EXPECT_EQ(code(r), rpc_code::kParseError) << bad;
    EXPECT_TRUE(r.at("id").is_null());
  }
}

TEST_F(JsonrpcTest, InvalidRequests) {
  EXPECT_EQ(code(call(R"(42)")), rpc_code::kInvalidRequest);
  EXPECT_EQ(code(call(R"("x")")), rpc_code::kInvalidRequest);
  EXPECT_EQ(code(call(R"({"method":"echo","id":1})")), rpc_code::kInvalidRequest);
  EXPECT_EQ(code(call(R"({"jsonrpc":"1.0","method":"echo","id":1})")), rpc_code::kInvalidRequest);
  EXPECT_EQ(code(call(R"({"jsonrpc":"2.0","method":5,"id":1})")), rpc_code::kInvalidRequest);
  EXPECT_EQ(code(call(R"({"jsonrpc":"2.0","id":1})")), rpc_code::kInvalidRequest);
  json r = call(R"({"jsonrpc":"2.0","method":"echo","id":{"a":1}})");
  EXPECT_EQ(code(r), rpc_code::kInvalidRequest);
  EXPECT_TRUE(r.at("id").is_null());
  r = call(R"({"jsonrpc":"2.0","method":7,"id":3})");
  EXPECT_EQ(r.at("id"), 3);  // a valid id is echoed even when the request is invalid
  // An invalid request without id still gets an answer: it is not a valid notification.
  EXPECT_EQ(code(call(R"({"jsonrpc":"2.0"})")), rpc_code::kInvalidRequest);
}

TEST_F(JsonrpcTest, UnknownMethod) {
  json r = call(R"({"jsonrpc":"2.0","method":"nope","id":1})");
  EXPECT_EQ(code(r), rpc_code::kMethodNotFound);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("nope"), std::string::npos);
}

TEST_F(JsonrpcTest, ParamsMustBeObject) {
  for (std::string_view p : {"[1,2]", "3", "\"s\"", "null", "true"}) {
    json r = call(std::string(R"({"jsonrpc":"2.0","method":"echo","id":1,"params":)") +
                  std::string(p) + "}");
    EXPECT_EQ(code(r), rpc_code::kInvalidParams) << p;
  }
}

TEST_F(JsonrpcTest, HandlerErrors) {
  json r = call(R"({"jsonrpc":"2.0","method":"fail","id":1})");
  EXPECT_EQ(code(r), rpc_code::kNotFound);
  EXPECT_EQ(r["error"]["message"], "no such port 'x'");
  r = call(R"({"jsonrpc":"2.0","method":"sum","params":{"a":"x","b":1},"id":2})");
  EXPECT_EQ(code(r), rpc_code::kInvalidParams);
  EXPECT_EQ(r["error"]["message"], "invalid params for 'sum': type must be number, but is string");
  r = call(R"({"jsonrpc":"2.0","method":"sum","params":{"a":1},"id":3})");
  EXPECT_EQ(code(r), rpc_code::kInvalidParams);
  EXPECT_EQ(r["error"]["message"], "invalid params for 'sum': key 'b' not found");
  r = call(R"({"jsonrpc":"2.0","method":"boom","id":4})");
  EXPECT_EQ(code(r), rpc_code::kInternalError);
  EXPECT_EQ(r["error"]["message"], "internal error in 'boom': oops");
}

TEST_F(JsonrpcTest, NotificationsGetNoReply) {
  EXPECT_EQ(d_.handleLine(R"({"jsonrpc":"2.0","method":"count"})"), "");
  EXPECT_EQ(calls_, 1);
  // Errors in notifications are not reported either.
  EXPECT_EQ(d_.handleLine(R"({"jsonrpc":"2.0","method":"nope"})"), "");
  EXPECT_EQ(d_.handleLine(R"({"jsonrpc":"2.0","method":"fail"})"), "");
  EXPECT_EQ(d_.handleLine(R"({"jsonrpc":"2.0","method":"echo","params":[1]})"), "");
}

TEST_F(JsonrpcTest, Batch) {
  json r = call(R"([{"jsonrpc":"2.0","method":"sum","params":{"a":1,"b":1},"id":1},
                    {"jsonrpc":"2.0","method":"count"},
                    {"jsonrpc":"2.0","method":"nope","id":2},
                    7,
                    {"jsonrpc":"2.0","method":"fail","id":"z"}])");
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0]["result"], 2);
  EXPECT_EQ(code(r[1]), rpc_code::kMethodNotFound);
  EXPECT_EQ(code(r[2]), rpc_code::kInvalidRequest);
  EXPECT_TRUE(r[2]["id"].is_null());
  EXPECT_EQ(r[3]["id"], "z");
  EXPECT_EQ(calls_, 1);
}

TEST_F(JsonrpcTest, EmptyBatchAndNotificationOnlyBatch) {
  json r = call("[]");
  EXPECT_EQ(code(r), rpc_code::kInvalidRequest);
  EXPECT_TRUE(r.at("id").is_null());
  EXPECT_EQ(
      d_.handleLine(R"([{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"count"}])"),
      "");
  EXPECT_EQ(calls_, 2);
}

TEST_F(JsonrpcTest, InvalidUtf8InResultIsReplaced) {
  d_.add("bad-utf8", "", "", [](const json&) {
    return json(
        std::string("a\xff"
                    "b"));
  });
  json r = call(R"({"jsonrpc":"2.0","method":"bad-utf8","id":1})");
  EXPECT_TRUE(r.contains("result"));
}

TEST_F(JsonrpcTest, RegistrationErrorsAndMethods) {
  EXPECT_THROW(d_.add("echo", "", "", [](const json& p) { return p; }), std::invalid_argument);
  EXPECT_THROW(d_.add("", "", "", [](const json& p) { return p; }), std::invalid_argument);
  EXPECT_THROW(d_.add("x", "", "", nullptr), std::invalid_argument);
  auto m = d_.methods();
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].method, "boom");  // sorted by name
  EXPECT_EQ(m[4].method, "sum");
  EXPECT_EQ(m[4].params_help, "a b");
  EXPECT_EQ(m[4].help, "a + b");
}

TEST(JsonrpcClient, MakeRequestAndParseResponse) {
  EXPECT_EQ(
      json::parse(makeRequest("port.show", {{"name", "vm1"}}, 4)),
      json::parse(R"({"jsonrpc":"2.0","method":"port.show","params":{"name":"vm1"},"id":4})"));
  EXPECT_FALSE(json::parse(makeRequest("version", nullptr, 1)).contains("params"));

  EXPECT_EQ(parseResponse(R"({"jsonrpc":"2.0","result":{"a":1},"id":4})", 4), json({{"a", 1}}));
  try {
    parseResponse(R"({"jsonrpc":"2.0","error":{"code":-32001,"message":"no port"},"id":4})", 4);
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), -32001);
    EXPECT_STREQ(e.what(), "no port");
  }
  // An error about an unreadable request comes back with id null.
  EXPECT_THROW(
      parseResponse(R"({"jsonrpc":"2.0","error":{"code":-32700,"message":"p"},"id":null})", 4),
      RpcError);
  EXPECT_THROW(parseResponse(R"({"jsonrpc":"2.0","result":1,"id":5})", 4), std::runtime_error);
  EXPECT_THROW(parseResponse(R"({"jsonrpc":"2.0","result":1,"id":null})", 4), std::runtime_error);
  EXPECT_THROW(parseResponse("garbage", 4), std::runtime_error);
  EXPECT_THROW(parseResponse(R"({"jsonrpc":"2.0","id":4})", 4), std::runtime_error);
  EXPECT_THROW(parseResponse(R"({"jsonrpc":"2.0","error":"x","id":4})", 4), std::runtime_error);
}

}  // namespace
}  // namespace rtvs
