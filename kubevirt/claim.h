#pragma once
// What the driver needs of a ResourceClaim (resource.k8s.io/v1), read from the API server's
// JSON: the devices allocated to this driver, the pod it is reserved for, the claim's options.
// Pure: no I/O.

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rtvs::dra {

// A claim this driver cannot prepare; the message goes into the claim's error in the reply.
class ClaimError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AllocatedDevice {
  std::string request;  // "vhost" or "vhost/sub" (prioritized list)
  std::string pool;
  std::string device;
};

// The opaque per-device configuration a DeviceClass or the claim gives this driver:
// `parameters: {"mtu": 9000, "vlan": 10, "queues": 2, "allowed-macs": "52:54:00:00:00:01"}`
// (apiVersion/kind keys are allowed and ignored). Besides mtu and vlan, the rtvswitch port
// options of kClaimPortKeys, with the values `vswitchctl port add` takes (strings or integers),
// checked by rtvswitch's own option checks.
struct PortOptions {
  std::optional<int> mtu;   // 68-9702 (the binding plugin's range)
  std::optional<int> vlan;  // 1-4094: an access port on that VLAN (rtvswitch `tag`)
  std::vector<std::pair<std::string, std::string>> port;  // kClaimPortKeys; a later key wins
};

// The rtvswitch port options a claim may give as they are: queues, latency-budget-us,
// tx-retry-us, trunks, vlan-mode, allowed-macs, mac-limit, storm-*-pps. (type, path, mtu and
// tag are the driver's; rxq-affinity names a node's CPUs, which a claim cannot know.)
bool isClaimPortKey(std::string_view key) noexcept;

struct ClaimInfo {
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string pod_claim_name;                    // from the pod's template (annotation), else empty
  std::string pod_namespace, pod_name, pod_uid;  // the pod it is reserved for, if any
  std::vector<AllocatedDevice> devices;          // this driver's devices only
  PortOptions options;
};

// Reads `claim` for `driver`; `uid` is the UID the kubelet asked for (a claim recreated under
// the same name has another). Throws ClaimError with a one-line reason.
ClaimInfo parseClaim(const nlohmann::json& claim, const std::string& driver,
                     const std::string& uid);

// Validates and reads one opaque `parameters` object into `opts` (later ones override).
void applyParameters(const nlohmann::json& params, PortOptions& opts);

// "vhost/sub" -> "vhost": the request's directory name in the metadata path (KEP-5304).
std::string topLevelRequest(const std::string& request);

}  // namespace rtvs::dra
