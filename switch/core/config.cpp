#include "switch/core/config.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>

namespace rtvs {

namespace {

constexpr unsigned kMaxCpus = 1024;

struct Range {
  int64_t lo;
  int64_t hi;
};
constexpr Range kMemoryMb{64, 65536};
constexpr Range kMbufs{1024, 4194304};
constexpr Range kMacAgingSec{0, 86400};
constexpr Range kMacTableSize{16, 16777216};
constexpr Range kPmdPriority{0, 99};
constexpr Range kMutationRate{0, 1000000};
constexpr Range kMutationBurst{1, 1000000};

constexpr std::array<std::pair<std::string_view, LogLevel>, 7> kLogLevels = {{
    {"trace", LogLevel::kTrace},
    {"debug", LogLevel::kDebug},
    {"info", LogLevel::kInfo},
    {"warn", LogLevel::kWarn},
    {"error", LogLevel::kError},
    {"critical", LogLevel::kCritical},
    {"off", LogLevel::kOff},
}};

[[noreturn]] void fail(std::string_view key, const std::string& reason) {
  throw ConfigError(std::string(key) + ": " + reason);
}

std::string rangeText(Range r) { return std::to_string(r.lo) + ".." + std::to_string(r.hi); }

void checkRange(std::string_view key, int64_t v, Range r) {
  if (v < r.lo || v > r.hi) fail(key, "must be " + rangeText(r) + ", got " + std::to_string(v));
}

void checkCpus(const std::vector<unsigned>& cpus, std::string_view key) {
  std::set<unsigned> seen;
  for (unsigned c : cpus) {
    if (c >= kMaxCpus) {
      fail(key, "cpu " + std::to_string(c) + " out of range 0.." + std::to_string(kMaxCpus - 1));
    }
    if (!seen.insert(c).second) fail(key, "cpu " + std::to_string(c) + " listed more than once");
  }
}

void checkMetricsListen(const std::string& text, std::string_view key) {
  if (text.empty()) return;
  const std::string usage = "must be HOST:PORT (or empty for off), got " + quotedValue(text);
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) fail(key, usage);
  const std::string host = text.substr(0, colon);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (!bracketed && host.find_first_of(":[] \t") != std::string::npos) fail(key, usage);
  const std::string port = text.substr(colon + 1);
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || v == 0 ||
      v > 65535) {
    fail(key, "port must be 1..65535, got " + quotedValue(port));
  }
}

void checkSocketFile(const std::string& path, std::string_view key) {
  if (path.empty()) fail(key, "must not be empty");
  if (path.size() > kMaxSocketPath) {
    fail(key, "must be at most " + std::to_string(kMaxSocketPath) + " bytes, got " +
                  std::to_string(path.size()));
  }
}

void checkStateFile(const std::string& path, std::string_view key) {
  if (path.empty()) return;
  if (path.front() != '/')
    fail(key, "must be an absolute path or empty (off), got " + quotedValue(path));
  if (path.back() == '/') fail(key, "must name a file, got " + quotedValue(path));
  if (path.find('\0') != std::string::npos) fail(key, "must not contain a NUL byte");
}

// The parsed document, TOML or JSON, with the line of each value where known (0 = unknown), so
// one set of rules applies to both formats.
struct Member;
struct Node {
  enum class Kind { kString, kInteger, kBoolean, kFloat, kArray, kTable, kOther };
  Kind kind = Kind::kOther;
  uint32_t line = 0;
  std::string str;      // kString; for kInteger the value as written (for messages)
  int64_t integer = 0;  // kInteger (JSON integers above INT64_MAX are clamped; str is exact)
  bool boolean = false;
  std::vector<Node> items;      // kArray
  std::vector<Member> members;  // kTable
  std::string other;            // kOther: the type's name
};
// A table's key and value. Not a std::pair: a pair needs a complete Node where Node is declared
// (libstdc++ with clang rejects it), a vector of a declared struct does not.
struct Member {
  std::string key;
  Node value;
};

std::string kindName(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kString:
      return "string";
    case Node::Kind::kInteger:
      return "integer";
    case Node::Kind::kBoolean:
      return "boolean";
    case Node::Kind::kFloat:
      return "float";
    case Node::Kind::kArray:
      return "array";
    case Node::Kind::kTable:
      return "table";
    case Node::Kind::kOther:
      return n.other;
  }
  return "value";
}

