#pragma once
// Ports as an orchestrator drives them: external ids, the saved form of a port (what the state
// file holds), and the pure decisions around them: which ports to create at start, whether a
// repeated port.add asks for the same port, what a port.set changes. No I/O.

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switch/core/port_spec.h"

namespace rtvs {

// Free key/value identity of a port (OVS's external_ids): "iface-id", "attached-mac", "vm-uuid".
using ExternalIds = std::map<std::string, std::string>;
inline constexpr size_t kMaxExternalIds = 32;
inline constexpr size_t kMaxExternalIdKey = 64;
inline constexpr size_t kMaxExternalIdValue = 256;

// Keys: 1-64 characters of [A-Za-z0-9_.:/-]; values: 1-256 printable ASCII characters. Throws
// ConfigError "external-ids:KEY: ...".
void checkExternalId(std::string_view key, std::string_view value);
// Checks every id and the count. Throws ConfigError.
void checkExternalIds(const ExternalIds& ids);

// A change of external ids: a value sets the key, nullopt removes it.
using ExternalIdChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;
// Applies `changes` to `ids`; throws ConfigError for a bad key or value or too many ids.
ExternalIds applyExternalIdChanges(const ExternalIds& ids, const ExternalIdChanges& changes);

// A port as saved: the options as given (port.add's, with port.set's changes merged in) rather
// than the parsed PortSpec, so that every option, including ones added later, is kept without
// more code here.
struct SavedPort {
  std::string name;
  PortOptions options;
  ExternalIds external_ids;
  bool from_config = false;  // a [[port]] of the config file (it wins at start)

  bool operator==(const SavedPort&) const = default;
};

// A state file that cannot be used as a whole (not JSON, wrong shape or types, duplicates).
class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr int kStateVersion = 1;

// {"version": 1, "ports": [{"name", "options": {k: "v"}, "external_ids": {k: "v"},
// "from_config": bool}]}. Throws StateError with a one-line reason naming the entry. Option
// values are not checked here (a port whose options are no longer valid fails alone, at
// creation); names, option and id types and duplicate names are.
std::vector<SavedPort> parsePortState(std::string_view text);
std::string serializePortState(const std::vector<SavedPort>& ports);

// Which ports to create at start, in order. The config file's ports come first and win: a saved
// port of the same name is replaced by the config file's (`notes` says what differed); then the
// saved ports that are not in the config file, except those saved as config-file ports that the
// file no longer has (removed from the file: not recreated). `notes` are log lines.
struct StartPlan {
  std::vector<SavedPort> ports;
  std::vector<std::string> notes;
};
StartPlan planStartPorts(const std::vector<SavedPort>& config_ports,
                         const std::vector<SavedPort>& saved);

// What differs between a port and a new request for the same name, one "key: now vs asked" entry
// per option (in the options' normalized form, toOptions) or external id. Empty = the same port.
std::vector<std::string> portDifferences(const PortSpec& now, const ExternalIds& ids_now,
                                         const PortSpec& asked, const ExternalIds& ids_asked);

// A port.set: `changes` merged into the port's options. Throws ConfigError for an unknown key, a
// bad value, a key given twice, or a key that cannot change on a running port
// (portOptionSettable) whose value differs from the current one ("...: cannot change on a running
// port; delete and add the port again").
struct PortSetPlan {
  PortOptions options;               // the merged options, as given
  PortSpec spec;                     // their PortSpec
  std::vector<std::string> changed;  // keys whose value changed the spec
};
PortSetPlan planPortSet(const PortSpec& current, const PortOptions& current_options,
                        const PortOptions& changes, const std::string& socket_dir);

// The Prometheus label name of an external id key: every character outside [A-Za-z0-9_] becomes
// '_', and a leading digit gets a '_' in front ("iface-id" → "iface_id"). Empty when the result
// cannot be used: "port" (the info metric's own label) or a name starting with "__" (reserved).
std::string externalIdLabel(std::string_view key);

// Labels of rtvswitch_port_info: port=NAME, then one per external id in key order; an id whose
// label is empty or already taken by an earlier key is left out.
std::vector<std::pair<std::string, std::string>> portInfoLabels(const std::string& port,
                                                                const ExternalIds& ids);

}  // namespace rtvs
