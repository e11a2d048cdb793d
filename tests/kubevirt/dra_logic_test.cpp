// rtvswitch-dra's pure logic: reading a ResourceClaim, the device metadata and CDI spec it
// writes, the node's ResourceSlice (no gRPC, no daemon, no API server).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kubevirt/claim.h"
#include "kubevirt/driver.h"
#include "kubevirt/slices.h"

namespace rtvs::dra {
namespace {

using nlohmann::json;

constexpr const char* kDriver = "vhostuser.rtvswitch.io";

json claimJson() {
  return json::parse(R"({
    "metadata": {"name": "vm1-net1-abcde", "namespace": "vms", "uid": "u-1",
                 "annotations": {"resource.kubernetes.io/pod-claim-name": "net1"}},
    "status": {
      "allocation": {"devices": {
        "results": [
          {"request": "vhost", "driver": "vhostuser.rtvswitch.io", "pool": "n1", "device": "port-3"},
          {"request": "gpu", "driver": "gpu.example.com", "pool": "n1", "device": "gpu-0"}],
        "config": [
          {"source": "FromClaim", "requests": ["vhost"],
           "opaque": {"driver": "vhostuser.rtvswitch.io", "parameters": {"mtu": 9000}}},
          {"source": "FromClass", "requests": [],
           "opaque": {"driver": "vhostuser.rtvswitch.io", "parameters": {"mtu": 1500, "vlan": 7}}},
          {"source": "FromClaim", "requests": ["gpu"],
           "opaque": {"driver": "vhostuser.rtvswitch.io", "parameters": {"vlan": 99}}},
          {"source": "FromClaim",
           "opaque": {"driver": "gpu.example.com", "parameters": {"bogus": 1}}}]}},
      "reservedFor": [{"resource": "pods", "name": "virt-launcher-vm1", "uid": "p-1"}]}})");
}

TEST(DraClaim, ReadsThisDriversDevicesPodAndConfigClaimOverClass) {
  const ClaimInfo c = parseClaim(claimJson(), kDriver, "u-1");
  ASSERT_EQ(c.devices.size(), 1u);
  EXPECT_EQ(c.devices[0].device, "port-3");
  EXPECT_EQ(c.devices[0].pool, "n1");
  EXPECT_EQ(c.pod_claim_name, "net1");
  EXPECT_EQ(c.pod_name, "virt-launcher-vm1");
  EXPECT_EQ(c.pod_uid, "p-1");
  EXPECT_EQ(c.pod_namespace, "vms");
  EXPECT_EQ(c.options.mtu, 9000);  // the claim's config wins over the class's
  EXPECT_EQ(c.options.vlan, 7);    // the class's, not the one for another request
}

TEST(DraClaim, RefusesWithOneLineReasons) {
  EXPECT_THROW(parseClaim(claimJson(), kDriver, "u-2"), ClaimError);  // recreated claim
  EXPECT_THROW(parseClaim(claimJson(), "other.example.com", "u-1"), ClaimError);
  json pending = claimJson();
  pending["status"].erase("allocation");
  try {
    parseClaim(pending, kDriver, "u-1");
    FAIL() << "an unallocated claim was accepted";
  } catch (const ClaimError& e) {
    EXPECT_STREQ(e.what(), "ResourceClaim vm1-net1-abcde is not allocated");
  }
}

TEST(DraClaim, ParametersAreCheckedByNameTypeAndRange) {
  PortOptions o;
  applyParameters(json{{"apiVersion", "v1"}, {"mtu", 68}, {"vlan", 4094}}, o);
  EXPECT_EQ(o.mtu, 68);
  EXPECT_EQ(o.vlan, 4094);
  EXPECT_THROW(applyParameters(json{{"mtu", 9703}}, o), ClaimError);
  EXPECT_THROW(applyParameters(json{{"mtu", "1500"}}, o), ClaimError);
  EXPECT_THROW(applyParameters(json{{"vlan", 0}}, o), ClaimError);
  EXPECT_THROW(applyParameters(json{{"rxq-affinity", "0:2"}}, o), ClaimError);
  EXPECT_THROW(applyParameters(json{{"path", "/tmp/x.sock"}}, o), ClaimError);
  EXPECT_THROW(applyParameters(json::array(), o), ClaimError);
}

TEST(DraClaim, RtvswitchPortOptionsAreCheckedByRtvswitch) {
  PortOptions o;
  applyParameters(json{{"queues", 2},
                       {"trunks", "10,20-30"},
                       {"vlan-mode", "native-untagged"},
                       {"allowed-macs", "52:54:00:00:00:01"},
                       {"storm-broadcast-pps", 1000}},
                  o);
  using KV = std::pair<std::string, std::string>;
  EXPECT_EQ(o.port, (std::vector<KV>{{"allowed-macs", "52:54:00:00:00:01"},
                                     {"queues", "2"},
                                     {"storm-broadcast-pps", "1000"},
                                     {"trunks", "10,20-30"},
                                     {"vlan-mode", "native-untagged"}}));
  applyParameters(json{{"queues", 1}}, o);  // a later config (the claim's) wins
  EXPECT_EQ(o.port.back(), KV("queues", "1"));
  EXPECT_EQ(o.port.size(), 5U);
  try {
    applyParameters(json{{"queues", 99}}, o);
    FAIL() << "queues 99 was accepted";
  } catch (const ClaimError& e) {
    EXPECT_STREQ(e.what(), "config parameter queues: must be 1..16, got 99");
  }
  EXPECT_THROW(applyParameters(json{{"allowed-macs", "52:54:00:00:00"}}, o), ClaimError);
  EXPECT_THROW(applyParameters(json{{"vlan-mode", "sideways"}}, o), ClaimError);
  EXPECT_THROW(applyParameters(json{{"mac-limit", true}}, o), ClaimError);
  EXPECT_THROW(applyParameters(json{{"trunks", json::array({10})}}, o), ClaimError);
  EXPECT_EQ(o.port.size(), 5U);  // refused values changed nothing
}

TEST(DraMetadata, Kep5304PathsAndBindingPluginAttributes) {
  ClaimInfo c = parseClaim(claimJson(), kDriver, "u-1");
  EXPECT_EQ(metadataContainerDir(c, "vhost/fast"),
            "/var/run/kubernetes.io/dra-device-attributes/resourceclaimtemplates/net1/vhost");
  ClaimInfo named = c;
  named.pod_claim_name.clear();
  EXPECT_EQ(metadataContainerDir(named, "vhost"),
            "/var/run/kubernetes.io/dra-device-attributes/resourceclaims/vm1-net1-abcde/vhost");
  const std::vector<PreparedDevice> devs = {
      {"vhost/fast", "n1", "port-3", "dra-u-1-port-3", "/h/u-1/port-3.sock", "x"},
      {"other", "n1", "port-4", "dra-u-1-port-4", "/h/u-1/port-4.sock", "y"}};
  const json m = deviceMetadata(c, kDriver, "vhost", devs, "/c", 9000);
  EXPECT_EQ(m["apiVersion"], "metadata.resource.k8s.io/v1alpha1");
  EXPECT_EQ(m["kind"], "DeviceMetadata");
  EXPECT_EQ(m["podClaimName"], "net1");
  ASSERT_EQ(m["requests"].size(), 1u);  // only this top-level request, full name inside
  EXPECT_EQ(m["requests"][0]["name"], "vhost/fast");
  const json& a = m["requests"][0]["devices"][0]["attributes"];
  EXPECT_EQ(a["vhost-user-path"]["string"], "/c/u-1/port-3.sock");
  EXPECT_EQ(a["mtu"]["int"], 9000);
}

TEST(DraSlice, OneSliceOfTheNodesPortsOwnedByTheNode) {
  DriverConfig cfg;
  cfg.node_name = "n1";
  cfg.devices = 3;
  EXPECT_EQ(sliceName(cfg), "n1-vhostuser-rtvswitch-io");
  const json s = resourceSlice(cfg, "node-uid");
  EXPECT_EQ(s["apiVersion"], "resource.k8s.io/v1");
  EXPECT_EQ(s["spec"]["nodeName"], "n1");
  EXPECT_EQ(s["spec"]["pool"]["name"], "n1");
  ASSERT_EQ(s["spec"]["devices"].size(), 3u);
  EXPECT_EQ(s["spec"]["devices"][2]["name"], "port-2");
  EXPECT_EQ(s["metadata"]["ownerReferences"][0]["uid"], "node-uid");
  EXPECT_EQ(urlEncode("spec.nodeName=n1,x/y"), "spec.nodeName%3Dn1%2Cx%2Fy");
}

TEST(DraSlices, WatchEventsThatNeedAPublication) {
  DriverConfig cfg;
  cfg.node_name = "node-a";
  cfg.devices = 2;
  json ours = resourceSlice(cfg, "node-uid");
  auto event = [](const char* type, const json& obj) {
    return json{{"type", type}, {"object", obj}};
  };
  // Ours as published (also with another pool generation, the server's resourceVersion):
  // nothing to do, so the watch of the plugin's own writes does not loop.
  EXPECT_FALSE(sliceEventNeedsPublish(event("ADDED", ours), cfg));
  ours["spec"]["pool"]["generation"] = 7;
  ours["metadata"]["resourceVersion"] = "123";
  EXPECT_FALSE(sliceEventNeedsPublish(event("MODIFIED", ours), cfg));
  EXPECT_TRUE(sliceEventNeedsPublish(event("DELETED", ours), cfg));
  json changed = ours;
  changed["spec"]["devices"].erase(1);
  EXPECT_TRUE(sliceEventNeedsPublish(event("MODIFIED", changed), cfg));
  changed = ours;
  changed["spec"]["pool"]["name"] = "node-b";
  EXPECT_TRUE(sliceEventNeedsPublish(event("MODIFIED", changed), cfg));
  json other = ours;
  other["metadata"]["name"] = "node-a-old";
  EXPECT_TRUE(sliceEventNeedsPublish(event("ADDED", other), cfg));  // publish deletes it
  EXPECT_TRUE(sliceEventNeedsPublish(json{{"type", "ERROR"}, {"object", {{"code", 410}}}}, cfg));
  EXPECT_TRUE(sliceEventNeedsPublish(json::object(), cfg));
  EXPECT_EQ(sliceWatchPath(cfg, 300),
            "/apis/resource.k8s.io/v1/resourceslices?watch=true&fieldSelector=spec.nodeName%3D"
            "node-a%2Cspec.driver%3D" +
                cfg.driver_name + "&timeoutSeconds=300");
}

}  // namespace
}  // namespace rtvs::dra
