// libFuzzer target: one control-socket line through RpcDispatcher::handleLine, with methods
// registered as the daemon registers them (same names, same parameter parsing, same errors,
// the default dpdk-allow list), over an in-memory port table. Every reply must be one line of
// valid JSON-RPC 2.0. Lines alternate between an admin and a read peer (with the daemon's
// role and rate checks): a read peer's line must never change the port table.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "switch/core/authz.h"
#include "switch/core/devargs_policy.h"
#include "switch/core/jsonrpc.h"
#include "switch/core/port_params.h"
#include "switch/core/port_spec.h"

namespace {

using nlohmann::json;

std::string optString(const json& params, const char* key) {
  if (params.is_null()) return {};
  if (!params.is_object()) throw rtvs::RpcError(rtvs::rpc_code::kInvalidParams, "params: object");
  auto it = params.find(key);
  if (it == params.end()) return {};
  if (!it->is_string()) {
    throw rtvs::RpcError(rtvs::rpc_code::kInvalidParams, std::string(key) + ": must be a string");
  }
  return it->get<std::string>();
}

struct FakeSwitch {
  std::map<std::string, rtvs::PortSpec> ports;
  std::vector<rtvs::DevargsRule> rules = rtvs::parseDevargsRules(rtvs::defaultDpdkAllow());

  json portObject(const rtvs::PortSpec& p) const {
    return {{"name", p.name},  {"type", rtvs::portTypeName(p.type)}, {"path", p.path},
            {"queues", p.queues}, {"mtu", p.mtu}, {"devargs", p.devargs}};
  }

  const rtvs::PortSpec& find(const std::string& name) const {
    auto it = ports.find(name);
    if (it == ports.end()) {
      throw rtvs::RpcError(rtvs::rpc_code::kNotFound, "no port named \"" + name + "\"");
    }
    return it->second;
  }

  void registerMethods(rtvs::RpcDispatcher& d) {
    d.add("version", "", "versions", [](const json&) { return json{{"version", "fuzz"}}; });
    d.add("list-commands", "", "methods", [&d](const json&) {
      json cmds = json::array();
      for (const auto& m : d.methods()) cmds.push_back({{"method", m.method}, {"role", m.role}});
      return json{{"commands", cmds}};
    });
    d.add("port.add", "name options", "add a port", [this](const json& params) {
      const std::string name = optString(params, "name");
      const rtvs::PortOptions opts = rtvs::portOptionsFromParams(params);
      rtvs::PortSpec spec;
      try {
        rtvs::validatePortName(name);
        spec = rtvs::parsePortSpec(name, opts, "/tmp");
        if (spec.type == rtvs::PortType::kDpdk) checkDevargsAllowed(spec.devargs, rules);
      } catch (const rtvs::ConfigError& e) {
        throw rtvs::RpcError(rtvs::rpc_code::kInvalidParams, e.what());
      }
      if (ports.size() >= 64) throw rtvs::RpcError(rtvs::rpc_code::kFailed, "64 ports");
      if (!ports.emplace(name, spec).second) {
        throw rtvs::RpcError(rtvs::rpc_code::kExists, "port \"" + name + "\" exists");
      }
      return portObject(spec);
    });
    d.add("port.del", "name", "remove a port", [this](const json& params) {
      const std::string name = optString(params, "name");
      find(name);
      ports.erase(name);
      return json{{"name", name}};
    });
    d.add("port.show", "name", "one port", [this](const json& params) {
      return portObject(find(optString(params, "name")));
    });
    d.add("port.list", "", "all ports", [this](const json&) {
      json a = json::array();
      for (const auto& [n, p] : ports) a.push_back(portObject(p));
      return json{{"ports", a}};
    });
    d.add("stats.show", "[port]", "counters", [this](const json& params) {
      const std::string name = optString(params, "port");
      if (!name.empty()) find(name);
      return json{{"ports", json::array()}, {"mempool", {{"size", 1024}, {"in_use", 0}}}};
    });
  }
};

void checkReply(const std::string& reply) {
  if (reply.empty()) return;  // notifications only
  if (reply.find('\n') != std::string::npos) std::abort();
  const json r = json::parse(reply, nullptr, false);
  if (r.is_discarded()) std::abort();
  const auto checkOne = [](const json& o) {
    if (!o.is_object() || o.value("jsonrpc", "") != "2.0" || !o.contains("id")) std::abort();
    if (o.contains("result") == o.contains("error")) std::abort();
    if (o.contains("error") && !o["error"]["code"].is_number_integer()) std::abort();
  };
  if (r.is_array()) {
    if (r.empty()) std::abort();
    for (const auto& o : r) checkOne(o);
  } else {
    checkOne(r);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fresh switch per input keeps runs independent; lines within one input share it, so a
  // port added by one line is seen by the next.
  FakeSwitch sw;
  rtvs::RpcDispatcher d;
  sw.registerMethods(d);
  rtvs::ControlAccess access({1000, 64}, nullptr, nullptr);
  d.setAccess(&access);
  const rtvs::Peer admin{0, 0, 1, "fuzz", rtvs::Role::kAdmin};
  const rtvs::Peer reader{1001, 1001, 2, "fuzz", rtvs::Role::kRead};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (unsigned line = 0; !in.empty(); ++line) {
    const size_t nl = in.find('\n');
    if (line % 2 == 0) {
      checkReply(d.handleLine(in.substr(0, nl), admin));
    } else {
      const std::map<std::string, rtvs::PortSpec> before = sw.ports;
      checkReply(d.handleLine(in.substr(0, nl), reader));
      if (sw.ports != before) std::abort();
    }
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  return 0;
}
