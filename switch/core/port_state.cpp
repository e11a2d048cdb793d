#include "switch/core/port_state.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace rtvs {

namespace {

using nlohmann::json;

[[noreturn]] void fail(std::string_view key, const std::string& reason) {
  throw ConfigError(std::string(key) + ": " + reason);
}

bool keyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '/' || c == '-';
}

const std::string* findOption(const PortOptions& opts, std::string_view key) {
  for (const auto& [k, v] : opts) {
    if (k == key) return &v;
  }
  return nullptr;
}

void setOption(PortOptions& opts, const std::string& key, const std::string& value) {
  for (auto& [k, v] : opts) {
    if (k == key) {
      v = value;
      return;
    }
  }
  opts.emplace_back(key, value);
}

std::string shown(const std::string* v) { return v ? quotedValue(*v) : "(none)"; }

[[noreturn]] void bad(const std::string& where, const std::string& reason) {
  throw StateError(where + ": " + reason);
}

std::string typeOf(const json& j) { return j.type_name(); }

std::map<std::string, std::string> stringMap(const json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "must be an object, got " + typeOf(j));
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) bad(where + "." + k, "must be a string, got " + typeOf(v));
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

}  // namespace

void checkExternalId(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > kMaxExternalIdKey ||
      !std::all_of(key.begin(), key.end(), keyChar)) {
    fail("external-ids", "key must be 1-" + std::to_string(kMaxExternalIdKey) +
                             " characters of [A-Za-z0-9_.:/-], got " + quotedValue(key));
  }
  if (value.empty() || value.size() > kMaxExternalIdValue ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    fail("external-ids:" + std::string(key),
         "value must be 1-" + std::to_string(kMaxExternalIdValue) +
             " printable ASCII characters, got " + quotedValue(value));
  }
}

void checkExternalIds(const ExternalIds& ids) {
  for (const auto& [k, v] : ids) checkExternalId(k, v);
  if (ids.size() > kMaxExternalIds) {
    fail("external-ids", "at most " + std::to_string(kMaxExternalIds) + " per port, got " +
                             std::to_string(ids.size()));
  }
}

ExternalIds applyExternalIdChanges(const ExternalIds& ids, const ExternalIdChanges& changes) {
  ExternalIds out = ids;
  std::set<std::string> seen;
  for (const auto& [k, v] : changes) {
    if (!seen.insert(k).second) fail("external-ids:" + k, "given more than once");
    if (v) {
      checkExternalId(k, *v);
      out[k] = *v;
    } else {
      checkExternalId(k, "-");  // the key alone
      out.erase(k);
    }
  }
  checkExternalIds(out);
  return out;
}

std::vector<SavedPort> parsePortState(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw StateError(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) bad("top level", "must be an object, got " + typeOf(j));
  if (!j.contains("version")) bad("version", "missing");
  if (!j["version"].is_number_integer() || j["version"].get<int64_t>() != kStateVersion) {
    bad("version", "must be " + std::to_string(kStateVersion) + ", got " + j["version"].dump());
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "version" && k != "ports") bad(quotedValue(k), "unknown key");
  }
  if (!j.contains("ports")) bad("ports", "missing");
  const json& ports = j["ports"];
  if (!ports.is_array()) bad("ports", "must be an array, got " + typeOf(ports));
  std::vector<SavedPort> out;
  std::set<std::string> names;
  for (size_t i = 0; i < ports.size(); ++i) {
    const json& p = ports[i];
    std::string where = "ports[" + std::to_string(i) + "]";
    if (!p.is_object()) bad(where, "must be an object, got " + typeOf(p));
    SavedPort sp;
    for (const auto& [k, v] : p.items()) {
      if (k == "name") {
        if (!v.is_string()) bad(where + ".name", "must be a string, got " + typeOf(v));
        sp.name = v.get<std::string>();
      } else if (k == "options") {
        for (auto& [ok, ov] : stringMap(v, where + ".options")) sp.options.emplace_back(ok, ov);
      } else if (k == "external_ids") {
        sp.external_ids = stringMap(v, where + ".external_ids");
      } else if (k == "from_config") {
        if (!v.is_boolean()) bad(where + ".from_config", "must be a boolean, got " + typeOf(v));
        sp.from_config = v.get<bool>();
      } else {
        bad(where, "unknown key " + quotedValue(k));
      }
    }
    if (!p.contains("name")) bad(where + ".name", "missing");
    try {
      validatePortName(sp.name);
      checkExternalIds(sp.external_ids);
    } catch (const ConfigError& e) {
      bad(where, e.what());
    }
    if (!names.insert(sp.name).second) bad(where, "port " + quotedValue(sp.name) + " given twice");
    out.push_back(std::move(sp));
  }
  return out;
}