Node fromToml(const toml::node& n) {
  Node out;
  out.line = n.source().begin.line;
  if (const auto* s = n.as_string()) {
    out.kind = Node::Kind::kString;
    out.str = s->get();
  } else if (const auto* i = n.as_integer()) {
    out.kind = Node::Kind::kInteger;
    out.integer = i->get();
    out.str = std::to_string(out.integer);
  } else if (const auto* b = n.as_boolean()) {
    out.kind = Node::Kind::kBoolean;
    out.boolean = b->get();
  } else if (n.is_floating_point()) {
    out.kind = Node::Kind::kFloat;
  } else if (const auto* a = n.as_array()) {
    out.kind = Node::Kind::kArray;
    for (const toml::node& e : *a) out.items.push_back(fromToml(e));
  } else if (const auto* t = n.as_table()) {
    out.kind = Node::Kind::kTable;
    for (const auto& [k, v] : *t) out.members.push_back({std::string(k.str()), fromToml(v)});
  } else {
    out.other = "date/time";
  }
  return out;
}

Node fromJson(const nlohmann::json& j) {
  Node out;
  if (j.is_string()) {
    out.kind = Node::Kind::kString;
    out.str = j.get<std::string>();
  } else if (j.is_number_unsigned()) {
    out.kind = Node::Kind::kInteger;
    const uint64_t v = j.get<uint64_t>();
    out.integer = v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                      ? std::numeric_limits<int64_t>::max()
                      : static_cast<int64_t>(v);
    out.str = std::to_string(v);
  } else if (j.is_number_integer()) {
    out.kind = Node::Kind::kInteger;
    out.integer = j.get<int64_t>();
    out.str = std::to_string(out.integer);
  } else if (j.is_boolean()) {
    out.kind = Node::Kind::kBoolean;
    out.boolean = j.get<bool>();
  } else if (j.is_number_float()) {
    out.kind = Node::Kind::kFloat;
  } else if (j.is_array()) {
    out.kind = Node::Kind::kArray;
    for (const auto& e : j) out.items.push_back(fromJson(e));
  } else if (j.is_object()) {
    out.kind = Node::Kind::kTable;
    for (const auto& [k, v] : j.items()) out.members.push_back({k, fromJson(v)});
  } else {
    out.other = "null";
  }
  return out;
}

// Where a message comes from: "file:line: ", "file: ", "line N: " or "".
class Origin {
 public:
  explicit Origin(std::string source) : source_(std::move(source)) {}
  std::string at(uint32_t line) const {
    if (source_.empty()) return line ? "line " + std::to_string(line) + ": " : "";
    return line ? source_ + ":" + std::to_string(line) + ": " : source_ + ": ";
  }

 private:
  std::string source_;
};

std::string asString(const Node& n, std::string_view key) {
  if (n.kind != Node::Kind::kString) fail(key, "must be a string, got " + kindName(n));
  return n.str;
}

int64_t asInteger(const Node& n, std::string_view key, Range r) {
  if (n.kind != Node::Kind::kInteger) fail(key, "must be an integer, got " + kindName(n));
  if (n.integer < r.lo || n.integer > r.hi) fail(key, "must be " + rangeText(r) + ", got " + n.str);
  return n.integer;
}

bool asBool(const Node& n, std::string_view key) {
  if (n.kind != Node::Kind::kBoolean) fail(key, "must be true or false, got " + kindName(n));
  return n.boolean;
}

std::vector<unsigned> asCpuList(const Node& n, std::string_view key) {
  const std::string expected = "must be a cpu list string (\"1,3-5\") or an array of integers";
  if (n.kind == Node::Kind::kString) return parseCpuList(n.str, std::string(key));
  if (n.kind != Node::Kind::kArray) fail(key, expected + ", got " + kindName(n));
  std::vector<unsigned> cpus;
  for (const Node& item : n.items) {
    if (item.kind != Node::Kind::kInteger) {
      fail(key, expected + ", got an array containing " + kindName(item));
    }
    if (item.integer < 0 || item.integer >= static_cast<int64_t>(kMaxCpus)) {
      fail(key, "cpu " + item.str + " out of range 0.." + std::to_string(kMaxCpus - 1));
    }
    cpus.push_back(static_cast<unsigned>(item.integer));
  }
  checkCpus(cpus, key);
  return cpus;
}

