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
#include <variant>

#include "switch/core/config_keys.h"

namespace rtvs {

namespace {

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

int64_t asInteger(const Node& n, std::string_view key, KeyRange r) {
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

// A key of the file: converted by its type, then checked as validateConfig checks it.
void setKey(Config& cfg, const ConfigKey& key, const Node& n) {
  struct Visitor {
    Config& cfg;
    std::string_view name;
    const Node& n;
    KeyRange range;
    void operator()(std::vector<unsigned> Config::*f) const { cfg.*f = asCpuList(n, name); }
    void operator()(std::string Config::*f) const { cfg.*f = asString(n, name); }
    void operator()(unsigned Config::*f) const {
      cfg.*f = static_cast<unsigned>(asInteger(n, name, range));
    }
    void operator()(int Config::*f) const { cfg.*f = static_cast<int>(asInteger(n, name, range)); }
    void operator()(bool Config::*f) const { cfg.*f = asBool(n, name); }
    void operator()(LogLevel Config::*f) const {
      cfg.*f = parseLogLevel(asString(n, name), std::string(name));
    }
    void operator()(std::vector<std::string> Config::*f) const { cfg.*f = asStrings(n, name); }
  };
  std::visit(Visitor{cfg, key.name, n, key.range}, key.field);
  checkKeyValue(cfg, key);
}

const ConfigKey* findKey(std::string_view name) {
  for (const ConfigKey& key : configKeys()) {
    if (key.name == name) return &key;
  }
  return nullptr;
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
    try {
      const ConfigKey* k = findKey(key);
      if (k == nullptr) fail(quotedValue(key), "unknown key");
      setKey(raw.cfg, *k, value);
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

// A key's command-line flag and what it was given. The values stay strings until after parsing
// so that errors read like the file's (the value checks run in validateConfig, naming the key).
struct KeyFlag {
  const ConfigKey* key = nullptr;
  CLI::Option* option = nullptr;
  std::string value;
  std::vector<std::string> values;  // arrays: appended to the file's
  bool on = false;                  // booleans
};

std::vector<KeyFlag> addKeyFlags(CLI::App& app) {
  std::vector<KeyFlag> flags;
  for (const ConfigKey& key : configKeys()) {
    if (!key.flag.empty()) flags.emplace_back().key = &key;
  }
  // CLI11 keeps pointers to the values: the vector does not grow after this.
  for (KeyFlag& f : flags) {
    const std::string name(f.key->flag);
    const std::string help(f.key->help);
    if (std::holds_alternative<bool Config::*>(f.key->field)) {
      f.option = app.add_flag(name, f.on, help);
    } else if (std::holds_alternative<std::vector<std::string> Config::*>(f.key->field)) {
      f.option = app.add_option(name, f.values, help)->allow_extra_args(false);
    } else {
      f.option = app.add_option(name, f.value, help);
    }
    if (!f.key->metavar.empty()) f.option->type_name(std::string(f.key->metavar));
  }
  return flags;
}

void applyKeyFlag(Config& cfg, const KeyFlag& f) {
  if (f.option->count() == 0) return;
  struct Visitor {
    Config& cfg;
    const KeyFlag& f;
    std::string flag;
    int64_t number() const {
      const KeyRange r = f.key->range;
      return static_cast<int64_t>(
          parseUnsigned(f.value, static_cast<uint64_t>(r.lo), static_cast<uint64_t>(r.hi), flag));
    }
    void operator()(std::vector<unsigned> Config::*m) const {
      cfg.*m = parseCpuList(f.value, flag);
    }
    void operator()(std::string Config::*m) const { cfg.*m = f.value; }
    void operator()(unsigned Config::*m) const { cfg.*m = static_cast<unsigned>(number()); }
    void operator()(int Config::*m) const { cfg.*m = static_cast<int>(number()); }
    void operator()(bool Config::*m) const { cfg.*m = f.on; }
    void operator()(LogLevel Config::*m) const { cfg.*m = parseLogLevel(f.value, flag); }
    void operator()(std::vector<std::string> Config::*m) const {
      (cfg.*m).insert((cfg.*m).end(), f.values.begin(), f.values.end());
    }
  };
  std::visit(Visitor{cfg, f, std::string(f.key->flag)}, f.key->field);
}

void addCommandLinePorts(RawConfig& raw, const std::vector<std::string>& specs) {
  for (const std::string& spec : specs) {
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
  for (const ConfigKey& key : configKeys()) checkKeyValue(cfg, key);
  for (unsigned c : cfg.housekeeping_cores) {
    if (std::find(cfg.pmd_cores.begin(), cfg.pmd_cores.end(), c) != cfg.pmd_cores.end()) {
      fail("housekeeping-cores", "cpu " + std::to_string(c) + " is also in pmd-cores");
    }
  }
  if (cfg.realtime && cfg.pmd_priority == 0) {
    fail("pmd-priority", "realtime = true needs SCHED_FIFO PMDs (1-99), got 0");
  }
  if (cfg.realtime && !cfg.mlockall) fail("mlockall", "realtime = true needs mlockall = true");
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
  std::vector<KeyFlag> flags = addKeyFlags(app);
  bool no_state = false;
  bool check_host = false;
  std::vector<std::string> ports;
  app.add_flag("--no-state", no_state, "keep no state file: run-time ports last until exit");
  app.add_flag("--check-host", check_host, "print the host real-time check and exit");
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
  for (const KeyFlag& f : flags) applyKeyFlag(raw.cfg, f);
  if (no_state) raw.cfg.state_file.clear();
  addCommandLinePorts(raw, ports);
  resolvePorts(raw);
  applyRealtimeProfile(raw.cfg);
  validateConfig(raw.cfg);
  args.config = std::move(raw.cfg);
  args.check_host = check_host;
  return args;
}

}  // namespace rtvs
