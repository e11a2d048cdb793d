// vswitchctl: the command-line client of rtvswitch's control socket (see docs/api.md).

#include <iostream>

#include "control/host_check_cmd.h"
#include "control/ctl_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"vswitchctl: control a running rtvswitch", "vswitchctl"};
  app.set_version_flag("--version", std::string("vswitchctl ") + RTVS_VERSION);
  rtvs::CtlCli ctl(app);
  // Local commands (no daemon needed) register on `app` here.
  rtvs::addHostCheckCommand(app);
  return ctl.run(argc, argv, std::cout, std::cerr);
}