std::vector<std::string> asStrings(const Node& n, std::string_view key) {
  if (n.kind != Node::Kind::kArray) fail(key, "must be an array of strings, got " + kindName(n));
  std::vector<std::string> out;
  for (const Node& item : n.items) {
    if (item.kind != Node::Kind::kString) {
      fail(key, "must be an array of strings, got an array containing " + kindName(item));
    }
    out.push_back(item.str);
  }
  return out;
}

void checkGroupName(const std::string& g, std::string_view key) {
  const bool ok = std::all_of(g.begin(), g.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
  if (!ok || (!g.empty() && g[0] == '-')) {
    fail(key, "must be a group name of [A-Za-z0-9_.-], got " + quotedValue(g));
  }
}

void checkAllowedDir(const std::string& d, std::string_view key) {
  if (d.empty() || d[0] != '/') fail(key, "must be absolute directories, got " + quotedValue(d));
}

// A port as written: its options are checked one by one at load time, but resolved into a
// PortSpec only once socket-dir is final (the command line may still change it).
struct RawPort {
  std::string name;
  PortOptions options;
  std::string origin;  // message prefix for errors found when resolving
};

struct RawConfig {
  Config cfg;
  std::vector<RawPort> ports;
};

void addPorts(RawConfig& raw, const Node& n, const Origin& origin) {
  if (n.kind != Node::Kind::kArray) {
    throw ConfigError(origin.at(n.line) + "port: must be an array of tables, got " + kindName(n));
  }
  for (size_t i = 0; i < n.items.size(); ++i) {
    const Node& table = n.items[i];
    const std::string index = "port #" + std::to_string(i + 1);
    if (table.kind != Node::Kind::kTable) {
      throw ConfigError(origin.at(table.line) + index + ": must be a table, got " +
                        kindName(table));
    }
    RawPort port;
    port.origin = origin.at(table.line);
    const auto name_it = std::find_if(table.members.begin(), table.members.end(),
                                      [](const auto& m) { return m.key == "name"; });
    try {
      if (name_it == table.members.end()) fail("name", "missing");
      port.name = asString(name_it->value, "name");
      validatePortName(port.name);
    } catch (const ConfigError& e) {
      const uint32_t line = name_it == table.members.end() ? table.line : name_it->value.line;
      throw ConfigError(origin.at(line) + index + ": " + e.what());
    }
    for (const auto& [key, value] : table.members) {
      if (key == "name") continue;
      try {
        if (value.kind != Node::Kind::kString && value.kind != Node::Kind::kInteger) {
          fail(key, "must be a string or an integer, got " + kindName(value));
        }
        checkPortOption(key, value.str);
      } catch (const ConfigError& e) {
        throw ConfigError(origin.at(value.line) + "port " + quotedValue(port.name) + ": " +
                          e.what());
      }
      port.options.emplace_back(key, value.str);
    }
    raw.ports.push_back(std::move(port));
  }
}

using Setter = void (*)(Config&, const Node&);

const std::map<std::string_view, Setter>& setters() {
  static const std::map<std::string_view, Setter> kSetters = {
      {"pmd-cores", [](Config& c, const Node& n) { c.pmd_cores = asCpuList(n, "pmd-cores"); }},
      {"housekeeping-cores",
       [](Config& c, const Node& n) { c.housekeeping_cores = asCpuList(n, "housekeeping-cores"); }},
      {"socket-dir",
       [](Config& c, const Node& n) {
         c.socket_dir = asString(n, "socket-dir");
         if (c.socket_dir.empty()) fail("socket-dir", "must not be empty");
       }},
      {"socket-dir-group",
       [](Config& c, const Node& n) {
         c.socket_dir_group = asString(n, "socket-dir-group");
         checkGroupName(c.socket_dir_group, "socket-dir-group");
       }},
      {"socket-dir-mode",
       [](Config& c, const Node& n) {
         c.socket_dir_mode = asString(n, "socket-dir-mode");
         if (!c.socket_dir_mode.empty()) parseFileMode(c.socket_dir_mode, "socket-dir-mode");
       }},
      {"state-file",
       [](Config& c, const Node& n) {
         c.state_file = asString(n, "state-file");
         checkStateFile(c.state_file, "state-file");
       }},
      {"control-socket",
       [](Config& c, const Node& n) {
         c.control_socket = asString(n, "control-socket");
         checkSocketFile(c.control_socket, "control-socket");
       }},
      {"memory-mb",
       [](Config& c, const Node& n) {
         c.memory_mb = static_cast<unsigned>(asInteger(n, "memory-mb", kMemoryMb));
       }},
      {"no-huge", [](Config& c, const Node& n) { c.no_huge = asBool(n, "no-huge"); }},
      {"file-prefix",
       [](Config& c, const Node& n) {
         c.file_prefix = asString(n, "file-prefix");
         if (c.file_prefix.empty() || c.file_prefix.find('/') != std::string::npos) {
           fail("file-prefix",
                "must be non-empty and contain no '/', got " + quotedValue(c.file_prefix));
         }
       }},
      {"mbufs",
       [](Config& c, const Node& n) {
         c.mbufs = static_cast<unsigned>(asInteger(n, "mbufs", kMbufs));
       }},
      {"mac-aging-sec",
       [](Config& c, const Node& n) {
         c.mac_aging_s = static_cast<unsigned>(asInteger(n, "mac-aging-sec", kMacAgingSec));
       }},
      {"mac-table-size",
       [](Config& c, const Node& n) {
         c.mac_table_size = static_cast<unsigned>(asInteger(n, "mac-table-size", kMacTableSize));
         if (!std::has_single_bit(c.mac_table_size)) {
           fail("mac-table-size", "must be a power of two, got " + n.str);
         }
       }},
      {"log-level",
       [](Config& c, const Node& n) {
         c.log_level = parseLogLevel(asString(n, "log-level"), "log-level");
       }},
      {"pmd-priority",
       [](Config& c, const Node& n) {
         c.pmd_priority = static_cast<int>(asInteger(n, "pmd-priority", kPmdPriority));
       }},
      {"mlockall", [](Config& c, const Node& n) { c.mlockall = asBool(n, "mlockall"); }},
      {"realtime", [](Config& c, const Node& n) { c.realtime = asBool(n, "realtime"); }},
      {"allow-degraded",
       [](Config& c, const Node& n) { c.allow_degraded = asBool(n, "allow-degraded"); }},
      {"latency-accounting",
       [](Config& c, const Node& n) { c.latency_accounting = asBool(n, "latency-accounting"); }},
      {"metrics-listen",
       [](Config& c, const Node& n) {
         c.metrics_listen = asString(n, "metrics-listen");
         checkMetricsListen(c.metrics_listen, "metrics-listen");
       }},
      {"control-admin-group",
       [](Config& c, const Node& n) {
         c.control_admin_group = asString(n, "control-admin-group");
         checkGroupName(c.control_admin_group, "control-admin-group");
       }},
      {"control-read-group",
       [](Config& c, const Node& n) {
         c.control_read_group = asString(n, "control-read-group");
         checkGroupName(c.control_read_group, "control-read-group");
       }},
      {"allowed-socket-dirs",
       [](Config& c, const Node& n) {
         c.allowed_socket_dirs = asStrings(n, "allowed-socket-dirs");
         for (const auto& d : c.allowed_socket_dirs) checkAllowedDir(d, "allowed-socket-dirs");
       }},
      {"dpdk-allow",
       [](Config& c, const Node& n) {
         c.dpdk_allow = asStrings(n, "dpdk-allow");
         parseDevargsRules(c.dpdk_allow);
       }},
      {"control-mutation-rate",
       [](Config& c, const Node& n) {
         c.control_mutation_rate =
             static_cast<unsigned>(asInteger(n, "control-mutation-rate", kMutationRate));
       }},
      {"control-mutation-burst",
       [](Config& c, const Node& n) {
         c.control_mutation_burst =
             static_cast<unsigned>(asInteger(n, "control-mutation-burst", kMutationBurst));
       }},
      {"eal-args",
       [](Config& c, const Node& n) {
         if (n.kind != Node::Kind::kArray) {
           fail("eal-args", "must be an array of strings, got " + kindName(n));
         }
         c.eal_args.clear();
         for (const Node& item : n.items) {
           if (item.kind != Node::Kind::kString) {
             fail("eal-args",
                  "must be an array of strings, got an array containing " + kindName(item));
           }
           c.eal_args.push_back(item.str);
         }
       }},
  };
  return kSetters;
}

RawConfig loadRaw(const Node& root, const Origin& origin) {
  RawConfig raw;
  if (root.kind != Node::Kind::kTable) {
    throw ConfigError(origin.at(root.line) + "must be a table of keys, got " + kindName(root));
  }
  for (const auto& [key, value] : root.members) {
    if (key == "port") {
      addPorts(raw, value, origin);
      continue;
    }
    const auto it = setters().find(key);
    try {
      if (it == setters().end()) fail(quotedValue(key), "unknown key");
      it->second(raw.cfg, value);
    } catch (const ConfigError& e) {
      throw ConfigError(origin.at(value.line) + e.what());
    }
  }
  return raw;
}

void resolvePorts(RawConfig& raw) {
  raw.cfg.ports.clear();
  for (const RawPort& p : raw.ports) {
    try {
      raw.cfg.ports.push_back(parsePortSpec(p.name, p.options, raw.cfg.socket_dir));
    } catch (const ConfigError& e) {
      throw ConfigError(p.origin + e.what());
    }
  }
}

Config finish(RawConfig raw, const Origin& origin) {
  resolvePorts(raw);
  applyRealtimeProfile(raw.cfg);
  try {
    validateConfig(raw.cfg);
  } catch (const ConfigError& e) {
    throw ConfigError(origin.at(0) + e.what());
  }
  return std::move(raw.cfg);
}

// toml++ 3.3 (Debian 12) reaches code it marks unreachable (undefined behaviour in every build)
// on some non-ASCII characters, in its horizontal-whitespace test; found by tests/fuzz. Every
// key and value of this file is ASCII and TOML forbids control characters other than tab, so
// such bytes are refused, with their line, before toml++ sees the text.
void checkTomlBytes(const std::string& text, const std::string& source) {
  uint32_t line = 1;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      ++line;
    } else if (c >= 0x7f || (c < 0x20 && c != '\t' && c != '\r')) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      throw ConfigError(Origin(source).at(line) + "byte 0x" + kHex[c >> 4] + kHex[c & 15] +
                        ": only printable ASCII, tabs and line ends are allowed");
    }
  }
}

