// Inputs the config fuzzer (tests/fuzz) found, replayed against the library the daemon links:
// each must end in a ConfigError naming the file and line, never in an abort or UB.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "switch/core/config.h"

namespace rtvs {
namespace {

std::string configErrorOf(const std::string& toml) {
  try {
    loadConfigToml(toml, "fuzz.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Control characters are not TOML (toml++ 3.3 with assertions aborts on "[[\x02]]"): refused
// before toml++ parses, with the line.
TEST(ConfigFuzzRegression, ControlCharacterWhereAKeyStarts) {
  EXPECT_EQ(configErrorOf("[[\x02]]\n").rfind("fuzz.toml:1: byte 0x02", 0), 0u);
  EXPECT_EQ(configErrorOf("[\x01]\n").rfind("fuzz.toml:1: byte 0x01", 0), 0u);
  EXPECT_EQ(configErrorOf("pmd-cores = \"1\"\n[[\x7f]]\n").rfind("fuzz.toml:2: byte 0x7F", 0), 0u);
}

// toml++ 3.3 reaches code it marks unreachable (undefined behaviour) in its whitespace test for
// some non-ASCII characters, e.g. U+015F after a key.
TEST(ConfigFuzzRegression, NonAsciiCharacterIsRefused) {
  EXPECT_EQ(configErrorOf("pmd-cores = \"1\"\nmlockall\xc5\x9f = true\n")
                .rfind("fuzz.toml:2: byte 0xC5", 0),
            0u);
  EXPECT_EQ(configErrorOf("# caf\xc3\xa9\n").rfind("fuzz.toml:1: byte 0xC3", 0), 0u);
}

// Tabs, CR LF line ends and comments stay valid.
TEST(ConfigFuzzRegression, TabsAndCrLfStillParse) {
  const Config c = loadConfigToml("# comment\r\npmd-cores\t= \"2\"\r\n", "fuzz.toml");
  EXPECT_EQ(c.pmd_cores, std::vector<unsigned>{2});
  const Config p = loadConfigToml(
      "pmd-cores = \"2\"\n [[ port ]]\nname = \"vm1\"\npath = \"/tmp/vm1.sock\"\n", "fuzz.toml");
  ASSERT_EQ(p.ports.size(), 1u);
  EXPECT_EQ(p.ports[0].name, "vm1");
}

}  // namespace
}  // namespace rtvs
