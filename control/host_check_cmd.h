#pragma once
// `vswitchctl host check`: the host real-time readiness report (hostcheck/host_check.h). It
// reads /proc and /sys directly and needs no running daemon.

#include <CLI/CLI.hpp>

namespace rtvs {

// Adds `host check [--config FILE] [--pmd-cores LIST] [--housekeeping-cores LIST]
// [--pmd-priority N] [--hugepages-mb N] [--nic PCI]... [--root DIR] [--json]`. Its callback prints
// the report and ends parsing with CLI::RuntimeError carrying the exit code: 0 when no item FAILs,
// 1 when one does, 2 for bad arguments (so `return app.exit(e)` in main returns it).
void addHostCheckCommand(CLI::App& app);

}  // namespace rtvs
