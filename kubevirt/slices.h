#pragma once
// The node's devices as the scheduler sees them: one ResourceSlice (resource.k8s.io/v1) per
// node and driver, pool = the node's name, devices port-0 .. port-(n-1), owned by the Node so
// it goes when the node goes.

#include <nlohmann/json.hpp>
#include <string>

#include "driver.h"
#include "kube_api.h"

namespace rtvs::dra {

// The slice's desired content (without resourceVersion, pool generation).
nlohmann::json resourceSlice(const DriverConfig& cfg, const std::string& node_uid);

// The slice's name: "<node>-<driver>" with the dots of the driver as dashes.
std::string sliceName(const DriverConfig& cfg);

// Creates or updates this node's slice and deletes other slices of this node and driver
// (left by an older version). Returns "created", "updated" or "unchanged". Throws
// KubeApiError.
std::string publishSlices(KubeApi& api, const DriverConfig& cfg);

// The watch of this node's and driver's slices (no resourceVersion: it starts with a synthetic
// ADDED per existing slice; the server ends it after `timeout_s`).
std::string sliceWatchPath(const DriverConfig& cfg, int timeout_s);

// Whether a watch event means the published slice is no longer what it should be: ours
// deleted or changed (devices, driver, node, pool), another slice of this node and driver
// (publishSlices deletes it), or an ERROR event (the watch expired: check from a list).
bool sliceEventNeedsPublish(const nlohmann::json& event, const DriverConfig& cfg);

}  // namespace rtvs::dra
