// libFuzzer target: one control-socket line through RpcDispatcher::handleLine, with methods
// registered as the daemon registers them (same names, same parameter parsing, same errors),
// over an in-memory port table. Every reply must be one line of valid JSON-RPC 2.0.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "switch/core/devargs_policy.h"
#include "switch/core/port_spec.h"
#include "switch/core/port_state.h"
#include "switch/protocol/authz.h"
#include "switch/protocol/jsonrpc.h"
#include "switch/protocol/port_params.h"

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

bool optBool(const json& params, const char* key) {
  if (!params.is_object() || !params.contains(key)) return false;
  if (!params.at(key).is_boolean()) {
    throw rtvs::RpcError(rtvs::rpc_code::kInvalidParams, std::string(key) + ": must be a boolean");
  }
  return params.at(key).get<bool>();
}

// params["external_ids"] as the daemon reads it (switch/daemon/port_api.cpp).
rtvs::ExternalIdChanges idParams(const json& params, bool nullable) {
  rtvs::ExternalIdChanges out;
  if (!params.is_object() || !params.contains("external_ids")) return out;
  const json& o = params.at("external_ids");
  if (!o.is_object()) throw rtvs::RpcError(rtvs::rpc_code::kInvalidParams, "external_ids");
  for (const auto& [k, v] : o.items()) {
    if (v.is_string()) {
      out.emplace_back(k, v.get<std::string>());
    } else if (nullable && v.is_null()) {
      out.emplace_back(k, std::nullopt);
    } else {
      throw rtvs::RpcError(rtvs::rpc_code::kInvalidParams, "external_ids." + k);
    }
  }
  return out;
}

struct FakePort {
  rtvs::PortSpec spec;
  rtvs::PortOptions options;
  rtvs::ExternalIds ids;
  bool operator==(const FakePort&) const = default;
};

struct FakeSwitch {
  std::map<std::string, FakePort> ports;
  std::vector<rtvs::DevargsRule> rules = rtvs::parseDevargsRules(rtvs::defaultDpdkAllow());

  json portObject(const FakePort& fp) const {
    const rtvs::PortSpec& p = fp.spec;
    return {{"name", p.name},
            {"type", rtvs::portTypeName(p.type)},
            {"path", p.path},
            {"queues", p.queues},
            {"mtu", p.mtu},
            {"devargs", p.devargs},
            {"external_ids", json(fp.ids)}};
  }

  FakePort& find(const std::string& name) {
    auto it = ports.find(name);
    if (it == ports.end()) {
      throw rtvs::RpcError(rtvs::rpc_code::kNotFound, "no port named \"" + name + "\"");
    }
    return it->second;
  }

  // What the daemon saves: every port must survive a round trip through the state file.
  void checkState() const {
    std::vector<rtvs::SavedPort> saved;
    for (const auto& [n, p] : ports) saved.push_back({n, p.options, p.ids, false});
    const std::vector<rtvs::SavedPort> back = rtvs::parsePortState(rtvs::serializePortState(saved));
    if (back.size() != saved.size()) std::abort();
    for (size_t i = 0; i < back.size(); ++i) {
      if (back[i].name != saved[i].name || back[i].external_ids != saved[i].external_ids) {
        std::abort();
      }
      if (rtvs::parsePortSpec(back[i].name, back[i].options, "/tmp") !=
          ports.at(back[i].name).spec) {
        std::abort();
      }
    }
  }

  void registerMethods(rtvs::RpcDispatcher& d) {
    d.add("version", "", "versions", [](const json&) { return json{{"version", "fuzz"}}; });
    d.add("list-commands", "", "methods", [&d](const json&) {
      json cmds = json::array();
      for (const auto& m : d.methods()) cmds.push_back({{"method", m.method}, {"role", m.role}});
      return json{{"commands", cmds}};
    });
    d.add(
        "port.add", "name options external_ids may_exist", "add a port",
        [this](const json& params) {
          const std::string name = optString(params, "name");
          const rtvs::PortOptions opts = rtvs::portOptionsFromParams(params);
          const bool may_exist = optBool(params, "may_exist");
          FakePort fp;
          try {
            rtvs::validatePortName(name);
            fp.spec = rtvs::parsePortSpec(name, opts, "/tmp");
            fp.ids = rtvs::applyExternalIdChanges({}, idParams(params, false));
          } catch (const rtvs::ConfigError& e) {
            throw rtvs::RpcError(rtvs::rpc_code::kInvalidParams, e.what());
          }
          fp.options = opts;
          if (auto it = ports.find(name); it != ports.end()) {
            if (!may_exist) throw rtvs::RpcError(rtvs::rpc_code::kExists, "exists");
            if (!rtvs::portDifferences(it->second.spec, it->second.ids, fp.spec, fp.ids).empty()) {
              throw rtvs::RpcError(rtvs::rpc_code::kExists, "different spec");
            }
            return portObject(it->second);
          }
          if (ports.size() >= 64) throw rtvs::RpcError(rtvs::rpc_code::kFailed, "64 ports");
          ports.emplace(name, fp);
          checkState();
          return portObject(fp);
        });
    d.add("port.del", "name if_exists", "remove a port", [this](const json& params) {
      const std::string name = optString(params, "name");
      if (optBool(params, "if_exists") && !ports.count(name)) {
        return json{{"name", name}, {"deleted", false}};
      }
      find(name);
      ports.erase(name);
      return json{{"name", name}, {"deleted", true}};
    });
    d.add("port.set", "name options external_ids", "change a port", [this](const json& params) {
      FakePort& p = find(optString(params, "name"));
      const rtvs::PortOptions changes = rtvs::portOptionsFromParams(params);
      try {
        const rtvs::PortSetPlan plan = rtvs::planPortSet(p.spec, p.options, changes, "/tmp");
        const rtvs::ExternalIds ids = rtvs::applyExternalIdChanges(p.ids, idParams(params, true));
        for (const std::string& k : plan.changed) {
          if (!rtvs::portOptionSettable(k)) std::abort();
        }
        p.spec = plan.spec;
        p.options = plan.options;
        p.ids = ids;
      } catch (const rtvs::ConfigError& e) {
        throw rtvs::RpcError(rtvs::rpc_code::kInvalidParams, e.what());
      }
      checkState();
      return portObject(p);
    });
    d.add("port.show", "name", "one port",
          [this](const json& params) { return portObject(find(optString(params, "name"))); });
    d.add("port.list", "external_ids", "all ports", [this](const json& params) {
      rtvs::ExternalIds filter;
      for (auto& [k, v] : idParams(params, false)) filter[k] = *v;
      json a = json::array();
      for (const auto& entry : ports) {
        const FakePort& p = entry.second;
        const bool match = std::all_of(filter.begin(), filter.end(), [&](const auto& kv) {
          auto it = p.ids.find(kv.first);
          return it != p.ids.end() && it->second == kv.second;
        });
        if (match) a.push_back(portObject(p));
      }
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
      const std::map<std::string, FakePort> before = sw.ports;
      checkReply(d.handleLine(in.substr(0, nl), reader));
      if (sw.ports != before) std::abort();
    }
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  return 0;
}
