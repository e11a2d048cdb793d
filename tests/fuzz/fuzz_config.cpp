// libFuzzer target: the boot configuration parsers. The first byte picks TOML or JSON; the rest
// is the document. Bad input must end in ConfigError with a message, nothing else: any other
// exception, a crash or a sanitizer report is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "switch/core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool toml = (data[0] & 1) == 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (toml) {
      rtvs::loadConfigToml(text, "fuzz.toml");
    } else {
      const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) return 0;
      rtvs::loadConfigJson(j, "fuzz.json");
    }
  } catch (const rtvs::ConfigError& e) {
    if (std::string(e.what()).empty()) std::abort();
  }
  return 0;
}
