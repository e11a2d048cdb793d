#pragma once
// vswitchctl's logic as pure, testable code: the command line → JSON-RPC calls mapping (CLI11),
// running the calls, and the result → human table formatting. control/vswitchctl.cpp only wires
// this to main().

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rtvs {

// Process exit codes of vswitchctl.
namespace ctl_exit {
inline constexpr int kOk = 0;
inline constexpr int kDaemonError = 1;  // the daemon answered with an error
inline constexpr int kUsage = 2;        // unknown verb, missing argument, bad key=value
inline constexpr int kUnreachable = 3;  // no connection, no reply in time, broken reply stream
}  // namespace ctl_exit

struct CtlGlobals {
  std::string socket;
  bool json = false;
  double timeout_s = 5.0;
};

struct CtlCall {
  std::string method;
  nlohmann::json params;  // null: no params member

  bool operator==(const CtlCall&) const = default;
};

// A daemon verb: its calls run in order on one connection; the last result is printed.
struct CtlCommand {
  std::string verb;  // "port add", "stats", ... selects the formatter
  std::vector<CtlCall> calls;
};

// Adds the global options and the daemon verbs to `app`. Other (local) subcommands, such as
// `host check`, may be added to the same app; they run from their own callbacks during parse.
class CtlCli {
 public:
  explicit CtlCli(CLI::App& app);
  CtlCli(const CtlCli&) = delete;
  CtlCli& operator=(const CtlCli&) = delete;

  // Parses `args` (without the program name), runs the chosen verb and returns the exit code.
  // Output goes to `out`, one-line errors "vswitchctl: <message>" to `err`.
  int run(std::vector<std::string> args, std::ostream& out, std::ostream& err);
  int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

  // The two halves of run(). parse() returns the exit code when it is all done (help, usage
  // error, a local command ran), nothing when command() is to be sent with execute().
  std::optional<int> parse(std::vector<std::string> args, std::ostream& out, std::ostream& err);
  int execute(std::ostream& out, std::ostream& err) const;

  // After parsing (for tests): the chosen daemon verb (empty when none) and the global options.
  const CtlCommand& command() const noexcept { return command_; }
  const CtlGlobals& globals() const noexcept { return globals_; }

 private:
  // The verb table, by group: each leaf subcommand records its calls through setVerb().
  void addGlobalOptions();
  void addPortVerbs();
  void addReadVerbs();   // fdb, pmd, stats, latency
  void addAdminVerbs();  // control, log, version, list-commands
  void setVerb(CLI::App* sub, std::string verb, std::function<std::vector<CtlCall>()> make_calls);

  CLI::App& app_;
  CtlGlobals globals_;
  CtlCommand command_;
  // Bound to CLI11 options.
  std::string name_, port_, level_;
  int vlan_ = -1;
  std::vector<std::string> options_, filters_;
  bool clear_ = false, histogram_ = false, may_exist_ = false, if_exists_ = false;
};

// Human output for a verb's result (times in µs for `latency show` and `pmd perf`); verbs without
// a fixed shape print an indented key/value tree.
std::string formatResult(const std::string& verb, const nlohmann::json& result);

// `result` of any shape as an indented key: value tree.
std::string formatTree(const nlohmann::json& result);

// Left-aligned columns ('l') or right-aligned ('r') per `align` character; two spaces apart, no
// trailing spaces.
std::string formatTable(const std::vector<std::string>& headers, const std::string& align,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::string& indent = "");

}  // namespace rtvs
