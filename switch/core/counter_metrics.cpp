#include "switch/core/counter_metrics.h"

#include <string_view>

namespace rtvs {

std::vector<MetricFamily> counterFamilies(std::span<const CounterInfo> info) {
  std::vector<MetricFamily> families(info.size());
  for (size_t i = 0; i < info.size(); ++i) {
    const std::string_view name = info[i].metric;
    if (name.empty()) continue;
    families[i].name = name;
    families[i].help = info[i].help;
    families[i].type = name.ends_with("_total") ? MetricType::kCounter : MetricType::kGauge;
  }
  return families;
}

void addCounterSamples(std::vector<MetricFamily>& families, const MetricLabels& labels,
                       const uint64_t* values, double divisor) {
  for (size_t i = 0; i < families.size(); ++i) {
    if (families[i].name.empty()) continue;
    families[i].samples.push_back({labels, static_cast<double>(values[i]) / divisor});
  }
}

void appendFamilies(std::vector<MetricFamily>& out, std::vector<MetricFamily>& families,
                    unsigned first, unsigned last) {
  for (unsigned i = first; i < last && i < families.size(); ++i) {
    if (!families[i].name.empty()) out.push_back(std::move(families[i]));
  }
}

}  // namespace rtvs
