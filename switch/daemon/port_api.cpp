// The port methods an orchestrator drives (docs/api.md): port.add (--may-exist), port.del
// (--if-exists), port.set, port.list (external-id filter), port.show; the durable state file
// behind them and the start-up restore.
#include <rte_ethdev.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "switch/daemon/switch.h"
#include "switch/protocol/port_params.h"

namespace rtvs {

using nlohmann::json;

namespace {

std::string nameParam(const json& params) {
  if (!params.is_object() || !params.contains("name")) {
    throw RpcError(rpc_code::kInvalidParams, "missing parameter: name");
  }
  if (!params.at("name").is_string()) {
    throw RpcError(rpc_code::kInvalidParams, "parameter name: must be a string");
  }
  std::string name = params.at("name").get<std::string>();
  if (name.empty()) throw RpcError(rpc_code::kInvalidParams, "missing parameter: name");
  return name;
}

bool boolParam(const json& params, const char* key) {
  if (!params.is_object() || !params.contains(key)) return false;
  if (!params.at(key).is_boolean()) {
    throw RpcError(rpc_code::kInvalidParams,
                   std::string("parameter ") + key + ": must be a boolean");
  }
  return params.at(key).get<bool>();
}

// params["external_ids"]: {key: "value"} (nullable: null values remove, for port.set).
ExternalIdChanges externalIdParams(const json& params, bool nullable) {
  ExternalIdChanges out;
  if (!params.is_object() || !params.contains("external_ids")) return out;
  const json& o = params.at("external_ids");
  if (!o.is_object()) throw RpcError(rpc_code::kInvalidParams, "external_ids: must be an object");
  for (const auto& [k, v] : o.items()) {
    if (v.is_string()) {
      out.emplace_back(k, v.get<std::string>());
    } else if (nullable && v.is_null()) {
      out.emplace_back(k, std::nullopt);
    } else {
      throw RpcError(rpc_code::kInvalidParams, "external_ids." + k + ": must be a string" +
                                                   (nullable ? " or null (remove)" : ""));
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

}  // namespace

std::vector<SavedPort> Switch::savedPorts() const {
  std::vector<const PortRec*> v;
  v.reserve(ports_.size());
  for (const auto& [n, p] : ports_) v.push_back(p.get());
  std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->dp->index < b->dp->index; });
  std::vector<SavedPort> out;
  out.reserve(v.size() + unrestored_.size());
  for (const PortRec* p : v)
    out.push_back({p->spec.name, p->options, p->external_ids, p->from_config});
  for (const auto& [n, u] : unrestored_) out.push_back(u.saved);
  return out;
}

void Switch::saveState() {
  if (state_file_ == nullptr) return;
  try {
    state_file_->save(savedPorts());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    throw RpcError(rpc_code::kFailed, e.what());
  }
}

size_t Switch::restorePorts(const std::vector<SavedPort>& plan) {
  size_t created = 0;
  for (const SavedPort& s : plan) {
    try {
      const PortSpec spec = parsePortSpec(s.name, s.options, cfg_.socket_dir);
      checkExternalIds(s.external_ids);
      addPort(spec, s.options, s.external_ids, s.from_config);
      ++created;
    } catch (const std::exception& e) {
      if (s.from_config) throw;  // a config file that cannot work stops the start, as always
      // Kept as saved: a socket directory mounted later or a NIC plugged back in makes a
      // `port add` of it work again; nothing the user saved is dropped silently.
      spdlog::error(
          "port {}: cannot be recreated: {}; kept in the state file (port del {} "
          "forgets it)",
          s.name, e.what(), s.name);
      unrestored_[s.name] = {s, e.what()};
    }
  }
  saveState();
  return created;
}

void Switch::applySpec(PortRec& p, const PortSpec& spec) {
  if (spec.mtu != p.spec.mtu && spec.type == PortType::kDpdk) {
    // The switch drops frames over the MTU itself; a NIC also needs its own limit raised.
    const int rc = rte_eth_dev_set_mtu(p.dp->port_id, static_cast<uint16_t>(spec.mtu));
    if (rc != 0) {
      throw RpcError(rpc_code::kFailed, "port \"" + p.spec.name + "\": mtu: the device refused " +
                                            std::to_string(spec.mtu) + ": " + rte_strerror(-rc));
    }
  }
  const bool repin = spec.rxq_affinity != p.spec.rxq_affinity;
  if (repin) planFor(p.dp->index, spec, false);  // refused before anything changes
  const PortPolicy policy = spec.policy;
  PortSpec rest = spec;
  rest.policy = p.spec.policy;
  if (!(rest == p.spec)) {
    auto next = std::make_unique<DpPort>();
    next->index = p.dp->index;
    next->uid = p.dp->uid;
    next->port_id = p.dp->port_id;
    next->vhost = p.vhost.get();
    next->txq_lock = p.txq_locks.get();
    fillDpPort(*next, spec);
    next->link_up.store(p.dp->link_up.load(std::memory_order_relaxed), std::memory_order_relaxed);
    next->at_mac_limit.store(p.dp->at_mac_limit.load(std::memory_order_relaxed),
                             std::memory_order_relaxed);
    std::unique_ptr<DpPort> old = std::move(p.dp);
    p.dp = std::move(next);
    p.spec = rest;
    publish();  // returns once no PMD can still see `old`
  }
  if (repin) rebalance();
  // VLAN and port security: their own snapshot of the port's policy.
  if (!(policy == p.spec.policy)) setPortPolicy(p.spec.name, policy);
}

void Switch::registerPortMethods(RpcDispatcher& d) {
  d.add("port.add",
        "name options{type,path,devargs,queues,mtu,latency-budget-us,tx-retry-us,rxq-affinity,...} "
        "external_ids{} "
        "may_exist",
        "add a port at run time", [this](const json& params) {
          const std::string name = nameParam(params);
          const PortOptions opts = portOptionsFromParams(params);
          const bool may_exist = boolParam(params, "may_exist");
          PortSpec spec;
          ExternalIds ids;
          try {
            validatePortName(name);
            spec = parsePortSpec(name, opts, cfg_.socket_dir);
            ids = applyExternalIdChanges({}, externalIdParams(params, false));
          } catch (const ConfigError& e) {
            throw RpcError(rpc_code::kInvalidParams, e.what());
          }
          if (auto it = ports_.find(name); it != ports_.end()) {
            if (!may_exist) throw RpcError(rpc_code::kExists, "port \"" + name + "\" exists");
            const std::vector<std::string> diffs =
                portDifferences(it->second->spec, it->second->external_ids, spec, ids);
            if (!diffs.empty()) {
              throw RpcError(
                  rpc_code::kExists,
                  "port \"" + name + "\" exists with a different spec: " + joined(diffs, "; "));
            }
            return portObject(*it->second);
          }
          json result = addPort(spec, opts, ids);
          std::optional<Unrestored> replaced;
          if (auto u = unrestored_.find(name); u != unrestored_.end()) {
            replaced = u->second;
            unrestored_.erase(u);
          }
          try {
            saveState();
          } catch (const RpcError&) {
            delPort(name);
            if (replaced) unrestored_[name] = *replaced;
            throw;
          }
          return result;
        });
  d.add("port.del", "name if_exists", "remove a port", [this](const json& params) {
    const std::string name = nameParam(params);
    const bool if_exists = boolParam(params, "if_exists");
    if (auto u = unrestored_.find(name); u != unrestored_.end()) {
      const Unrestored keep = u->second;
      unrestored_.erase(u);
      try {
        saveState();
      } catch (const RpcError&) {
        unrestored_[name] = keep;
        throw;
      }
      spdlog::info("port {}: saved port that could not be recreated forgotten", name);
      return json{{"name", name}, {"deleted", true}};
    }
    auto it = ports_.find(name);
    if (it == ports_.end()) {
      if (if_exists) return json{{"name", name}, {"deleted", false}};
      throw RpcError(rpc_code::kNotFound, "no port named \"" + name + "\"");
    }
    const SavedPort before{name, it->second->options, it->second->external_ids,
                           it->second->from_config};
    const PortSpec spec = it->second->spec;
    delPort(name);
    try {
      saveState();
    } catch (const RpcError&) {
      try {
        addPort(spec, before.options, before.external_ids, before.from_config);
      } catch (const std::exception& e) {
        spdlog::error("port {}: could not be added back after the failed save: {}", name, e.what());
      }
      throw;
    }
    return json{{"name", name}, {"deleted", true}};
  });
  d.add("port.set",
        "name options{mtu,latency-budget-us,tx-retry-us,rxq-affinity,...} "
        "external_ids{key: value|null}",
        "change a running port's settable options and external ids", [this](const json& params) {
          const std::string name = nameParam(params);
          if (auto u = unrestored_.find(name); u != unrestored_.end()) {
            throw RpcError(rpc_code::kFailed, "port \"" + name +
                                                  "\" is saved but could not be recreated (" +
                                                  u->second.error + "); port del or port add it");
          }
          PortRec& p = findPort(name);
          const PortOptions changes = portOptionsFromParams(params);
          PortSetPlan plan;
          ExternalIds ids;
          try {
            plan = planPortSet(p.spec, p.options, changes, cfg_.socket_dir);
            ids = applyExternalIdChanges(p.external_ids, externalIdParams(params, true));
          } catch (const ConfigError& e) {
            std::string msg = e.what();
            if (!msg.starts_with("port ")) msg = "port \"" + name + "\": " + msg;
            throw RpcError(rpc_code::kInvalidParams, msg);
          }
          const PortSpec old_spec = p.spec;
          const PortOptions old_options = p.options;
          const ExternalIds old_ids = p.external_ids;
          if (!plan.changed.empty()) applySpec(p, plan.spec);
          p.options = plan.options;
          p.external_ids = ids;
          try {
            saveState();
          } catch (const RpcError&) {
            if (!plan.changed.empty()) applySpec(p, old_spec);
            p.options = old_options;
            p.external_ids = old_ids;
            throw;
          }
          if (!plan.changed.empty() || old_ids != ids) {
            spdlog::info(
                "port {} set: {}{}", name, joined(plan.changed, ", "),
                old_ids != ids ? (plan.changed.empty() ? "external-ids" : ", external-ids") : "");
          }
          return portObject(p);
        });
  d.add("port.list", "external_ids{key: value} (all must match)",
        "all ports with state and packet counts", [this](const json& params) {
          ExternalIds filter;
          for (auto& [k, v] : externalIdParams(params, false)) filter[k] = *v;
          std::vector<PortRec*> v;
          for (auto& entry : ports_) {
            PortRec* p = entry.second.get();
            const bool match = std::all_of(filter.begin(), filter.end(), [&](const auto& kv) {
              auto it = p->external_ids.find(kv.first);
              return it != p->external_ids.end() && it->second == kv.second;
            });
            if (match) v.push_back(p);
          }
          std::sort(v.begin(), v.end(),
                    [](auto* a, auto* b) { return a->dp->index < b->dp->index; });
          json a = json::array();
          for (PortRec* p : v) a.push_back(portSummary(*p));
          json unrestored = json::array();
          for (const auto& [n, u] : unrestored_) {
            unrestored.push_back({{"name", n}, {"error", u.error}});
          }
          json result{{"ports", a}};
          if (!unrestored.empty()) result["unrestored"] = unrestored;  // only when there are any
          return result;
        });
  d.add("port.show", "name", "one port in detail",
        [this](const json& params) { return portObject(findPort(nameParam(params))); });
}

}  // namespace rtvs
