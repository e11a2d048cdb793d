#include "driver.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "switch/protocol/jsonrpc.h"
#include "switch/protocol/rpc_client.h"

namespace rtvs::dra {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kMetadataContainerRoot = "/var/run/kubernetes.io/dra-device-attributes";
constexpr size_t kMaxPortName = 64;  // rtvswitch's limit

// Names that become path components or port names: a UID, a DNS label (device, request).
void checkName(const std::string& what, const std::string& s) {
  const bool ok = !s.empty() && s.size() <= 253 && s[0] != '.' && s[0] != '-' &&
                  std::all_of(s.begin(), s.end(),
                              [](char ch) {
                                return std::isalnum(static_cast<unsigned char>(ch)) != 0 ||
                                       ch == '-' || ch == '.' || ch == '_';
                              }) &&
                  s.find("..") == std::string::npos;
  if (!ok) throw ClaimError(what + " " + json(s).dump() + " is not a valid name");
}

void writeFileAtomic(const std::string& path, const std::string& text, mode_t mode) {
  fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), mode);
  fs::rename(tmp, path);
}

// The per-claim socket directory: QEMU (group socket_gid) creates its sockets there, rtvswitch
// (root) connects to them.
void makeSocketDir(const std::string& dir, gid_t gid, unsigned mode) {
  fs::create_directories(fs::path(dir).parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error("mkdir " + dir + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error(dir + " exists and is not a directory");
  }
  if (::chown(dir.c_str(), 0, gid) != 0 && ::geteuid() == 0) {
    throw std::runtime_error("chown " + dir + ": " + std::strerror(errno));
  }
  if (::chmod(dir.c_str(), mode) != 0) {
    throw std::runtime_error("chmod " + dir + ": " + std::strerror(errno));
  }
}

std::string envName(const std::string& device) {
  std::string s = "RTVSWITCH_VHOST_USER_PATH_";
  for (const char ch : device) {
    s += std::isalnum(static_cast<unsigned char>(ch)) != 0
             ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch)))
             : '_';
  }
  return s;
}

json toJson(const PreparedClaim& p) {
  json adds = json::array();
  for (const auto& a : p.port_adds) adds.push_back(json::parse(a));
  json devs = json::array();
  for (const auto& d : p.devices) {
    devs.push_back({{"request", d.request},
                    {"pool", d.pool},
                    {"device", d.device},
                    {"port", d.port},
                    {"socket_path", d.socket_path},
                    {"cdi_id", d.cdi_id}});
  }
  return {{"uid", p.uid},     {"namespace", p.namespace_},  {"name", p.name},   {"devices", devs},
          {"files", p.files}, {"socket_dir", p.socket_dir}, {"port_adds", adds}};
}

PreparedClaim fromJson(const json& j) {
  PreparedClaim p;
  p.uid = j.at("uid").get<std::string>();
  p.namespace_ = j.at("namespace").get<std::string>();
  p.name = j.at("name").get<std::string>();
  for (const auto& d : j.at("devices")) {
    p.devices.push_back({d.at("request"), d.at("pool"), d.at("device"), d.at("port"),
                         d.at("socket_path"), d.at("cdi_id")});
  }
  p.files = j.at("files").get<std::vector<std::string>>();
  p.socket_dir = j.at("socket_dir").get<std::string>();
  for (const auto& a : j.at("port_adds")) p.port_adds.push_back(a.dump());
  return p;
}

}  // namespace

std::string metadataContainerDir(const ClaimInfo& c, const std::string& request) {
  const std::string base = c.pod_claim_name.empty()
                               ? std::string("/resourceclaims/") + c.name
                               : std::string("/resourceclaimtemplates/") + c.pod_claim_name;
  return kMetadataContainerRoot + base + "/" + topLevelRequest(request);
}

json deviceMetadata(const ClaimInfo& c, const std::string& driver, const std::string& request,
                    const std::vector<PreparedDevice>& devices,
                    const std::string& container_socket_root, int mtu) {
  json reqs = json::array();
  // Every full request name ("vhost" or "vhost/sub") under this top-level request.
  std::vector<std::string> names;
  for (const auto& d : devices) {
    if (topLevelRequest(d.request) == request &&
        std::find(names.begin(), names.end(), d.request) == names.end()) {
      names.push_back(d.request);
    }
  }
  for (const auto& n : names) {
    json devs = json::array();
    for (const auto& d : devices) {
      if (d.request != n) continue;
      const std::string path = container_socket_root + "/" + c.uid + "/" + d.device + ".sock";
      devs.push_back(
          {{"driver", driver},
           {"pool", d.pool},
           {"name", d.device},
           {"attributes", {{"vhost-user-path", {{"string", path}}}, {"mtu", {{"int", mtu}}}}}});
    }
    reqs.push_back({{"name", n}, {"devices", devs}});
  }
  json m = {{"kind", "DeviceMetadata"},
            {"apiVersion", "metadata.resource.k8s.io/v1alpha1"},
            {"metadata",
             {{"name", c.name}, {"namespace", c.namespace_}, {"uid", c.uid}, {"generation", 1}}},
            {"requests", reqs}};
  if (!c.pod_claim_name.empty()) m["podClaimName"] = c.pod_claim_name;
  return m;
}

