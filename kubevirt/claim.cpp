#include "claim.h"

#include <algorithm>
#include <array>

#include "switch/core/port_spec.h"

namespace rtvs::dra {

namespace {

using nlohmann::json;

const json* field(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string str(const json& j, const char* key) {
  const json* f = field(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : std::string();
}

int intParam(const json& v, const char* key, int lo, int hi) {
  if (!v.is_number_integer()) {
    throw ClaimError(std::string("config parameter ") + key + ": must be an integer, got " +
                     v.dump());
  }
  const auto n = v.get<long long>();
  if (n < lo || n > hi) {
    throw ClaimError(std::string("config parameter ") + key + ": must be " + std::to_string(lo) +
                     "-" + std::to_string(hi) + ", got " + std::to_string(n));
  }
  return static_cast<int>(n);
}

// Does a config entry apply to the devices of `requests` (empty list: to all)?
bool appliesTo(const json& entry, const std::vector<AllocatedDevice>& devices) {
  const json* reqs = field(entry, "requests");
  if (reqs == nullptr || !reqs->is_array() || reqs->empty()) return true;
  return std::any_of(reqs->begin(), reqs->end(), [&](const json& r) {
    return std::any_of(devices.begin(), devices.end(), [&](const AllocatedDevice& d) {
      return r.is_string() && (r == d.request || r == topLevelRequest(d.request));
    });
  });
}

constexpr std::array<std::string_view, 10> kClaimPortKeys = {"queues",
                                                             "latency-budget-us",
                                                             "tx-retry-us",
                                                             "trunks",
                                                             "vlan-mode",
                                                             "allowed-macs",
                                                             "mac-limit",
                                                             "storm-broadcast-pps",
                                                             "storm-multicast-pps",
                                                             "storm-unknown-unicast-pps"};

// A claim's value for an rtvswitch option: a string, or an integer written in decimal (as
// vswitchctl and port.add take them), checked by rtvswitch's own option check.
std::string portValue(const std::string& key, const json& v) {
  std::string text;
  if (v.is_string()) {
    text = v.get<std::string>();
  } else if (v.is_number_unsigned() || v.is_number_integer()) {
    text = v.dump();
  } else {
    throw ClaimError("config parameter " + key + ": must be a string or an integer, got " +
                     v.dump());
  }
  try {
    checkPortOption(key, text);
  } catch (const ConfigError& e) {
    throw ClaimError(std::string("config parameter ") + e.what());
  }
  return text;
}

}  // namespace

bool isClaimPortKey(std::string_view key) noexcept {
  return std::find(kClaimPortKeys.begin(), kClaimPortKeys.end(), key) != kClaimPortKeys.end();
}

std::string topLevelRequest(const std::string& request) {
  return request.substr(0, request.find('/'));
}

void applyParameters(const json& params, PortOptions& opts) {
  if (!params.is_object()) throw ClaimError("config parameters: must be an object");
  for (const auto& [key, value] : params.items()) {
    if (key == "apiVersion" || key == "kind") continue;
    if (key == "mtu") {
      opts.mtu = intParam(value, "mtu", 68, 9702);
    } else if (key == "vlan") {
      opts.vlan = intParam(value, "vlan", 1, 4094);
    } else if (isClaimPortKey(key)) {
      std::string text = portValue(key, value);
      const std::string& name = key;  // clang 14 cannot capture a structured binding
      auto same = [&name](const auto& kv) { return kv.first == name; };
      opts.port.erase(std::remove_if(opts.port.begin(), opts.port.end(), same), opts.port.end());
      opts.port.emplace_back(key, std::move(text));
    } else {
      std::string known = "mtu, vlan";
      for (std::string_view k : kClaimPortKeys) known += ", " + std::string(k);
      throw ClaimError("config parameter " + key + ": unknown (known: " + known + ")");
    }
  }
}

ClaimInfo parseClaim(const json& claim, const std::string& driver, const std::string& uid) {
  const json* meta = field(claim, "metadata");
  if (meta == nullptr) throw ClaimError("the ResourceClaim has no metadata");
  ClaimInfo c;
  c.namespace_ = str(*meta, "namespace");
  c.name = str(*meta, "name");
  c.uid = str(*meta, "uid");
  if (c.uid != uid) {
    throw ClaimError("ResourceClaim " + c.namespace_ + "/" + c.name + " has UID " + c.uid +
                     ", the kubelet asked for " + uid + " (deleted and created again?)");
  }
  if (const json* ann = field(*meta, "annotations")) {
    c.pod_claim_name = str(*ann, "resource.kubernetes.io/pod-claim-name");
  }
  const json* status = field(claim, "status");
  const json* alloc = status != nullptr ? field(*status, "allocation") : nullptr;
  const json* devs = alloc != nullptr ? field(*alloc, "devices") : nullptr;
  if (devs == nullptr) throw ClaimError("ResourceClaim " + c.name + " is not allocated");
  if (const json* results = field(*devs, "results"); results != nullptr && results->is_array()) {
    for (const json& r : *results) {
      if (str(r, "driver") != driver) continue;
      c.devices.push_back({str(r, "request"), str(r, "pool"), str(r, "device")});
      if (c.devices.back().request.empty() || c.devices.back().device.empty()) {
        throw ClaimError("ResourceClaim " + c.name +
                         ": an allocation result without request "
                         "or device");
      }
    }
  }
  if (c.devices.empty()) {
    throw ClaimError("ResourceClaim " + c.name + " has no device of driver " + driver);
  }
  // Class configuration first, then the claim's own: the later wins (as the kubelet plugin
  // library orders them).
  if (const json* cfg = field(*devs, "config"); cfg != nullptr && cfg->is_array()) {
    for (const char* source : {"FromClass", "FromClaim"}) {
      for (const json& e : *cfg) {
        const json* opaque = field(e, "opaque");
        if (str(e, "source") != source || opaque == nullptr) continue;
        if (str(*opaque, "driver") != driver || !appliesTo(e, c.devices)) continue;
        if (const json* p = field(*opaque, "parameters")) applyParameters(*p, c.options);
      }
    }
  }
  if (const json* reserved = field(*status, "reservedFor");
      reserved != nullptr && reserved->is_array()) {
    for (const json& r : *reserved) {
      if (str(r, "resource") != "pods" || !str(r, "apiGroup").empty()) continue;
      c.pod_namespace = c.namespace_;
      c.pod_name = str(r, "name");
      c.pod_uid = str(r, "uid");
      break;
    }
  }
  return c;
}

}  // namespace rtvs::dra