Node parseTomlText(const std::string& text, const std::string& source) {
  checkTomlBytes(text, source);
  try {
    const toml::table table = toml::parse(text, source);
    return fromToml(table);
  } catch (const toml::parse_error& e) {
    throw ConfigError(Origin(source).at(e.source().begin.line) + std::string(e.description()));
  }
}

Node parseJsonText(const std::string& text, const std::string& source) {
  try {
    return fromJson(nlohmann::json::parse(text));
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(Origin(source).at(0) + "JSON parse error: " + e.what());
  }
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  return ss.str();
}

Node parseFile(const std::string& path) {
  const std::string text = readFile(path);
  const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  return json ? parseJsonText(text, path) : parseTomlText(text, path);
}

std::vector<std::string> splitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace

Config loadConfigToml(const std::string& text, const std::string& source) {
  const Origin origin(source);
  return finish(loadRaw(parseTomlText(text, source), origin), origin);
}

Config loadConfigJson(const nlohmann::json& j, const std::string& source) {
  const Origin origin(source);
  return finish(loadRaw(fromJson(j), origin), origin);
}

Config loadConfigFile(const std::string& path) {
  const Origin origin(path);
  return finish(loadRaw(parseFile(path), origin), origin);
}

void applyRealtimeProfile(Config& cfg) {
  if (cfg.realtime && cfg.pmd_priority == 0) cfg.pmd_priority = kRealtimePmdPriority;
}