json cdiSpec(const std::string& kind, const ClaimInfo& c, const PreparedClaim& p,
             const std::string& container_socket_root,
             const std::vector<std::pair<std::string, std::string>>& metadata_mounts) {
  // The claim's directory and metadata files are mounted once per container whatever device
  // of the claim it asks for (spec-level edits); each device names its own socket.
  json mounts = json::array();
  mounts.push_back({{"hostPath", p.socket_dir},
                    {"containerPath", container_socket_root + "/" + c.uid},
                    {"options", {"rbind", "rw"}}});
  for (const auto& [host, container] : metadata_mounts) {
    mounts.push_back(
        {{"hostPath", host}, {"containerPath", container}, {"options", {"bind", "ro"}}});
  }
  json devs = json::array();
  for (const auto& d : p.devices) {
    const std::string path = container_socket_root + "/" + c.uid + "/" + d.device + ".sock";
    devs.push_back({{"name", c.uid + "-" + d.device},
                    {"containerEdits", {{"env", {envName(d.device) + "=" + path}}}}});
  }
  return {{"cdiVersion", "0.6.0"},
          {"kind", kind},
          {"containerEdits", {{"mounts", mounts}}},
          {"devices", devs}};
}

Driver::Driver(DriverConfig cfg, ClaimFetcher fetch)
    : cfg_(std::move(cfg)), fetch_(std::move(fetch)) {
  std::ifstream in(cfg_.checkpoint_file);
  if (!in) return;
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("claims")) {
    throw std::runtime_error("checkpoint " + cfg_.checkpoint_file + " is not valid JSON");
  }
  for (const auto& c : j.at("claims")) {
    PreparedClaim p = fromJson(c);
    claims_[p.uid] = std::move(p);
  }
  spdlog::info("checkpoint {}: {} prepared claims", cfg_.checkpoint_file, claims_.size());
}

void Driver::saveCheckpoint() const {
  json cl = json::array();
  for (const auto& [uid, p] : claims_) cl.push_back(toJson(p));
  writeFileAtomic(cfg_.checkpoint_file, json{{"version", 1}, {"claims", cl}}.dump(1) + "\n", 0600);
}

json Driver::rpc(const std::string& method, const json& params) const {
  RpcClient client(cfg_.control_socket, std::chrono::seconds(10));
  return client.call(method, params);
}

PreparedClaim Driver::build(const ClaimInfo& c) const {
  checkName("claim uid", c.uid);
  PreparedClaim p;
  p.uid = c.uid;
  p.namespace_ = c.namespace_;
  p.name = c.name;
  p.socket_dir = cfg_.socket_root + "/" + c.uid;
  const int mtu = c.options.mtu.value_or(cfg_.default_mtu);
  for (const auto& a : c.devices) {
    checkName("device", a.device);
    checkName("request", topLevelRequest(a.request));
    PreparedDevice d{a.request,
                     a.pool,
                     a.device,
                     "dra-" + c.uid + "-" + a.device,
                     p.socket_dir + "/" + a.device + ".sock",
                     cfg_.driver_name + "/port=" + c.uid + "-" + a.device};
    if (d.port.size() > kMaxPortName) {
      throw ClaimError("device name " + a.device + " is too long for a port name (" + d.port + ")");
    }
    json options = {{"type", "vhostuserclient"}, {"path", d.socket_path}, {"mtu", mtu}};
    if (c.options.vlan) options["tag"] = *c.options.vlan;
    for (const auto& [key, value] : c.options.port) options[key] = value;
    json ids = {{"dra-driver", cfg_.driver_name},
                {"dra-device", a.device},
                {"k8s-claim-namespace", c.namespace_},
                {"k8s-claim-name", c.name},
                {"k8s-claim-uid", c.uid}};
    if (!c.pod_name.empty()) {
      ids["k8s-pod-namespace"] = c.pod_namespace;
      ids["k8s-pod-name"] = c.pod_name;
      ids["k8s-pod-uid"] = c.pod_uid;
    }
    const json add = {
        {"name", d.port}, {"options", options}, {"external_ids", ids}, {"may_exist", true}};
    p.port_adds.push_back(add.dump());
    p.devices.push_back(std::move(d));
  }
  return p;
}

