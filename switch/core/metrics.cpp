#include "switch/core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

namespace rtvs {

namespace {

const char* typeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

[[noreturn]] void fail(const std::string& family, const std::string& why) {
  throw std::invalid_argument("metric " + family + ": " + why);
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Go's strconv.ParseFloat reads every form std::to_chars writes; Prometheus spells the
// non-finite values its own way.
void appendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

void appendEscaped(std::string& out, const std::string& s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

bool validLabelName(const std::string& n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9') || n.starts_with("__")) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void validateLabels(const MetricFamily& f, const MetricLabels& labels, bool histogram) {
  std::set<std::string> seen;
  for (const auto& [name, value] : labels) {
    if (!validLabelName(name)) fail(f.name, "invalid label name '" + name + "'");
    if (histogram && name == "le") fail(f.name, "label name 'le' is reserved for histograms");
    if (!seen.insert(name).second) fail(f.name, "duplicate label name '" + name + "'");
  }
}

void checkUniqueLabelSet(const MetricFamily& f, std::set<MetricLabels>& seen, MetricLabels l) {
  std::sort(l.begin(), l.end());
  if (!seen.insert(std::move(l)).second) fail(f.name, "duplicate label set");
}

// `extra` is appended last (the `le` of a histogram bucket).
void appendSeries(std::string& out, const std::string& name, const MetricLabels& labels,
                  const char* extra_name, const std::string& extra_value, double value) {
  out += name;
  if (!labels.empty() || extra_name != nullptr) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out += ',';
      first = false;
      out += k;
      out += "=\"";
      appendEscaped(out, v, true);
      out += '"';
    }
    if (extra_name != nullptr) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  appendValue(out, value);
  out += '\n';
}

// The value a bucket stands for: the same one HistogramSnapshot::percentile reports.
uint64_t representative(const HistogramSnapshot& s, unsigned b) {
  const uint64_t low = Histogram::bucketLow(b);
  const uint64_t mid = low + (Histogram::bucketHigh(b) - low) / 2;
  if (b == Histogram::kBuckets - 1) return std::max(mid, s.max());  // clamped values
  return std::min(mid, s.max());
}

void appendHistogram(std::string& out, const MetricFamily& f, const MetricHistogram& h) {
  std::array<uint64_t, kLatencyBoundsNs.size()> cumulative{};
  std::array<uint64_t, kLatencyBoundsNs.size()> limit{};  // largest tick value <= the bound
  for (size_t i = 0; i < kLatencyBoundsNs.size(); ++i) {
    const unsigned __int128 t =
        static_cast<unsigned __int128>(kLatencyBoundsNs[i]) * h.ticks_per_sec;
    limit[i] = static_cast<uint64_t>(t / 1'000'000'000u);
  }
  uint64_t total = 0;
  const auto& counts = h.snapshot.buckets();
  for (unsigned b = 0; b < Histogram::kBuckets; ++b) {
    if (counts[b] == 0) continue;
    total += counts[b];
    const uint64_t v = representative(h.snapshot, b);
    for (size_t i = 0; i < limit.size(); ++i) {
      if (v <= limit[i]) cumulative[i] += counts[b];
    }
  }
  const std::string bucket = f.name + "_bucket";
  for (size_t i = 0; i < limit.size(); ++i) {
    std::string le;
    appendValue(le, static_cast<double>(kLatencyBoundsNs[i]) / 1e9);
    appendSeries(out, bucket, h.labels, "le", le, static_cast<double>(cumulative[i]));
  }
  appendSeries(out, bucket, h.labels, "le", "+Inf", static_cast<double>(total));
  appendSeries(out, f.name + "_sum", h.labels, nullptr, "",
               static_cast<double>(h.snapshot.sum()) / static_cast<double>(h.ticks_per_sec));
  appendSeries(out, f.name + "_count", h.labels, nullptr, "", static_cast<double>(total));
}

}  // namespace

void validateMetricName(const std::string& name, MetricType type) {
  static const std::string kPrefix = "rtvswitch_";
  if (!name.starts_with(kPrefix)) fail(name, "name must start with '" + kPrefix + "'");
  std::string rest = name.substr(kPrefix.size());
  if (type == MetricType::kCounter) {
    if (!endsWith(rest, "_total")) fail(name, "a counter name must end in '_total'");
    rest.resize(rest.size() - 6);
  } else if (endsWith(rest, "_total")) {
    fail(name, "only counter names end in '_total'");
  }
  if (type == MetricType::kHistogram && !endsWith(rest, "_seconds")) {
    fail(name, "a histogram name must end in '_seconds' (it is rendered in seconds)");
  }
  for (const char* reserved : {"_bucket", "_sum", "_count"}) {
    if (endsWith(rest, reserved)) fail(name, std::string("suffix '") + reserved + "' is reserved");
  }
  size_t words = 0;
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t end = std::min(rest.find('_', start), rest.size());
    if (end == start) fail(name, "empty word between underscores");
    for (size_t i = start; i < end; ++i) {
      const char c = rest[i];
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
        fail(name, "names use lowercase letters, digits and '_' only");
      }
    }
    ++words;
    start = end + 1;
  }
  // Info metrics (value 1, facts in labels) are rtvswitch_<subsystem>_info, as build_info.
  const bool info = endsWith(rest, "_info");
  if (info && type != MetricType::kGauge) fail(name, "an _info metric is a gauge");
  if (words < (info ? 2u : 3u)) fail(name, "name must be rtvswitch_<subsystem>_<name>_<unit>");
}

std::string renderPrometheus(const std::vector<MetricFamily>& families) {
  std::set<std::string> names;
  for (const auto& f : families) {
    validateMetricName(f.name, f.type);
    if (!names.insert(f.name).second) fail(f.name, "duplicate family");
    if (f.help.empty()) fail(f.name, "help text is empty");
    const bool histogram = f.type == MetricType::kHistogram;
    if (histogram && !f.samples.empty()) fail(f.name, "a histogram has no plain samples");
    if (!histogram && !f.histograms.empty()) fail(f.name, "only a histogram has histograms");
    std::set<MetricLabels> label_sets;
    for (const auto& s : f.samples) {
      validateLabels(f, s.labels, false);
      checkUniqueLabelSet(f, label_sets, s.labels);
      if (f.type == MetricType::kCounter && !(s.value >= 0)) {
        fail(f.name, "a counter value must be >= 0");
      }
    }
    for (const auto& h : f.histograms) {
      validateLabels(f, h.labels, true);
      checkUniqueLabelSet(f, label_sets, h.labels);
      if (h.ticks_per_sec == 0) fail(f.name, "ticks_per_sec must be > 0");
    }
  }

  std::string out;
  for (const auto& f : families) {
    out += "# HELP " + f.name + ' ';
    appendEscaped(out, f.help, false);
    out += "\n# TYPE " + f.name + ' ' + typeName(f.type) + '\n';
    for (const auto& s : f.samples) appendSeries(out, f.name, s.labels, nullptr, "", s.value);
    for (const auto& h : f.histograms) appendHistogram(out, f, h);
  }
  return out;
}

}  // namespace rtvs
