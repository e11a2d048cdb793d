#pragma once
// The node side of the rtvswitch DRA driver: prepares a claim's devices (a socket directory
// per claim, an rtvswitch vhostuserclient port per device, the CDI spec that mounts both the
// directory and the KEP-5304 device metadata file into virt-launcher) and unprepares them.
// Both are idempotent; what was prepared is kept in a checkpoint file so a restarted plugin
// unprepares what its predecessor prepared and puts back ports rtvswitch lost.

#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "claim.h"

namespace rtvs::dra {

struct DriverConfig {
  std::string driver_name = "vhostuser.rtvswitch.io";
  std::string node_name;
  std::string control_socket = "/run/rtvswitch/rtvswitch.ctl";
  std::string socket_root = "/run/rtvswitch/dra";  // per-claim directories (host)
  // Where a claim's directory appears in virt-launcher: <container_socket_root>/<claim uid>.
  std::string container_socket_root = "/var/run/rtvswitch/vhost";
  std::string metadata_root;  // host directory of the metadata files (under the plugin's dir)
  std::string cdi_dir = "/var/run/cdi";
  std::string checkpoint_file;
  gid_t socket_gid = 107;        // QEMU's group in virt-launcher (user qemu, 107)
  unsigned socket_mode = 02770;  // setgid: sockets QEMU creates keep the group
  int default_mtu = 1500;
  int devices = 16;  // port-0 .. port-(devices-1) in the node's ResourceSlice
};

struct PreparedDevice {
  std::string request, pool, device, port, socket_path, cdi_id;
};

// One prepared claim, as the checkpoint keeps it.
struct PreparedClaim {
  std::string uid, namespace_, name;
  std::vector<PreparedDevice> devices;
  std::vector<std::string> files;  // CDI spec and metadata files written
  std::string socket_dir;
  std::vector<std::string> port_adds;  // port.add params (JSON text), replayed after a restart
};

using ClaimFetcher = std::function<nlohmann::json(const std::string& ns, const std::string& name)>;

class Driver {
 public:
  // Loads the checkpoint (a missing file is an empty one; an unreadable one throws).
  Driver(DriverConfig cfg, ClaimFetcher fetch);

  // Throws (ClaimError, rtvswitch's RpcError, std::runtime_error) with a one-line reason; a
  // failure leaves nothing of this claim behind that a retry or unprepare would not handle.
  std::vector<PreparedDevice> prepare(const std::string& ns, const std::string& name,
                                      const std::string& uid);
  void unprepare(const std::string& uid);

  // Adds again the ports of checkpointed claims that rtvswitch lacks (restarted without its
  // state); returns how many claims failed (logged).
  int resync();

  const DriverConfig& config() const { return cfg_; }

 private:
  PreparedClaim build(const ClaimInfo& c) const;
  void writeFiles(const ClaimInfo& c, const PreparedClaim& p) const;
  void saveCheckpoint() const;
  nlohmann::json rpc(const std::string& method, const nlohmann::json& params) const;

  DriverConfig cfg_;
  ClaimFetcher fetch_;
  std::mutex mu_;                                // the kubelet may call concurrently
  std::map<std::string, PreparedClaim> claims_;  // by claim uid
};

// The metadata file's JSON (metadata.resource.k8s.io/v1alpha1 DeviceMetadata) for `request`.
nlohmann::json deviceMetadata(const ClaimInfo& c, const std::string& driver,
                              const std::string& request,
                              const std::vector<PreparedDevice>& devices,
                              const std::string& container_socket_root, int mtu);

// The CDI spec of a prepared claim (one CDI device per allocated device).
nlohmann::json cdiSpec(const std::string& kind, const ClaimInfo& c, const PreparedClaim& p,
                       const std::string& container_socket_root,
                       const std::vector<std::pair<std::string, std::string>>& metadata_mounts);

// KEP-5304 container path of a request's metadata directory.
std::string metadataContainerDir(const ClaimInfo& c, const std::string& request);

}  // namespace rtvs::dra
