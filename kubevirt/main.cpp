// rtvswitch-dra: the kubelet plugin of the rtvswitch DRA driver (docs/kubevirt.md). Registers
// with the kubelet's plugin watcher, serves the DRAPlugin v1 service, publishes the node's
// ResourceSlice and prepares claims as rtvswitch vhostuserclient ports.

#include <grpcpp/grpcpp.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "dra_v1.grpc.pb.h"
#include "driver.h"
#include "kube_api.h"
#include "pluginregistration_v1.grpc.pb.h"
#include "slices.h"

namespace {

namespace drapb = k8s::io::kubelet::pkg::apis::dra::v1;
namespace regpb = pluginregistration;
using rtvs::dra::Driver;

class RegistrationService final : public regpb::Registration::Service {
 public:
  RegistrationService(std::string name, std::string endpoint)
      : name_(std::move(name)), endpoint_(std::move(endpoint)) {}

  grpc::Status GetInfo(grpc::ServerContext* /*ctx*/, const regpb::InfoRequest* /*req*/,
                       regpb::PluginInfo* info) override {
    info->set_type("DRAPlugin");
    info->set_name(name_);
    info->set_endpoint(endpoint_);
    info->add_supported_versions("v1.DRAPlugin");
    spdlog::info("kubelet asked for the plugin's info");
    return grpc::Status::OK;
  }

  grpc::Status NotifyRegistrationStatus(grpc::ServerContext* /*ctx*/,
                                        const regpb::RegistrationStatus* st,
                                        regpb::RegistrationStatusResponse* /*resp*/) override {
    if (st->plugin_registered()) {
      spdlog::info("registered with the kubelet");
    } else {
      spdlog::error("the kubelet refused the registration: {}", st->error());
    }
    registered_ = st->plugin_registered();
    return grpc::Status::OK;
  }

  bool registered() const { return registered_; }

 private:
  std::string name_, endpoint_;
  std::atomic<bool> registered_{false};
};

class DraService final : public drapb::DRAPlugin::Service {
 public:
  explicit DraService(Driver& driver) : driver_(driver) {}

