#include "switch/protocol/jsonrpc.h"

#include <chrono>
#include <optional>
#include <utility>

#include "switch/protocol/authz.h"

namespace rtvs {

namespace {

using nlohmann::json;

json errorReply(const json& id, int code, const std::string& message) {
  return json{{"jsonrpc", "2.0"}, {"error", {{"code", code}, {"message", message}}}, {"id", id}};
}

// nlohmann messages start with "[json.exception.type_error.302] "; users need only the reason.
std::string stripJsonPrefix(const std::string& what) {
  if (what.starts_with("[json.exception.")) {
    if (auto end = what.find("] "); end != std::string::npos) return what.substr(end + 2);
  }
  return what;
}

bool validId(const json& id) { return id.is_string() || id.is_number() || id.is_null(); }

// Dumps without throwing on invalid UTF-8 that a handler may have put in a string.
std::string dumpLine(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

void RpcDispatcher::add(std::string method, std::string params_help, std::string help,
                        Handler handler) {
  if (method.empty() || !handler)
    throw std::invalid_argument("rpc: method name and handler needed");
  auto [it, inserted] = methods_.try_emplace(
      std::move(method), Entry{std::move(params_help), std::move(help), std::move(handler)});
  if (!inserted) throw std::invalid_argument("rpc: method '" + it->first + "' registered twice");
}

std::vector<RpcDispatcher::MethodInfo> RpcDispatcher::methods() const {
  std::vector<MethodInfo> out;
  out.reserve(methods_.size());
  for (const auto& [name, e] : methods_) {
    out.push_back({name, e.params_help, e.help, roleName(methodRole(name))});
  }
  return out;
}

// Returns the reply for one request object, or nothing for a notification.
std::optional<json> RpcDispatcher::handleOne(const json& req) const {
  if (!req.is_object())
    return errorReply(nullptr, rpc_code::kInvalidRequest, "invalid request: not a JSON object");
  const auto id_it = req.find("id");
  const bool notification = id_it == req.end();
  const json id = notification || !validId(*id_it) ? json(nullptr) : *id_it;
  if (!notification && !validId(*id_it)) {
    return errorReply(id, rpc_code::kInvalidRequest,
                      "invalid request: 'id' must be a string, a number or null");
  }
  const auto ver = req.find("jsonrpc");
  if (ver == req.end() || *ver != "2.0") {
    return errorReply(id, rpc_code::kInvalidRequest, "invalid request: 'jsonrpc' must be \"2.0\"");
  }
  const auto m = req.find("method");
  if (m == req.end() || !m->is_string()) {
    return errorReply(id, rpc_code::kInvalidRequest, "invalid request: 'method' must be a string");
  }
  const auto& method = m->get_ref<const std::string&>();
  std::optional<json> reply;
  const auto h = methods_.find(method);
  const auto p = req.find("params");
  if (h == methods_.end()) {
    reply = errorReply(id, rpc_code::kMethodNotFound, "unknown method '" + method + "'");
  } else if (p != req.end() && !p->is_object()) {
    reply = errorReply(id, rpc_code::kInvalidParams,
                       "invalid params for '" + method + "': 'params' must be an object");
  } else {
    static const json kNoParams = json::object();
    const json& params = p == req.end() ? kNoParams : *p;
    const Role needed = methodRole(method);
    try {
      if (caller_ && access_) {
        const auto now = std::chrono::steady_clock::now().time_since_epoch();
        access_->admit(*caller_, method, needed,
                       std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
      }
      json result = h->second.handler(params);
      reply = json{{"jsonrpc", "2.0"}, {"result", std::move(result)}, {"id", id}};
    } catch (const RpcError& e) {
      reply = errorReply(id, e.code(), e.what());
    } catch (const json::type_error& e) {
      reply = errorReply(id, rpc_code::kInvalidParams,
                         "invalid params for '" + method + "': " + stripJsonPrefix(e.what()));
    } catch (const json::out_of_range& e) {
      reply = errorReply(id, rpc_code::kInvalidParams,
                         "invalid params for '" + method + "': " + stripJsonPrefix(e.what()));
    } catch (const std::exception& e) {
      reply = errorReply(id, rpc_code::kInternalError,
                         "internal error in '" + method + "': " + e.what());
    } catch (...) {
      reply = errorReply(id, rpc_code::kInternalError, "internal error in '" + method + "'");
    }
    if (after_call_) {
      try {
        after_call_();
      } catch (...) {  // a hook's failure never changes the reply
      }
    }
    if (caller_ && access_ && needed == Role::kAdmin)
      access_->audit(*caller_, method, params, *reply);
  }
  if (notification) return std::nullopt;
  return reply;
}

std::string RpcDispatcher::handleLine(std::string_view line) const {
  caller_ = nullptr;
  return handleAny(line);
}

std::string RpcDispatcher::handleLine(std::string_view line, const Peer& peer) const {
  caller_ = &peer;
  struct Reset {
    const Peer*& p;
    ~Reset() { p = nullptr; }
  } reset{caller_};
  return handleAny(line);
}

std::string RpcDispatcher::handleAny(std::string_view line) const {
  json req = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) {
    return dumpLine(errorReply(nullptr, rpc_code::kParseError, "parse error: not valid JSON"));
  }
  if (!req.is_array()) {
    auto reply = handleOne(req);
    return reply ? dumpLine(*reply) : std::string();
  }
  if (req.empty()) {
    return dumpLine(errorReply(nullptr, rpc_code::kInvalidRequest, "invalid request: empty batch"));
  }
  json replies = json::array();
  for (const auto& r : req) {
    if (auto reply = handleOne(r)) replies.push_back(std::move(*reply));
  }
  return replies.empty() ? std::string() : dumpLine(replies);
}

std::string makeRequest(const std::string& method, const nlohmann::json& params, int id) {
  json req{{"jsonrpc", "2.0"}, {"method", method}, {"id", id}};
  if (!params.is_null()) req["params"] = params;
  return dumpLine(req);
}

nlohmann::json parseResponse(std::string_view line, int expected_id) {
  json r = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (r.is_discarded() || !r.is_object()) {
    throw std::runtime_error("malformed reply from the daemon: not a JSON object");
  }
  const auto id = r.find("id");
  if (id == r.end() || !id->is_number_integer() || id->get<int64_t>() != expected_id) {
    // A parse error or invalid-request reply carries id null: still report its message.
    const auto err = r.find("error");
    if (err == r.end() || !(id != r.end() && id->is_null())) {
      throw std::runtime_error("malformed reply from the daemon: unexpected id");
    }
  }
  if (const auto err = r.find("error"); err != r.end()) {
    if (!err->is_object() || !err->contains("code") || !(*err)["code"].is_number_integer()) {
      throw std::runtime_error("malformed reply from the daemon: bad error object");
    }
    const auto msg = err->find("message");
    throw RpcError((*err)["code"].get<int>(), msg != err->end() && msg->is_string()
                                                  ? msg->get<std::string>()
                                                  : std::string("(no message)"));
  }
  const auto res = r.find("result");
  if (res == r.end()) throw std::runtime_error("malformed reply from the daemon: no result");
  return *res;
}

}  // namespace rtvs
