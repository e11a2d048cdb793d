#pragma once
// Confines vhost-user socket paths to the configured directories (issue 15). The directory of a
// path is opened once (following symlinks and "..") and its real path read back from the open
// descriptor, so the check is about the directory actually held; DPDK then binds or connects
// through "/proc/self/fd/N/NAME", i.e. through that same directory, whatever is renamed or
// replaced by a symlink in between. Control thread only (I/O, no DPDK).

#include <string>
#include <vector>

namespace rtvs {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  int get() const noexcept { return fd_; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

struct ConfinedSocket {
  UniqueFd dir;           // O_PATH descriptor of the socket's directory, kept for the port's life
  std::string real_path;  // the real directory + "/" + NAME (for messages and duplicate checks)
  std::string fd_path;    // "/proc/self/fd/N/NAME": what DPDK gets
  bool exists = false;    // NAME exists (a server socket cannot be created then)
};

// The real paths of `dirs` that exist (realpath), in order, without duplicates.
std::vector<std::string> realDirs(const std::vector<std::string>& dirs);

// Checks `path` against `allowed_dirs` (each resolved with realpath now): it must be absolute,
// its last component a plain name (not "." or ".."), contain no ',' (net_vhost's devargs would
// split there), and its directory, resolved, must be one of the allowed directories or below
// one. The last component must not be a symlink; for a client socket (`server` false) it must be a
// socket if it exists. Throws ConfigError("path: ...") naming the
// allowed directories when the path is outside them.
ConfinedSocket confineSocketPath(const std::string& path,
                                 const std::vector<std::string>& allowed_dirs, bool server);

// Sets the mode of the socket NAME in the held directory without following a symlink there
// (a peer with write access to the directory cannot redirect the chmod). Returns errno or 0.
int chmodSocketAt(const ConfinedSocket& s, unsigned mode);

// True if `dir` (a real path) is `root` or lies below it. Pure.
bool pathWithin(const std::string& dir, const std::string& root);

}  // namespace rtvs
