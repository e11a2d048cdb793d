#include "switch/core/port_spec.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "switch/core/port_policy.h"

namespace rtvs {

namespace {

// Every port option, once. `settable`: `port set` may change it on a running port (the daemon
// rebuilds the port's dataplane view from the new PortSpec, see Switch::setPort); the others need
// the port deleted and added again.
struct PortOptionDef {
  std::string_view key;
  bool settable;
};
constexpr std::array<PortOptionDef, 8> kPortOptions = {{
    {"type", false},
    {"path", false},
    {"devargs", false},
    {"queues", false},
    {"mtu", true},
    {"latency-budget-us", true},
    {"tx-retry-us", true},
    {"rxq-affinity", true},
}};
constexpr uint32_t kMaxLatencyBudgetUs = 1000000;

[[noreturn]] void fail(std::string_view key, const std::string& reason) {
  throw ConfigError(std::string(key) + ": " + reason);
}

bool parseType(std::string_view text, PortType& type) {
  for (PortType t : {PortType::kVhostUserClient, PortType::kVhostUser, PortType::kDpdk}) {
    if (text == portTypeName(t)) {
      type = t;
      return true;
    }
  }
  return false;
}

std::string knownKeys() {
  std::string s;
  for (const PortOptionDef& o : kPortOptions) {
    if (!s.empty()) s += ", ";
    s += o.key;
  }
  s += ", tag, trunks, vlan-mode, allowed-macs, mac-limit, storm-broadcast-pps, "
       "storm-multicast-pps, storm-unknown-unicast-pps";
  return s;
}

void checkSocketPath(const std::string& path, bool defaulted) {
  // A defaulted path comes from socket-dir: say so, or the user looks for a key they never wrote.
  const std::string from = defaulted ? " (default <socket-dir>/<name>)" : "";
  if (path.empty()) fail("path", "must not be empty");
  if (path.find('\0') != std::string::npos) fail("path", "must not contain a NUL byte");
  if (path.size() > kMaxSocketPath) {
    fail("path", "must be at most " + std::to_string(kMaxSocketPath) + " bytes, got " +
                     std::to_string(path.size()) + from);
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    fail("path", "directory " + quotedValue(dir.string()) + " does not exist" + from);
  }
}

}  // namespace

std::string_view portTypeName(PortType t) noexcept {
  switch (t) {
    case PortType::kVhostUserClient:
      return "vhostuserclient";
    case PortType::kVhostUser:
      return "vhostuser";
    case PortType::kDpdk:
      return "dpdk";
  }
  return "unknown";
}

std::string quotedValue(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

uint64_t parseUnsigned(std::string_view text, uint64_t lo, uint64_t hi, std::string_view key) {
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    fail(key, "must be an integer " + range + ", got " + quotedValue(text));
  }
  if (ec == std::errc::result_out_of_range || v < lo || v > hi) {
    fail(key, "must be " + range + ", got " + std::string(text));
  }
  return v;
}

void validatePortName(std::string_view name) {
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
  if (name.empty() || name.size() > kMaxPortName || !chars_ok || name[0] == '.' || name[0] == '-') {
    fail("name", "must be 1-" + std::to_string(kMaxPortName) +
                     " characters of [A-Za-z0-9_.-], not starting with '.' or '-', got " +
                     quotedValue(name));
  }
}

bool portOptionSettable(std::string_view key) noexcept {
  for (const PortOptionDef& o : kPortOptions) {
    if (o.key == key) return o.settable;
  }
  return isPolicyKey(key);  // VLAN and port security: all settable (Switch::setPortPolicy)
}

void checkPortOption(std::string_view key, std::string_view value) {
  PortType type;
  if (key == "type") {
    if (!parseType(value, type)) {
      fail(key, "must be vhostuserclient, vhostuser or dpdk, got " + quotedValue(value));
    }
  } else if (key == "path" || key == "devargs") {
    if (value.empty()) fail(key, "must not be empty");
  } else if (key == "queues") {
    parseUnsigned(value, 1, kMaxQueues, key);
  } else if (key == "mtu") {
    parseUnsigned(value, kMinMtu, kMaxMtu, key);
  } else if (key == "latency-budget-us") {
    parseUnsigned(value, 0, kMaxLatencyBudgetUs, key);
  } else if (key == "tx-retry-us") {
    parseUnsigned(value, 0, kMaxTxRetryUs, key);
  } else if (key == "rxq-affinity") {
    parseRxqAffinity(value);
  } else if (isPolicyKey(key)) {
    checkPolicyOption(key, value);
  } else {
    fail(quotedValue(key), "unknown key (known: " + knownKeys() + ")");
  }
}

PortSpec parsePortSpec(std::string_view name, const PortOptions& options,
                       const std::string& socket_dir) {
  try {
    validatePortName(name);
    PortSpec spec;
    spec.name = std::string(name);
    bool has_path = false;
    bool has_devargs = false;
    for (size_t i = 0; i < options.size(); ++i) {
      const auto& [key, value] = options[i];
      checkPortOption(key, value);
      for (size_t j = 0; j < i; ++j) {
        if (options[j].first == key) fail(key, "given more than once");
      }
      if (key == "type") {
        parseType(value, spec.type);
      } else if (key == "path") {
        spec.path = value;
        has_path = true;
      } else if (key == "devargs") {
        spec.devargs = value;
        has_devargs = true;
      } else if (key == "queues") {
        spec.queues = static_cast<uint16_t>(parseUnsigned(value, 1, kMaxQueues, key));
      } else if (key == "mtu") {
        spec.mtu = static_cast<uint32_t>(parseUnsigned(value, kMinMtu, kMaxMtu, key));
      } else if (key == "latency-budget-us") {
        spec.latency_budget_us =
            static_cast<uint32_t>(parseUnsigned(value, 0, kMaxLatencyBudgetUs, key));
      } else if (key == "tx-retry-us") {
        spec.tx_retry_us = static_cast<uint32_t>(parseUnsigned(value, 0, kMaxTxRetryUs, key));
      } else if (key == "rxq-affinity") {
        spec.rxq_affinity = parseRxqAffinity(value);
      }
    }
    for (const auto& [queue, cpu] : spec.rxq_affinity) {
      if (queue >= spec.queues) {
        fail("rxq-affinity", "queue " + std::to_string(queue) + " does not exist (the port has " +
                                 std::to_string(spec.queues) + " queue" +
                                 (spec.queues == 1 ? "" : "s") + ")");
      }
    }
    spec.policy = parsePolicy(options);
    const std::string type_name(portTypeName(spec.type));
    if (spec.type == PortType::kDpdk) {
      if (has_path) fail("path", "does not apply to type dpdk (use devargs)");
      if (!has_devargs) fail("devargs", "required for type dpdk");
    } else {
      if (has_devargs) fail("devargs", "does not apply to type " + type_name + " (use path)");
      if (!has_path && spec.type == PortType::kVhostUserClient) {
        fail("path", "required for type " + type_name);
      }
      if (!has_path) spec.path = socket_dir + "/" + spec.name;
      checkSocketPath(spec.path, !has_path);
    }
    return spec;
  } catch (const ConfigError& e) {
    throw ConfigError("port " + quotedValue(name) + ": " + e.what());
  }
}

std::vector<std::pair<uint16_t, unsigned>> parseRxqAffinity(std::string_view text) {
  constexpr std::string_view kKey = "rxq-affinity";
  std::vector<std::pair<uint16_t, unsigned>> pins;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(pos, comma - pos);
    const size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      fail(kKey, "must be QUEUE:CPU[,QUEUE:CPU...], got " + quotedValue(text));
    }
    const auto queue =
        static_cast<uint16_t>(parseUnsigned(item.substr(0, colon), 0, kMaxQueues - 1, kKey));
    const auto cpu = static_cast<unsigned>(parseUnsigned(item.substr(colon + 1), 0, 1023, kKey));
    for (const auto& p : pins) {
      if (p.first == queue) fail(kKey, "queue " + std::to_string(queue) + " given more than once");
    }
    pins.emplace_back(queue, cpu);
    pos = comma + 1;
    if (comma + 1 == text.size()) fail(kKey, "trailing ',' in " + quotedValue(text));
  }
  return pins;
}

