#include "switch/protocol/port_params.h"

#include "switch/protocol/jsonrpc.h"

namespace rtvs {

PortOptions portOptionsFromParams(const nlohmann::json& params) {
  PortOptions opts;
  if (!params.is_object() || !params.contains("options")) return opts;
  const nlohmann::json& o = params.at("options");
  if (!o.is_object()) throw RpcError(rpc_code::kInvalidParams, "options: must be an object");
  for (const auto& [k, v] : o.items()) {
    if (v.is_string()) {
      opts.emplace_back(k, v.get<std::string>());
    } else if (v.is_number_integer() || v.is_number_unsigned()) {
      opts.emplace_back(k, v.dump());
    } else {
      throw RpcError(rpc_code::kInvalidParams, "option " + k + ": must be a string or an integer");
    }
  }
  return opts;
}

}  // namespace rtvs
