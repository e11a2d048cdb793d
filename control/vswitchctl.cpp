// vswitchctl: the command-line client of rtvswitch's control socket (see docs/api.md).

#include <iostream>

#include "control/ctl_commands.h"
#include "control/host_check_cmd.h"

int main(int argc, char** argv) {
  try {
    CLI::App app{"vswitchctl: control a running rtvswitch", "vswitchctl"};
    app.set_version_flag("--version", std::string("vswitchctl ") + RTVS_VERSION);
    rtvs::CtlCli ctl(app);
    // Local commands (no daemon needed) register on `app` here.
    rtvs::addHostCheckCommand(app);
    return ctl.run(argc, argv, std::cout, std::cerr);
  } catch (const std::exception& e) {  // run() reports its own errors: this is out of memory
    std::cerr << "vswitchctl: " << e.what() << "\n";
    return 1;
  }
}
