#include <gtest/gtest.h>

#include <string>

#include "hostcheck/config_input.h"
#include "switch/core/config.h"

namespace rtvs {
namespace {

const std::string kData = std::string(RTVS_TEST_DATA) + "/config";

// The daemon and `vswitchctl host check --config` build their input here, from either format.
TEST(HostCheckConfig, TomlAndJsonGiveTheSameInput) {
  const HostCheckInput toml = hostCheckInputFromFile(kData + "/hostcheck.toml");
  const HostCheckInput json = hostCheckInputFromFile(kData + "/hostcheck.json");
  EXPECT_EQ(toml, json);
  EXPECT_EQ(toml.pmd_cores, (std::vector<unsigned>{2, 3}));
  EXPECT_EQ(toml.housekeeping_cores, (std::vector<unsigned>{0, 1}));
  EXPECT_EQ(toml.pmd_priority, kRealtimePmdPriority);  // realtime = true, the daemon's profile
  EXPECT_EQ(toml.hugepages_mb, 1024u);
  EXPECT_EQ(toml.root, "/");
  EXPECT_TRUE(toml.nic_pci.empty());
}

TEST(HostCheckConfig, FromConfigModel) {
  Config cfg;
  cfg.pmd_cores = {4};
  cfg.housekeeping_cores = {0};
  cfg.pmd_priority = 10;
  cfg.memory_mb = 2048;
  HostCheckInput in = hostCheckInput(cfg);
  EXPECT_EQ(in.pmd_cores, std::vector<unsigned>{4});
  EXPECT_EQ(in.pmd_priority, 10);
  EXPECT_EQ(in.hugepages_mb, 2048u);
  cfg.no_huge = true;  // no hugepages wanted at all
  EXPECT_EQ(hostCheckInput(cfg).hugepages_mb, 0u);
  const HostCheckInput defaults = hostCheckInput(Config{});  // what the daemon runs without a file
  EXPECT_EQ(defaults.pmd_cores, std::vector<unsigned>{1});
  EXPECT_EQ(defaults.housekeeping_cores, std::vector<unsigned>{0});
  EXPECT_EQ(defaults.pmd_priority, 0);
  EXPECT_EQ(defaults.hugepages_mb, Config{}.memory_mb);
}

TEST(HostCheckConfig, UnreadableOrBadFileThrows) {
  EXPECT_THROW(hostCheckInputFromFile(kData + "/no-such-file.toml"), ConfigError);
  EXPECT_THROW(hostCheckInputFromFile(kData + "/no-such-file.json"), ConfigError);
  EXPECT_THROW(hostCheckInputFromFile(std::string(RTVS_TEST_DATA) + "/hostcheck/generate.py"),
               ConfigError);  // not TOML
}

}  // namespace
}  // namespace rtvs