  grpc::Status NodePrepareResources(grpc::ServerContext* /*ctx*/,
                                    const drapb::NodePrepareResourcesRequest* req,
                                    drapb::NodePrepareResourcesResponse* resp) override {
    for (const auto& claim : req->claims()) {
      drapb::NodePrepareResourceResponse& out = (*resp->mutable_claims())[claim.uid()];
      try {
        for (const auto& d : driver_.prepare(claim.namespace_(), claim.name(), claim.uid())) {
          drapb::Device* dev = out.add_devices();
          dev->add_request_names(rtvs::dra::topLevelRequest(d.request));
          dev->set_pool_name(d.pool);
          dev->set_device_name(d.device);
          dev->add_cdi_device_ids(d.cdi_id);
        }
      } catch (const std::exception& e) {
        out.clear_devices();
        out.set_error(std::string("prepare ") + claim.namespace_() + "/" + claim.name() + ": " +
                      e.what());
        spdlog::error("{}", out.error());
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status NodeUnprepareResources(grpc::ServerContext* /*ctx*/,
                                      const drapb::NodeUnprepareResourcesRequest* req,
                                      drapb::NodeUnprepareResourcesResponse* resp) override {
    for (const auto& claim : req->claims()) {
      drapb::NodeUnprepareResourceResponse& out = (*resp->mutable_claims())[claim.uid()];
      try {
        driver_.unprepare(claim.uid());
      } catch (const std::exception& e) {
        out.set_error(std::string("unprepare ") + claim.namespace_() + "/" + claim.name() + ": " +
                      e.what());
        spdlog::error("{}", out.error());
      }
    }
    return grpc::Status::OK;
  }

 private:
  Driver& driver_;
};

std::atomic<bool> g_stop{false};
std::mutex g_mu;
std::condition_variable g_cv;
bool g_publish = false;  // the watch saw the slice change: publish now (under g_mu)

void onSignal(int /*sig*/) { g_stop = true; }

std::string env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::unique_ptr<grpc::Server> serve(const std::string& path, grpc::Service* service) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::filesystem::remove(path);  // a socket left by a predecessor
  grpc::ServerBuilder b;
  b.AddListeningPort("unix://" + path, grpc::InsecureServerCredentials());
  b.RegisterService(service);
  auto server = b.BuildAndStart();
  if (!server) throw std::runtime_error("cannot listen on " + path);
  ::chmod(path.c_str(), 0600);  // the kubelet runs as root
  return server;
}

// Publishes the ResourceSlice now, every `every` seconds (retrying after errors) and when the
// watch sees it changed, and puts back the prepared ports rtvswitch lost (restarted without
// its state file).
void resyncLoop(Driver& driver, const rtvs::dra::DriverConfig& cfg,
                const rtvs::dra::KubeApiConfig& api_cfg, int every) {
  rtvs::dra::KubeApi api(api_cfg);
  while (!g_stop) {
    driver.resync();
    try {
      const std::string what = rtvs::dra::publishSlices(api, cfg);
      spdlog::info("ResourceSlice {}: {}", rtvs::dra::sliceName(cfg), what);
    } catch (const std::exception& e) {
      spdlog::warn("publishing the ResourceSlice: {}", e.what());
    }
    std::unique_lock<std::mutex> lock(g_mu);
    g_cv.wait_for(lock, std::chrono::seconds(every), [] { return g_stop.load() || g_publish; });
    g_publish = false;
  }
}

void requestPublish() {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_publish = true;
  }
  g_cv.notify_all();
}

// Watches this node's and driver's ResourceSlices (a watch the server renews every 5 minutes)
// and asks for a publication when one is deleted or changed behind the plugin's back, so the
// scheduler sees the node's devices again within a second, not at the next resync.
void watchLoop(const rtvs::dra::DriverConfig& cfg, const rtvs::dra::KubeApiConfig& api_cfg) {
  rtvs::dra::KubeApi api(api_cfg);
  const std::string path = rtvs::dra::sliceWatchPath(cfg, 300);
  auto keep_going = [] { return !g_stop.load(); };
  while (!g_stop) {
    const auto started = std::chrono::steady_clock::now();
    try {
      api.watch(
          path,
          [&](const nlohmann::json& ev) {
            if (rtvs::dra::sliceEventNeedsPublish(ev, cfg)) {
              spdlog::info("ResourceSlice watch: {} {}", ev.value("type", "?"),
                           ev.value("object", nlohmann::json::object())
                               .value("metadata", nlohmann::json::object())
                               .value("name", "?"));
              requestPublish();
            }
            return !g_stop.load();
          },
          keep_going);
      // The server ended it: watch again (after a pause if it ended at once, so a server
      // that does not stream is not asked in a loop).
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(1)) continue;
    } catch (const std::exception& e) {
      spdlog::warn("ResourceSlice watch: {}", e.what());
    }
    std::unique_lock<std::mutex> lock(g_mu);  // a pause before watching again
    g_cv.wait_for(lock, std::chrono::seconds(5), [] { return g_stop.load(); });
  }
}

int run(int argc, char** argv) {
  rtvs::dra::DriverConfig cfg;
  rtvs::dra::KubeApiConfig api;
  std::string registry = "/var/lib/kubelet/plugins_registry";
  std::string plugin_dir;
  int resync_s = 60;
  const std::string sa = "/var/run/secrets/kubernetes.io/serviceaccount";
  cfg.node_name = env("NODE_NAME");
  api.server = env("KUBERNETES_SERVICE_HOST").empty()
                   ? ""
                   : "https://" + env("KUBERNETES_SERVICE_HOST") + ":" +
                         env("KUBERNETES_SERVICE_PORT", "443");
  api.token_file = sa + "/token";
  api.ca_file = sa + "/ca.crt";

  CLI::App app{
      "rtvswitch-dra: the kubelet plugin of the rtvswitch DRA driver (KubeVirt "
      "vhost-user networks on rtvswitch ports)"};
  app.add_option("--driver-name", cfg.driver_name, "DRA driver name (DeviceClass, binding plugin)")
      ->capture_default_str();
  app.add_option("--node-name", cfg.node_name, "this node (default: $NODE_NAME)");
  app.add_option("--plugins-registry", registry, "the kubelet's plugin watcher directory")
      ->capture_default_str();
  app.add_option("--plugin-dir", plugin_dir,
                 "directory of the DRA socket (default /var/lib/kubelet/plugins/<driver>)");
  app.add_option("--control-socket", cfg.control_socket, "rtvswitch's control socket")
      ->capture_default_str();
  app.add_option("--socket-root", cfg.socket_root,
                 "host directory of the per-claim socket directories (an allowed-socket-dirs "
                 "entry of rtvswitch)")
      ->capture_default_str();
  app.add_option("--container-socket-root", cfg.container_socket_root,
                 "where a claim's socket directory appears in virt-launcher (+ /<claim uid>)")
      ->capture_default_str();
  app.add_option("--metadata-root", cfg.metadata_root,
                 "host directory of the device metadata (default <plugin-dir>/metadata)");
  app.add_option("--cdi-dir", cfg.cdi_dir, "CDI spec directory of the container runtime")
      ->capture_default_str();
  app.add_option(
      "--checkpoint", cfg.checkpoint_file,
      "the prepared claims, kept across restarts (default <plugin-dir>/checkpoint.json)");
  app.add_option("--socket-gid", cfg.socket_gid, "group of the per-claim directories (QEMU's)")
      ->capture_default_str();
  app.add_option("--mtu", cfg.default_mtu, "port MTU when the claim's config gives none")
      ->check(CLI::Range(68, 9702))
      ->capture_default_str();
  app.add_option("--devices", cfg.devices, "ports published per node (port-0 .. port-N-1)")
      ->check(CLI::Range(0, 128))
      ->capture_default_str();
  app.add_option("--api-server", api.server,
                 "API server URL (default https://$KUBERNETES_SERVICE_HOST:"
                 "$KUBERNETES_SERVICE_PORT)");
  app.add_option("--token-file", api.token_file, "service-account token")->capture_default_str();
  app.add_option("--ca-file", api.ca_file, "the API server's CA")->capture_default_str();
  app.add_option("--resync-seconds", resync_s,
                 "period of the ResourceSlice publication and of the check of the ports")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (cfg.node_name.empty() || api.server.empty()) {
    std::fprintf(stderr,
                 "rtvswitch-dra: --node-name (or $NODE_NAME) and --api-server (or "
                 "$KUBERNETES_SERVICE_HOST) are required\n");
    return 2;
  }
  if (plugin_dir.empty()) plugin_dir = "/var/lib/kubelet/plugins/" + cfg.driver_name;
  if (cfg.metadata_root.empty()) cfg.metadata_root = plugin_dir + "/metadata";
  if (cfg.checkpoint_file.empty()) cfg.checkpoint_file = plugin_dir + "/checkpoint.json";

  // Logs to stderr (the container log; stdout stays free).
  spdlog::set_default_logger(spdlog::stderr_logger_mt("rtvswitch-dra"));
  try {
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);
    rtvs::dra::KubeApi claims_api(api);
    std::mutex api_mu;
    Driver driver(cfg, [&](const std::string& ns, const std::string& name) {
      std::lock_guard<std::mutex> lock(api_mu);
      return claims_api.get("/apis/resource.k8s.io/v1/namespaces/" + rtvs::dra::urlEncode(ns) +
                            "/resourceclaims/" + rtvs::dra::urlEncode(name));
    });
    if (const int failed = driver.resync(); failed > 0) {
      spdlog::warn("{} prepared claim(s) could not be restored in rtvswitch yet", failed);
    }
    const std::string dra_sock = plugin_dir + "/dra.sock";
    const std::string reg_sock = registry + "/" + cfg.driver_name + "-reg.sock";
    DraService dra(driver);
    auto dra_server = serve(dra_sock, &dra);
    RegistrationService reg(cfg.driver_name, dra_sock);
    auto reg_server = serve(reg_sock, &reg);  // last: the kubelet calls as soon as it appears
    spdlog::info("rtvswitch-dra {} on node {}: registration {}, DRA service {}", cfg.driver_name,
                 cfg.node_name, reg_sock, dra_sock);
    std::thread resync(resyncLoop, std::ref(driver), cfg, api, resync_s);
    std::thread watch(watchLoop, cfg, api);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    {
      // Taken so the slice thread is either before its check of g_stop or waiting.
      std::lock_guard<std::mutex> lock(g_mu);
    }
    g_cv.notify_all();
    reg_server->Shutdown();
    std::filesystem::remove(reg_sock);
    dra_server->Shutdown();
    std::filesystem::remove(dra_sock);
    resync.join();
    watch.join();  // its transfer checks g_stop about once a second
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rtvswitch-dra: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // run() reports its own errors: this is out of memory
    std::fprintf(stderr, "rtvswitch-dra: %s\n", e.what());
    return 1;
  }
}
