#pragma once
// The options of a port.add request (JSON-RPC) as PortOptions: one conversion for the daemon and
// the RPC fuzzer, so both accept and refuse exactly the same requests.

#include <nlohmann/json.hpp>

#include "switch/core/port_spec.h"

namespace rtvs {

// params["options"] (absent: none) → key/value strings. Values may be strings or integers
// (written in decimal); anything else, or options that are not an object, throws RpcError
// kInvalidParams naming the option.
PortOptions portOptionsFromParams(const nlohmann::json& params);

}  // namespace rtvs
