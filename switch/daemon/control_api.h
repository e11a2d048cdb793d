#pragma once
// control.show: the caller's identity and role, the control socket's limits and counters, and
// the device and directory policies in force (issue 15). Read-only.

#include "switch/core/config.h"
#include "switch/protocol/jsonrpc.h"

namespace rtvs {

void registerControlMethods(RpcDispatcher& d, const Config& cfg);

}  // namespace rtvs