void validateConfig(const Config& cfg) {
  if (cfg.pmd_cores.empty()) fail("pmd-cores", "must not be empty");
  checkCpus(cfg.pmd_cores, "pmd-cores");
  checkCpus(cfg.housekeeping_cores, "housekeeping-cores");
  for (unsigned c : cfg.housekeeping_cores) {
    if (std::find(cfg.pmd_cores.begin(), cfg.pmd_cores.end(), c) != cfg.pmd_cores.end()) {
      fail("housekeeping-cores", "cpu " + std::to_string(c) + " is also in pmd-cores");
    }
  }
  if (cfg.socket_dir.empty()) fail("socket-dir", "must not be empty");
  checkGroupName(cfg.socket_dir_group, "socket-dir-group");
  if (!cfg.socket_dir_mode.empty()) parseFileMode(cfg.socket_dir_mode, "socket-dir-mode");
  checkStateFile(cfg.state_file, "state-file");
  checkSocketFile(cfg.control_socket, "control-socket");
  checkRange("memory-mb", cfg.memory_mb, kMemoryMb);
  if (cfg.file_prefix.empty() || cfg.file_prefix.find('/') != std::string::npos) {
    fail("file-prefix",
         "must be non-empty and contain no '/', got " + quotedValue(cfg.file_prefix));
  }
  checkRange("mbufs", cfg.mbufs, kMbufs);
  checkRange("mac-aging-sec", cfg.mac_aging_s, kMacAgingSec);
  checkRange("mac-table-size", cfg.mac_table_size, kMacTableSize);
  if (!std::has_single_bit(cfg.mac_table_size)) {
    fail("mac-table-size", "must be a power of two, got " + std::to_string(cfg.mac_table_size));
  }
  checkRange("pmd-priority", cfg.pmd_priority, kPmdPriority);
  if (cfg.realtime && cfg.pmd_priority == 0) {
    fail("pmd-priority", "realtime = true needs SCHED_FIFO PMDs (1-99), got 0");
  }
  if (cfg.realtime && !cfg.mlockall) fail("mlockall", "realtime = true needs mlockall = true");
  checkMetricsListen(cfg.metrics_listen, "metrics-listen");
  checkGroupName(cfg.control_admin_group, "control-admin-group");
  checkGroupName(cfg.control_read_group, "control-read-group");
  for (const auto& d : cfg.allowed_socket_dirs) checkAllowedDir(d, "allowed-socket-dirs");
  parseDevargsRules(cfg.dpdk_allow);
  checkRange("control-mutation-rate", cfg.control_mutation_rate, kMutationRate);
  checkRange("control-mutation-burst", cfg.control_mutation_burst, kMutationBurst);
  std::map<std::string, std::string> names;  // name -> name, path -> port name
  std::map<std::string, std::string> paths;
  for (const PortSpec& p : cfg.ports) {
    // Re-check each port as parsePortSpec would: a Config may also be built in code.
    parsePortSpec(p.name, toOptions(p), cfg.socket_dir);
    if (!names.emplace(p.name, p.name).second) {
      throw ConfigError("port " + quotedValue(p.name) + ": name: duplicate port name");
    }
    if (p.type != PortType::kDpdk) {
      const auto [it, fresh] = paths.emplace(p.path, p.name);
      if (!fresh) {
        throw ConfigError("port " + quotedValue(p.name) + ": path: " + quotedValue(p.path) +
                          " is also used by port " + quotedValue(it->second));
      }
    }
  }
}