void Driver::writeFiles(const ClaimInfo& c, const PreparedClaim& p) const {
  const int mtu = c.options.mtu.value_or(cfg_.default_mtu);
  std::vector<std::string> requests;
  for (const auto& d : p.devices) {
    const std::string r = topLevelRequest(d.request);
    if (std::find(requests.begin(), requests.end(), r) == requests.end()) requests.push_back(r);
  }
  std::vector<std::pair<std::string, std::string>> mounts;
  const std::string file = cfg_.driver_name + "-metadata.json";
  for (const auto& r : requests) {
    const std::string host = cfg_.metadata_root + "/" + c.uid + "/" + r + "/" + file;
    writeFileAtomic(
        host,
        deviceMetadata(c, cfg_.driver_name, r, p.devices, cfg_.container_socket_root, mtu).dump(2) +
            "\n",
        0644);
    mounts.emplace_back(host, metadataContainerDir(c, r) + "/" + file);
  }
  const json spec = cdiSpec(cfg_.driver_name + "/port", c, p, cfg_.container_socket_root, mounts);
  writeFileAtomic(cfg_.cdi_dir + "/" + cfg_.driver_name + "-" + c.uid + ".json",
                  spec.dump(2) + "\n", 0644);
}

std::vector<PreparedDevice> Driver::prepare(const std::string& ns, const std::string& name,
                                            const std::string& uid) {
  checkName("claim uid", uid);
  const json obj = fetch_(ns, name);
  const ClaimInfo c = parseClaim(obj, cfg_.driver_name, uid);
  PreparedClaim p = build(c);
  p.files = {cfg_.cdi_dir + "/" + cfg_.driver_name + "-" + c.uid + ".json"};
  std::lock_guard<std::mutex> lock(mu_);
  // Recorded before anything is made, so unprepare after a crash half-way finds it.
  claims_[uid] = p;
  saveCheckpoint();
  makeSocketDir(p.socket_dir, cfg_.socket_gid, cfg_.socket_mode);
  for (const auto& add : p.port_adds) rpc("port.add", json::parse(add));
  writeFiles(c, p);
  spdlog::info("prepared claim {}/{} ({}): {} port(s)", ns, name, uid, p.devices.size());
  return p.devices;
}

void Driver::unprepare(const std::string& uid) {
  checkName("claim uid", uid);
  std::lock_guard<std::mutex> lock(mu_);
  // Every port of this claim, by its external id: also those of a lost checkpoint.
  const json list = rpc(
      "port.list", {{"external_ids", {{"k8s-claim-uid", uid}, {"dra-driver", cfg_.driver_name}}}});
  std::vector<std::string> ports;
  for (const auto& port : list.at("ports")) ports.push_back(port.at("name").get<std::string>());
  if (auto it = claims_.find(uid); it != claims_.end()) {
    for (const auto& d : it->second.devices) ports.push_back(d.port);
  }
  for (const auto& port : ports) rpc("port.del", {{"name", port}, {"if_exists", true}});
  fs::remove_all(cfg_.socket_root + "/" + uid);
  fs::remove_all(cfg_.metadata_root + "/" + uid);
  fs::remove(cfg_.cdi_dir + "/" + cfg_.driver_name + "-" + uid + ".json");
  if (claims_.erase(uid) > 0) saveCheckpoint();
  spdlog::info("unprepared claim {}: {} port(s) removed", uid, ports.size());
}

int Driver::resync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (claims_.empty()) return 0;
  // Read first (a read is neither audited nor rate limited): add only what rtvswitch lacks.
  std::vector<std::string> have;
  try {
    const json list = rpc("port.list", {{"external_ids", {{"dra-driver", cfg_.driver_name}}}});
    for (const auto& port : list.at("ports")) have.push_back(port.at("name").get<std::string>());
  } catch (const std::exception& e) {
    spdlog::warn("resync: rtvswitch: {}", e.what());
    return static_cast<int>(claims_.size());
  }
  int failed = 0;
  for (const auto& [uid, p] : claims_) {
    try {
      for (const auto& text : p.port_adds) {
        const json add = json::parse(text);
        const std::string name = add.at("name").get<std::string>();
        if (std::find(have.begin(), have.end(), name) != have.end()) continue;
        makeSocketDir(p.socket_dir, cfg_.socket_gid, cfg_.socket_mode);
        rpc("port.add", add);
        spdlog::info("resync: port {} of claim {}/{} added again", name, p.namespace_, p.name);
      }
    } catch (const std::exception& e) {
      ++failed;
      spdlog::warn("resync of claim {}/{} ({}): {}", p.namespace_, p.name, uid, e.what());
    }
  }
  return failed;
}

}  // namespace rtvs::dra
