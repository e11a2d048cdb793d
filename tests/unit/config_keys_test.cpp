#include "switch/core/config_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace rtvs {
namespace {

using ::testing::HasSubstr;

const std::string kRoot = std::string(RTVS_TEST_DATA) + "/../..";
constexpr std::string_view kTableBegin =
    "<!-- config-keys: generated from switch/core/config_keys.cpp -->\n";
constexpr std::string_view kTableEnd = "<!-- config-keys end -->\n";

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A file (or part of one) generated from the table: equal to `want`, or rewritten with it when
// RTVS_UPDATE_GOLDENS=1 (after a change to the table).
void expectGenerated(const std::string& path, size_t begin, size_t end, const std::string& want) {
  std::string text = readText(path);
  ASSERT_LE(begin, end);
  ASSERT_LE(end, text.size());
  if (std::getenv("RTVS_UPDATE_GOLDENS") != nullptr) {
    text.replace(begin, end - begin, want);
    std::ofstream(path) << text;
    return;
  }
  EXPECT_EQ(text.substr(begin, end - begin), want)
      << path << " differs from the config keys' table: RTVS_UPDATE_GOLDENS=1 rewrites it";
}

TEST(ConfigKeys, ExampleConfigIsGeneratedFromTheTable) {
  const std::string path = kRoot + "/configs/rtvswitch.toml";
  expectGenerated(path, 0, readText(path).size(), exampleConfigToml());
}

TEST(ConfigKeys, ReadmeTableIsGeneratedFromTheTable) {
  const std::string path = kRoot + "/README.md";
  const std::string text = readText(path);
  const size_t begin = text.find(kTableBegin);
  const size_t end = text.find(kTableEnd);
  ASSERT_NE(begin, std::string::npos) << path << " has no " << kTableBegin;
  ASSERT_NE(end, std::string::npos) << path << " has no " << kTableEnd;
  expectGenerated(path, begin + kTableBegin.size(), end, configKeysMarkdown());
}

TEST(ConfigKeys, EveryKeyIsDocumentedAndInTheFuzzDictionary) {
  const std::string readme = readText(kRoot + "/README.md");
  const std::string example = readText(kRoot + "/configs/rtvswitch.toml");
  const std::string dict = readText(kRoot + "/tests/fuzz/config.dict");
  for (const ConfigKey& key : configKeys()) {
    const std::string name(key.name);
    EXPECT_THAT(readme, HasSubstr("| `" + name + "` |")) << name;
    EXPECT_THAT(example, HasSubstr("\n" + name + " = ")) << name;
    EXPECT_THAT(dict, HasSubstr("=\"" + name + "\"\n")) << name;
    EXPECT_FALSE(key.help.empty()) << name;
  }
  // The first key of the file and the first of a group have a comment.
  EXPECT_FALSE(configKeys().front().doc.empty());
}

TEST(ConfigKeys, NamesAndFlagsAreUniqueAndDefaultsValid) {
  std::set<std::string_view> names;
  std::set<std::string_view> flags;
  const Config defaults;
  for (const ConfigKey& key : configKeys()) {
    EXPECT_TRUE(names.insert(key.name).second) << key.name;
    if (!key.flag.empty()) {
      EXPECT_TRUE(flags.insert(key.flag).second) << key.flag;
    }
    EXPECT_NO_THROW(checkKeyValue(defaults, key)) << key.name;
  }
}

TEST(ConfigKeys, ValuesAreWrittenAsToml) {
  Config c;
  c.pmd_cores = {2, 4, 5, 6};
  c.eal_args = {"--a", "say \"hi\""};
  const auto key = [](std::string_view name) {
    for (const ConfigKey& k : configKeys()) {
      if (k.name == name) return k;
    }
    ADD_FAILURE() << name;
    return configKeys().front();
  };
  EXPECT_EQ(keyValueToml(c, key("pmd-cores")), "\"2,4-6\"");
  EXPECT_EQ(keyValueToml(c, key("memory-mb")), "512");
  EXPECT_EQ(keyValueToml(c, key("mlockall")), "true");
  EXPECT_EQ(keyValueToml(c, key("log-level")), "\"info\"");
  EXPECT_EQ(keyValueToml(c, key("allowed-socket-dirs")), "[]");
  EXPECT_EQ(keyValueToml(c, key("eal-args")), "[\n  \"--a\",\n  \"say \\\"hi\\\"\",\n]");
}

TEST(ConfigKeys, ChecksNameTheKey) {
  Config c;
  const auto check = [&](std::string_view name) {
    for (const ConfigKey& k : configKeys()) {
      if (k.name == name) checkKeyValue(c, k);
    }
  };
  c.mac_table_size = 100;
  EXPECT_THROW(
      {
        try {
          check("mac-table-size");
        } catch (const ConfigError& e) {
          EXPECT_STREQ(e.what(), "mac-table-size: must be a power of two, got 100");
          throw;
        }
      },
      ConfigError);
  c.memory_mb = 1;
  EXPECT_THROW(check("memory-mb"), ConfigError);
  c.metrics_listen = "9477";
  EXPECT_THROW(check("metrics-listen"), ConfigError);
  c.allowed_socket_dirs = {"rel"};
  EXPECT_THROW(check("allowed-socket-dirs"), ConfigError);
  c.pmd_cores = {3, 3};
  EXPECT_THROW(check("pmd-cores"), ConfigError);
}

}  // namespace
}  // namespace rtvs