std::string serializePortState(const std::vector<SavedPort>& ports) {
  json a = json::array();
  for (const SavedPort& p : ports) {
    json opts = json::object();
    for (const auto& [k, v] : p.options) opts[k] = v;
    a.push_back({{"name", p.name},
                 {"options", opts},
                 {"external_ids", json(p.external_ids)},
                 {"from_config", p.from_config}});
  }
  return json{{"version", kStateVersion}, {"ports", a}}.dump(1) + "\n";
}

StartPlan planStartPorts(const std::vector<SavedPort>& config_ports,
                         const std::vector<SavedPort>& saved) {
  StartPlan plan;
  std::map<std::string, const SavedPort*> by_name;
  for (const SavedPort& s : saved) by_name[s.name] = &s;
  std::set<std::string> in_config;
  for (const SavedPort& c : config_ports) {
    in_config.insert(c.name);
    plan.ports.push_back(c);
    auto it = by_name.find(c.name);
    if (it == by_name.end()) continue;
    const SavedPort& s = *it->second;
    std::map<std::string, std::string> a(c.options.begin(), c.options.end());
    std::map<std::string, std::string> b(s.options.begin(), s.options.end());
    if (a != b || c.external_ids != s.external_ids) {
      plan.notes.push_back("port " + quotedValue(c.name) +
                           ": the config file's [[port]] wins over the saved state (run-time "
                           "changes to it are not kept across restarts)");
    }
  }
  for (const SavedPort& s : saved) {
    if (in_config.count(s.name)) continue;
    if (s.from_config) {
      plan.notes.push_back("port " + quotedValue(s.name) +
                           ": saved as a config-file port, no longer in the config file: not "
                           "recreated");
      continue;
    }
    plan.ports.push_back(s);
  }
  return plan;
}

std::vector<std::string> portDifferences(const PortSpec& now, const ExternalIds& ids_now,
                                         const PortSpec& asked, const ExternalIds& ids_asked) {
  std::vector<std::string> out;
  const PortOptions a = toOptions(now);
  const PortOptions b = toOptions(asked);
  std::vector<std::string> keys;
  for (const auto& [k, v] : a) keys.push_back(k);
  for (const auto& [k, v] : b) {
    if (!findOption(a, k)) keys.push_back(k);
  }
  for (const std::string& k : keys) {
    const std::string* va = findOption(a, k);
    const std::string* vb = findOption(b, k);
    if (!va || !vb || *va != *vb)
      out.push_back(k + ": " + shown(va) + " now, " + shown(vb) + " asked");
  }
  if (out.empty() && !(now == asked)) out.push_back("options differ");
  std::set<std::string> ids;
  for (const auto& [k, v] : ids_now) ids.insert(k);
  for (const auto& [k, v] : ids_asked) ids.insert(k);
  for (const std::string& k : ids) {
    auto ia = ids_now.find(k);
    auto ib = ids_asked.find(k);
    const std::string* va = ia == ids_now.end() ? nullptr : &ia->second;
    const std::string* vb = ib == ids_asked.end() ? nullptr : &ib->second;
    if (!va || !vb || *va != *vb) {
      out.push_back("external-ids:" + k + ": " + shown(va) + " now, " + shown(vb) + " asked");
    }
  }
  return out;
}

PortSetPlan planPortSet(const PortSpec& current, const PortOptions& current_options,
                        const PortOptions& changes, const std::string& socket_dir) {
  PortSetPlan plan;
  plan.options = current_options;
  std::set<std::string> seen;
  for (const auto& [k, v] : changes) {
    if (!seen.insert(k).second) fail(k, "given more than once");
    checkPortOption(k, v);
    setOption(plan.options, k, v);
  }
  // Every key on its own first, so that a re-create option is named as such.
  for (const auto& [k, v] : changes) {
    PortOptions one = current_options;
    setOption(one, k, v);
    PortSpec alone;
    try {
      alone = parsePortSpec(current.name, one, socket_dir);
    } catch (const ConfigError&) {
      // Valid only together with another change (e.g. type with devargs): a re-create for sure.
      if (!portOptionSettable(k)) {
        fail(k, "cannot change on a running port; delete and add the port again");
      }
      plan.changed.push_back(k);
      continue;
    }
    if (alone == current) continue;
    if (!portOptionSettable(k)) {
      fail(k, "cannot change on a running port; delete and add the port again");
    }
    plan.changed.push_back(k);
  }
  plan.spec = parsePortSpec(current.name, plan.options, socket_dir);
  return plan;
}

std::string externalIdLabel(std::string_view key) {
  std::string out;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  if (!out.empty() && out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
  if (out.empty() || out == "port" || out.starts_with("__")) return {};
  return out;
}

std::vector<std::pair<std::string, std::string>> portInfoLabels(const std::string& port,
                                                                const ExternalIds& ids) {
  std::vector<std::pair<std::string, std::string>> out{{"port", port}};
  std::set<std::string> taken{"port"};
  for (const auto& [k, v] : ids) {
    const std::string label = externalIdLabel(k);
    if (label.empty() || !taken.insert(label).second) continue;
    out.emplace_back(label, v);
  }
  return out;
}

}  // namespace rtvs
