#include "switch/protocol/counters_json.h"

namespace rtvs {

void countersJson(std::span<const CounterInfo> info, const uint64_t* values, nlohmann::json& o) {
  for (size_t i = 0; i < info.size(); ++i) {
    if (*info[i].key != '\0') o[info[i].key] = values[i];
  }
}

}  // namespace rtvs
