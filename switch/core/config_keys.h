#pragma once
// The daemon's config keys, defined once: each key's name, field of Config (its type and
// default), range or check, command-line flag and help, and its comment in the example config.
// TOML/JSON parsing, validateConfig, the command-line overrides and --help (config.cpp), the
// example config (configs/rtvswitch.toml) and the README's key table all come from this table.
// Adding a key: a field in Config and one row in config_keys.cpp.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "switch/core/config.h"

namespace rtvs {

inline constexpr unsigned kMaxCpus = 1024;

struct KeyRange {
  int64_t lo = 0;
  int64_t hi = 0;
};
std::string rangeText(KeyRange r);  // "64..65536"

// Each cpu below kMaxCpus, none twice. Throws ConfigError naming `key`.
void checkCpus(const std::vector<unsigned>& cpus, std::string_view key);

// Value checks that a key's type alone does not imply. They throw ConfigError naming `key`.
using StringCheck = void (*)(const std::string& value, std::string_view key);
using ListCheck = void (*)(const std::vector<std::string>& value, std::string_view key);

// The field a key sets; its type is the key's type.
using ConfigField =
    std::variant<std::vector<unsigned> Config::*,      // cpu list: "2,4-6" or [2, 4, 5, 6]
                 std::string Config::*,                // string
                 unsigned Config::*, int Config::*,    // integer in `range`
                 bool Config::*,                       // true / false
                 LogLevel Config::*,                   // a log level's name
                 std::vector<std::string> Config::*>;  // array of strings

struct ConfigKey {
  std::string_view name;  // "memory-mb": the TOML/JSON key
  ConfigField field;
  KeyRange range{};                // integers
  bool power_of_two = false;       // integers
  StringCheck check = nullptr;     // strings
  ListCheck check_list = nullptr;  // arrays of strings
  // The command line: a CLI11 name ("--memory-mb"; "--mlockall,!--no-mlockall" for a boolean).
  // A flag of an array of strings is repeatable and appends to the file's entries. "" = none.
  std::string_view flag;
  std::string_view metavar;  // "MIB"
  std::string_view help;     // --help and the README's table: one line
  // The comment above the key in the example config, lines without "# "; "" = the key follows
  // the previous one directly (a group under one comment).
  std::string_view doc;
  std::string_view example;  // its value there as TOML, when not the default
};

std::span<const ConfigKey> configKeys();

// The key's value in `cfg` as TOML ("\"1\"", "512", "true", "[]").
std::string keyValueToml(const Config& cfg, const ConfigKey& key);

// Checks `cfg`'s value of `key` (range, cpus, the key's check), naming `key` in errors.
void checkKeyValue(const Config& cfg, const ConfigKey& key);

// configs/rtvswitch.toml: every key with its comment at its default (or example) value, then
// the [[port]] tables' options.
std::string exampleConfigToml();

// The README's table of keys (markdown): key, command line, default, meaning.
std::string configKeysMarkdown();

}  // namespace rtvs
