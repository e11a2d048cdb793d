#pragma once
// A small client of the Kubernetes API server: JSON over HTTPS with the pod's service-account
// token (read again before every request: the kubelet rotates it), the cluster's CA, libcurl.

#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

struct curl_slist;

namespace rtvs::dra {

// A request that reached the server and got a non-2xx status (404, 409, ...), or did not.
class KubeApiError : public std::runtime_error {
 public:
  KubeApiError(long status, const std::string& what) : std::runtime_error(what), status_(status) {}
  long status() const { return status_; }  // 0: no HTTP answer (connection, TLS, timeout)

 private:
  long status_;
};

struct KubeApiConfig {
  std::string server;      // "https://10.96.0.1:443"
  std::string token_file;  // the service-account token
  std::string ca_file;     // the CA that signed the server's certificate
  long timeout_s = 30;
};

class KubeApi {
 public:
  explicit KubeApi(KubeApiConfig cfg);
  ~KubeApi();
  KubeApi(const KubeApi&) = delete;
  KubeApi& operator=(const KubeApi&) = delete;

  // path: "/apis/resource.k8s.io/v1/..." (query included). Throw KubeApiError.
  nlohmann::json get(const std::string& path);
  nlohmann::json post(const std::string& path, const nlohmann::json& body);
  nlohmann::json put(const std::string& path, const nlohmann::json& body);
  void del(const std::string& path);

  // A watch (path with "watch=true"): calls on_event with each event object ({"type": ...,
  // "object": ...}) as it arrives, until the server ends the stream (returns normally),
  // on_event returns false or keep_going() does (checked about once a second; returns
  // normally). A line that is not JSON ends the watch with KubeApiError, as do HTTP errors.
  void watch(const std::string& path, const std::function<bool(const nlohmann::json&)>& on_event,
             const std::function<bool()>& keep_going);

 private:
  nlohmann::json request(const char* method, const std::string& path, const std::string* body);
  // Sets up the handle for a request to `path`; the caller frees the returned headers.
  ::curl_slist* prepare(const char* method, const std::string& path, bool has_body, char* err);

  KubeApiConfig cfg_;
  void* curl_;  // CURL*, reused so connections are kept
};

// "a/b c" -> "a%2Fb%20c" (query values, field selectors).
std::string urlEncode(const std::string& s);

}  // namespace rtvs::dra
