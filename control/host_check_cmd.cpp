#include "control/host_check_cmd.h"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "hostcheck/config_input.h"
#include "hostcheck/host_check.h"
#include "switch/core/config.h"

namespace rtvs {
namespace {

struct HostCheckArgs {
  std::string config;
  std::string pmd_cores;
  std::string housekeeping_cores;
  int pmd_priority = -1;  // -1: from the config file (or its default)
  int hugepages_mb = -1;
  std::vector<std::string> nics;
  std::string root = "/";
  bool json = false;
};

// Settings come from the config file (if any), then the options override them.
HostCheckInput makeInput(const HostCheckArgs& a) {
  HostCheckInput input =
      a.config.empty() ? hostCheckInput(Config{}) : hostCheckInputFromFile(a.config);
  input.root = a.root;
  if (!a.pmd_cores.empty()) input.pmd_cores = parseCpuList(a.pmd_cores, "--pmd-cores");
  if (!a.housekeeping_cores.empty()) {
    input.housekeeping_cores = parseCpuList(a.housekeeping_cores, "--housekeeping-cores");
  }
  if (a.pmd_priority >= 0) input.pmd_priority = a.pmd_priority;
  if (a.hugepages_mb >= 0) input.hugepages_mb = static_cast<unsigned>(a.hugepages_mb);
  input.nic_pci = a.nics;
  return input;
}

}  // namespace

void addHostCheckCommand(CLI::App& app) {
  CLI::App* host = app.add_subcommand("host", "Host checks (no daemon needed)");
  host->require_subcommand(1);
  CLI::App* check = host->add_subcommand(
      "check", "Check the host's real-time readiness for the PMD cores (exit 1 on any FAIL)");
  auto args = std::make_shared<HostCheckArgs>();
  check->add_option("--config", args->config,
                    "Take the settings below from this config file, as rtvswitch reads it (TOML, "
                    "or JSON if it ends in .json)");
  check->add_option("--pmd-cores", args->pmd_cores, "PMD cores, e.g. 2,4-5 (default: config, 1)");
  check->add_option("--housekeeping-cores", args->housekeeping_cores,
                    "Housekeeping cores (default: config, 0)");
  check
      ->add_option("--pmd-priority", args->pmd_priority,
                   "0 for SCHED_OTHER PMDs, 1-99 for SCHED_FIFO (default: config, 0)")
      ->check(CLI::Range(0, 99));
  check
      ->add_option("--hugepages-mb", args->hugepages_mb,
                   "Hugepage memory needed on the PMD node (default: config memory-mb)")
      ->check(CLI::Range(0, 1 << 24));
  check->add_option("--nic", args->nics, "PCI address of a physical NIC (repeatable)");
  check->add_option("--root", args->root, "Read proc/ and sys/ under this directory")
      ->check(CLI::ExistingDirectory);
  check->add_flag("--json", args->json, "Print JSON instead of a table");
  check->callback([args] {
    HostCheckReport report;
    try {
      report = runHostCheck(makeInput(*args));
    } catch (const ConfigError& e) {
      std::cerr << "vswitchctl host check: " << e.what() << "\n";
      throw CLI::RuntimeError(2);
    }
    if (args->json) {
      std::cout << toJson(report).dump(2) << "\n";
    } else {
      std::cout << formatHostCheckTable(report);
    }
    std::cout.flush();
    throw CLI::RuntimeError(report.anyFail() ? 1 : 0);
  });
}

}  // namespace rtvs
