#include "control/host_check_cmd.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "switch/core/config.h"
#include "switch/core/host_check.h"
#include "switch/core/port_spec.h"

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
  Config cfg;
  if (!a.config.empty()) {
    std::ifstream in(a.config);
    if (!in) throw ConfigError("--config: cannot read " + a.config);
    std::stringstream text;
    text << in.rdbuf();
    cfg = loadConfigToml(text.str(), a.config);
  }
  HostCheckInput input;
  input.root = a.root;
  input.pmd_cores = a.pmd_cores.empty() ? cfg.pmd_cores : parseCpuList(a.pmd_cores, "--pmd-cores");
  input.housekeeping_cores = a.housekeeping_cores.empty()
                                 ? cfg.housekeeping_cores
                                 : parseCpuList(a.housekeeping_cores, "--housekeeping-cores");
  input.pmd_priority = a.pmd_priority >= 0 ? a.pmd_priority : cfg.pmd_priority;
  input.hugepages_mb = a.hugepages_mb >= 0 ? static_cast<unsigned>(a.hugepages_mb)
                       : cfg.no_huge       ? 0
                                           : cfg.memory_mb;
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
  check->add_option("--config", args->config, "Take the settings below from this rtvswitch.toml");
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