PortOptions parseKeyValues(const std::vector<std::string>& tokens) {
  PortOptions out;
  for (const std::string& token : tokens) {
    const size_t eq = token.find('=');
    if (eq == std::string::npos) fail(quotedValue(token), "expected key=value");
    if (eq == 0) fail(quotedValue(token), "empty key before '='");
    out.emplace_back(token.substr(0, eq), token.substr(eq + 1));
  }
  return out;
}

PortOptions toOptions(const PortSpec& spec) {
  PortOptions out;
  out.emplace_back("type", std::string(portTypeName(spec.type)));
  if (spec.type == PortType::kDpdk) {
    out.emplace_back("devargs", spec.devargs);
  } else {
    out.emplace_back("path", spec.path);
  }
  out.emplace_back("queues", std::to_string(spec.queues));
  out.emplace_back("mtu", std::to_string(spec.mtu));
  out.emplace_back("latency-budget-us", std::to_string(spec.latency_budget_us));
  out.emplace_back("tx-retry-us", std::to_string(spec.tx_retry_us));
  if (!spec.rxq_affinity.empty()) {
    std::string pins;
    for (const auto& [queue, cpu] : spec.rxq_affinity) {
      pins += (pins.empty() ? "" : ",") + std::to_string(queue) + ":" + std::to_string(cpu);
    }
    out.emplace_back("rxq-affinity", pins);
  }
  for (auto& kv : policyOptions(spec.policy)) out.push_back(std::move(kv));
  return out;
}

}  // namespace rtvs
