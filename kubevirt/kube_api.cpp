#include "kube_api.h"

#include <curl/curl.h>

#include <fstream>
#include <sstream>

namespace rtvs::dra {

namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string readToken(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw KubeApiError(0, "cannot read the service-account token " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  if (t.empty()) throw KubeApiError(0, "the service-account token " + file + " is empty");
  return t;
}

// The message of a Kubernetes Status object, else the body's start.
std::string statusMessage(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    return j["message"].get<std::string>();
  }
  return body.substr(0, 200);
}

}  // namespace

KubeApi::KubeApi(KubeApiConfig cfg) : cfg_(std::move(cfg)), curl_(curl_easy_init()) {
  if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
}

KubeApi::~KubeApi() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

curl_slist* KubeApi::prepare(const char* method, const std::string& path, bool has_body,
                             char* err) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  const std::string url = cfg_.server + path;
  const std::string auth = "Authorization: Bearer " + readToken(cfg_.token_file);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, auth.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  if (has_body) headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());  // libcurl copies strings
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_CAINFO, cfg_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg_.timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "rtvswitch-dra");
  return headers;
}

nlohmann::json KubeApi::request(const char* method, const std::string& path,
                                const std::string* body) {
  CURL* c = static_cast<CURL*>(curl_);
  char err[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = prepare(method, path, body != nullptr, err);
  std::string reply;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  const std::string what = std::string(method) + " " + path;
  if (rc != CURLE_OK) {
    throw KubeApiError(0, what + ": " + (err[0] != 0 ? err : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    throw KubeApiError(status,
                       what + ": HTTP " + std::to_string(status) + ": " + statusMessage(reply));
  }
  if (reply.empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded()) throw KubeApiError(status, what + ": the reply is not JSON");
  return j;
}

nlohmann::json KubeApi::get(const std::string& path) { return request("GET", path, nullptr); }

nlohmann::json KubeApi::post(const std::string& path, const nlohmann::json& body) {
  const std::string s = body.dump();
  return request("POST", path, &s);
}

nlohmann::json KubeApi::put(const std::string& path, const nlohmann::json& body) {
  const std::string s = body.dump();
  return request("PUT", path, &s);
}

void KubeApi::del(const std::string& path) { request("DELETE", path, nullptr); }

namespace {

// A watch's stream: whole lines are events; the tail waits for the next chunk.
struct WatchStream {
  const std::function<bool(const nlohmann::json&)>* on_event;
  const std::function<bool()>* keep_going;
  std::string pending;
  std::string error;  // a line that is not JSON
  bool stopped = false;
};

size_t watchWrite(char* data, size_t size, size_t n, void* out) {
  auto* w = static_cast<WatchStream*>(out);
  w->pending.append(data, size * n);
  size_t start = 0;
  for (size_t nl = w->pending.find('\n'); nl != std::string::npos;
       nl = w->pending.find('\n', start)) {
    const std::string_view line(w->pending.data() + start, nl - start);
    start = nl + 1;
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    auto ev = nlohmann::json::parse(line, nullptr, false);
    if (ev.is_discarded() || !ev.is_object()) {
      w->error = "a watch event is not JSON: " + std::string(line.substr(0, 100));
      return 0;  // aborts the transfer
    }
    if (!(*w->on_event)(ev)) {
      w->stopped = true;
      return 0;
    }
  }
  w->pending.erase(0, start);
  return size * n;
}

int watchProgress(void* out, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
                  curl_off_t /*ulnow*/) {
  auto* w = static_cast<WatchStream*>(out);
  if ((*w->keep_going)()) return 0;
  w->stopped = true;
  return 1;  // aborts the transfer
}

}  // namespace

void KubeApi::watch(const std::string& path,
                    const std::function<bool(const nlohmann::json&)>& on_event,
                    const std::function<bool()>& keep_going) {
  CURL* c = static_cast<CURL*>(curl_);
  char err[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = prepare("GET", path, false, err);
  WatchStream w{&on_event, &keep_going, {}, {}};
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 0L);  // a watch lasts: the server ends it
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, cfg_.timeout_s);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watchWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watchProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);  // an HTTP error status is not a stream
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (w.stopped) return;
  const std::string what = "GET " + path;
  if (!w.error.empty()) throw KubeApiError(200, what + ": " + w.error);
  if (rc != CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    throw KubeApiError(status, what + ": " + (err[0] != 0 ? err : curl_easy_strerror(rc)));
  }
}

std::string urlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char ch : s) {
    if (std::isalnum(ch) != 0 || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

}  // namespace rtvs::dra
