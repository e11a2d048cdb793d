#pragma once
// The durable state of the ports: one JSON file (switch/core/port_state.h) replaced atomically on
// every change (a temporary file, fsync, rename over the old one, fsync of the directory), so
// that after a crash at any moment the file holds either the state before a change or the state
// after it, never a mix.

#include <string>
#include <vector>

#include "switch/core/port_state.h"

namespace rtvs {

class StateFile {
 public:
  // Creates the file's directory if needed (mode 0750). Throws std::runtime_error.
  explicit StateFile(std::string path);

  // The saved ports; none when there is no file yet. A file that cannot be read or parsed is
  // logged as an error and renamed to "<path>.bad-<UTC time>" (a name not taken yet: never
  // overwritten), and load() returns no ports: the daemon starts with the config file's.
  std::vector<SavedPort> load();

  // Replaces the file. Throws std::runtime_error "state file PATH: ..." (the old file is intact).
  void save(const std::vector<SavedPort>& ports);

  const std::string& path() const noexcept { return path_; }
  // Where load() put a damaged file aside; empty if it did not.
  const std::string& setAside() const noexcept { return set_aside_; }

 private:
  std::string path_;
  std::string set_aside_;
};

}  // namespace rtvs