std::vector<unsigned> parseCpuList(const std::string& text, const std::string& key) {
  std::vector<unsigned> cpus;
  const auto parseCpu = [&](std::string_view s) -> unsigned {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    unsigned v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ptr != s.data() + s.size() || ec == std::errc::invalid_argument) {
      fail(key,
           "bad cpu list " + quotedValue(text) + ": " + quotedValue(s) + " is not a cpu number");
    }
    if (ec == std::errc::result_out_of_range || v >= kMaxCpus) {
      fail(key, "cpu " + std::string(s) + " out of range 0.." + std::to_string(kMaxCpus - 1));
    }
    return v;
  };
  std::string_view rest = text;
  if (rest.find_first_not_of(' ') == std::string_view::npos) return cpus;
  for (;;) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      cpus.push_back(parseCpu(item));
    } else {
      const unsigned first = parseCpu(item.substr(0, dash));
      const unsigned last = parseCpu(item.substr(dash + 1));
      if (first > last) {
        fail(key, "bad cpu list " + quotedValue(text) + ": range " + quotedValue(item) +
                      " runs backwards");
      }
      for (unsigned c = first; c <= last; ++c) cpus.push_back(c);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  checkCpus(cpus, key);
  return cpus;
}

std::string formatCpuList(const std::vector<unsigned>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

unsigned parseFileMode(const std::string& text, const std::string& key) {
  const bool ok =
      (text.size() == 3 || text.size() == 4) &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
  if (!ok) fail(key, "must be 3 or 4 octal digits such as \"2770\", got " + quotedValue(text));
  return static_cast<unsigned>(std::stoul(text, nullptr, 8));
}

LogLevel parseLogLevel(const std::string& text, const std::string& key) {
  for (const auto& [name, level] : kLogLevels) {
    if (text == name) return level;
  }
  fail(key,
       "must be one of trace, debug, info, warn, error, critical, off; got " + quotedValue(text));
}

const char* logLevelName(LogLevel level) noexcept {
  for (const auto& [name, l] : kLogLevels) {
    if (l == level) return name.data();
  }
  return "unknown";
}

DaemonArgs parseDaemonArgs(int argc, const char* const* argv) {
  CLI::App app{"rtvswitch: poll-mode DPDK vhost-user switch for real-time KVM guests", "rtvswitch"};
  app.set_version_flag("--version", std::string("rtvswitch ") + RTVS_VERSION);

  std::string config_file;
  app.add_option("--config", config_file, "TOML configuration file (JSON if it ends in .json)")
      ->type_name("FILE");

  // Values stay strings until after parsing so that errors read like the file's.
  struct Override {
    const char* flag;
    const char* type;
    const char* help;
    std::string value;
    CLI::Option* option = nullptr;
  };
  std::vector<Override> overrides = {
      {"--pmd-cores", "LIST", "cpus for PMD threads, e.g. 2,4-6", {}},
      {"--housekeeping-cores", "LIST", "cpus for the control and DPDK threads", {}},
      {"--socket-dir", "DIR", "directory of guest (vhost-user) sockets", {}},
      {"--socket-dir-group", "GROUP", "group of socket-dir, empty = unchanged", {}},
      {"--socket-dir-mode", "MODE", "octal mode of socket-dir (e.g. 2770), empty = unchanged", {}},
      {"--state-file", "PATH", "where run-time ports are saved", {}},
      {"--control-socket", "PATH", "JSON-RPC socket path", {}},
      {"--memory-mb", "MIB", "hugepage memory in MiB", {}},
      {"--file-prefix", "PREFIX", "EAL --file-prefix", {}},
      {"--mbufs", "N", "mbufs in the packet pool", {}},
      {"--mac-aging-sec", "SEC", "MAC aging time, 0 = off", {}},
      {"--mac-table-size", "N", "max learned MACs (power of two)", {}},
      {"--log-level", "LEVEL", "trace|debug|info|warn|error|critical|off", {}},
      {"--pmd-priority", "PRIO", "0 = normal scheduling, 1-99 = SCHED_FIFO", {}},
      {"--metrics-listen", "HOST:PORT", "Prometheus metrics address, empty = off", {}},
      {"--control-admin-group", "GROUP", "group whose members are control admins", {}},
      {"--control-read-group", "GROUP", "group whose members may read (default: the socket's)", {}},
      {"--control-mutation-rate", "N", "state-changing calls per second per uid, 0 = no limit", {}},
      {"--control-mutation-burst", "N", "state-changing calls a uid may make at once", {}},
  };
  for (Override& o : overrides) {
    o.option = app.add_option(o.flag, o.value, o.help)->type_name(o.type);
  }

  bool no_huge = false;
  bool mlockall = true;
  bool accounting = true;
  bool realtime = false;
  bool allow_degraded = false;
  bool check_host = false;
  bool no_state = false;
  std::vector<std::string> eal_args;
  std::vector<std::string> socket_dirs;
  std::vector<std::string> ports;
  CLI::Option* no_huge_opt = app.add_flag("--no-huge", no_huge, "run without hugepages (tests)");
  CLI::Option* mlock_opt =
      app.add_flag("--mlockall,!--no-mlockall", mlockall, "lock all memory (default on)");
  CLI::Option* accounting_opt =
      app.add_flag("--latency-accounting,!--no-latency-accounting", accounting,
                   "residence-time and poll-gap histograms (default on)");
  app.add_flag("--no-state", no_state, "keep no state file: run-time ports last until exit");
  CLI::Option* realtime_opt = app.add_flag(
      "--realtime", realtime,
      "real-time profile: SCHED_FIFO PMDs (pmd-priority 50 unless set), mlockall, host "
      "preconditions enforced");
  CLI::Option* degraded_opt = app.add_flag(
      "--allow-degraded", allow_degraded,
      "start even when real-time preconditions are not met (warnings; marked degraded)");
  app.add_flag("--check-host", check_host, "print the host real-time check and exit");
  app.add_option("--eal-arg", eal_args, "extra EAL argument (repeatable; use --eal-arg=-x)")
      ->type_name("ARG")
      ->allow_extra_args(false);
  app.add_option("--allowed-socket-dir", socket_dirs,
                 "another directory for vhost-user sockets (repeatable)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  app.add_option("--port", ports, "port \"NAME key=value ...\" (repeatable)")
      ->type_name("SPEC")
      ->allow_extra_args(false);

  DaemonArgs args;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    args.exit_now = true;
    args.exit_code = app.exit(e, std::cout, std::cerr);
    return args;
  } catch (const CLI::CallForVersion& e) {
    args.exit_now = true;
    args.exit_code = app.exit(e, std::cout, std::cerr);
    return args;
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }

  RawConfig raw;
  if (!config_file.empty()) raw = loadRaw(parseFile(config_file), Origin(config_file));
  Config& cfg = raw.cfg;
  for (const Override& o : overrides) {
    if (o.option->count() == 0) continue;
    const std::string flag = o.flag;
    const std::string& v = o.value;
    const auto number = [&](Range r) {
      return static_cast<int64_t>(
          parseUnsigned(v, static_cast<uint64_t>(r.lo), static_cast<uint64_t>(r.hi), flag));
    };
    if (flag == "--pmd-cores") {
      cfg.pmd_cores = parseCpuList(v, flag);
    } else if (flag == "--housekeeping-cores") {
      cfg.housekeeping_cores = parseCpuList(v, flag);
    } else if (flag == "--socket-dir") {
      cfg.socket_dir = v;
    } else if (flag == "--socket-dir-group") {
      checkGroupName(v, flag);
      cfg.socket_dir_group = v;
    } else if (flag == "--socket-dir-mode") {
      if (!v.empty()) parseFileMode(v, flag);
      cfg.socket_dir_mode = v;
    } else if (flag == "--state-file") {
      checkStateFile(v, flag);
      cfg.state_file = v;
    } else if (flag == "--control-socket") {
      cfg.control_socket = v;
    } else if (flag == "--memory-mb") {
      cfg.memory_mb = static_cast<unsigned>(number(kMemoryMb));
    } else if (flag == "--file-prefix") {
      cfg.file_prefix = v;
    } else if (flag == "--mbufs") {
      cfg.mbufs = static_cast<unsigned>(number(kMbufs));
    } else if (flag == "--mac-aging-sec") {
      cfg.mac_aging_s = static_cast<unsigned>(number(kMacAgingSec));
    } else if (flag == "--mac-table-size") {
      cfg.mac_table_size = static_cast<unsigned>(number(kMacTableSize));
    } else if (flag == "--log-level") {
      cfg.log_level = parseLogLevel(v, flag);
    } else if (flag == "--pmd-priority") {
      cfg.pmd_priority = static_cast<int>(number(kPmdPriority));
    } else if (flag == "--metrics-listen") {
      cfg.metrics_listen = v;
    } else if (flag == "--control-admin-group") {
      cfg.control_admin_group = v;
    } else if (flag == "--control-read-group") {
      cfg.control_read_group = v;
    } else if (flag == "--control-mutation-rate") {
      cfg.control_mutation_rate = static_cast<unsigned>(number(kMutationRate));
    } else if (flag == "--control-mutation-burst") {
      cfg.control_mutation_burst = static_cast<unsigned>(number(kMutationBurst));
    }
  }
  if (no_state) cfg.state_file.clear();
  if (no_huge_opt->count() > 0) cfg.no_huge = no_huge;
  if (mlock_opt->count() > 0) cfg.mlockall = mlockall;
  if (accounting_opt->count() > 0) cfg.latency_accounting = accounting;
  if (realtime_opt->count() > 0) cfg.realtime = realtime;
  if (degraded_opt->count() > 0) cfg.allow_degraded = allow_degraded;
  cfg.eal_args.insert(cfg.eal_args.end(), eal_args.begin(), eal_args.end());
  for (const std::string& d : socket_dirs) checkAllowedDir(d, "--allowed-socket-dir");
  cfg.allowed_socket_dirs.insert(cfg.allowed_socket_dirs.end(), socket_dirs.begin(),
                                 socket_dirs.end());
  for (const std::string& spec : ports) {
    std::vector<std::string> words = splitWords(spec);
    if (words.empty()) throw ConfigError("--port: missing port name");
    try {
      const std::string name = words.front();
      words.erase(words.begin());
      raw.ports.push_back({name, parseKeyValues(words), "--port: "});
    } catch (const ConfigError& e) {
      throw ConfigError(std::string("--port: ") + e.what());
    }
  }
  resolvePorts(raw);
  applyRealtimeProfile(cfg);
  validateConfig(cfg);
  args.config = std::move(cfg);
  args.check_host = check_host;
  return args;
}

}  // namespace rtvs
