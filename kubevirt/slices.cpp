#include "slices.h"

#include <algorithm>

namespace rtvs::dra {

using nlohmann::json;

namespace {
constexpr const char* kSlices = "/apis/resource.k8s.io/v1/resourceslices";
}

std::string sliceName(const DriverConfig& cfg) {
  std::string d = cfg.driver_name;
  std::replace(d.begin(), d.end(), '.', '-');
  return cfg.node_name + "-" + d;
}

json resourceSlice(const DriverConfig& cfg, const std::string& node_uid) {
  json devices = json::array();
  for (int i = 0; i < cfg.devices; ++i) {
    devices.push_back({{"name", "port-" + std::to_string(i)},
                       {"attributes",
                        {{"type", {{"string", "vhostuserclient"}}},
                         {"index", {{"int", i}}},
                         {"maxMtu", {{"int", 9702}}}}}});
  }
  return {{"apiVersion", "resource.k8s.io/v1"},
          {"kind", "ResourceSlice"},
          {"metadata",
           {{"name", sliceName(cfg)},
            {"ownerReferences",
             {{{"apiVersion", "v1"},
               {"kind", "Node"},
               {"name", cfg.node_name},
               {"uid", node_uid},
               {"controller", true}}}}}},
          {"spec",
           {{"driver", cfg.driver_name},
            {"nodeName", cfg.node_name},
            {"pool", {{"name", cfg.node_name}, {"generation", 1}, {"resourceSliceCount", 1}}},
            {"devices", devices}}}};
}

namespace {
std::string nodeAndDriver(const DriverConfig& cfg) {
  return urlEncode("spec.nodeName=" + cfg.node_name + ",spec.driver=" + cfg.driver_name);
}
}  // namespace

std::string sliceWatchPath(const DriverConfig& cfg, int timeout_s) {
  return std::string(kSlices) + "?watch=true&fieldSelector=" + nodeAndDriver(cfg) +
         "&timeoutSeconds=" + std::to_string(timeout_s);
}

bool sliceEventNeedsPublish(const json& event, const DriverConfig& cfg) {
  const std::string type = event.value("type", "");
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") return true;  // ERROR, ...
  const json& obj = event.value("object", json::object());
  const json name = obj.value("metadata", json::object()).value("name", json());
  if (name != sliceName(cfg) || type == "DELETED") return true;
  const json spec = obj.value("spec", json::object());
  const json want = resourceSlice(cfg, "")["spec"];
  return spec.value("driver", json()) != want["driver"] ||
         spec.value("nodeName", json()) != want["nodeName"] ||
         spec.value("pool", json::object()).value("name", json()) != want["pool"]["name"] ||
         spec.value("devices", json::array()) != want["devices"];
}

std::string publishSlices(KubeApi& api, const DriverConfig& cfg) {
  const json node = api.get("/api/v1/nodes/" + urlEncode(cfg.node_name));
  json want = resourceSlice(cfg, node.at("metadata").at("uid").get<std::string>());
  const std::string name = sliceName(cfg);
  const json list = api.get(std::string(kSlices) + "?fieldSelector=" + nodeAndDriver(cfg));
  const json* have = nullptr;
  for (const auto& s : list.at("items")) {
    const std::string n = s.at("metadata").at("name").get<std::string>();
    if (n == name) {
      have = &s;
    } else {
      api.del(std::string(kSlices) + "/" + urlEncode(n));
    }
  }
  if (have == nullptr) {
    api.post(kSlices, want);
    return "created";
  }
  if (have->at("spec").value("devices", json::array()) == want["spec"]["devices"]) {
    return "unchanged";
  }
  // A new pool generation tells the scheduler the old devices are gone.
  const int64_t gen = have->at("spec").at("pool").value("generation", int64_t{0});
  want["spec"]["pool"]["generation"] = gen + 1;
  want["metadata"]["resourceVersion"] = have->at("metadata").at("resourceVersion");
  api.put(std::string(kSlices) + "/" + urlEncode(name), want);
  return "updated";
}

}  // namespace rtvs::dra
