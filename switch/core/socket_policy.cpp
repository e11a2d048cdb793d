#include "switch/core/socket_policy.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "switch/core/port_spec.h"

namespace rtvs {

namespace {

[[noreturn]] void fail(const std::string& reason) { throw ConfigError("path: " + reason); }

std::string joinDirs(const std::vector<std::string>& dirs) {
  std::string s;
  for (const std::string& d : dirs) s += (s.empty() ? "" : ", ") + d;
  return s.empty() ? "(none exist)" : s;
}

std::string fdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

bool pathWithin(const std::string& dir, const std::string& root) {
  if (root == "/") return !dir.empty() && dir[0] == '/';
  return dir == root || (dir.size() > root.size() && dir.compare(0, root.size(), root) == 0 &&
                         dir[root.size()] == '/');
}

std::vector<std::string> realDirs(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const std::string& d : dirs) {
    char buf[PATH_MAX];
    if (::realpath(d.c_str(), buf) == nullptr) continue;
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
  }
  return out;
}

ConfinedSocket confineSocketPath(const std::string& path,
                                 const std::vector<std::string>& allowed_dirs, bool server) {
  if (path.empty() || path[0] != '/') fail("must be an absolute path, got " + quotedValue(path));
  if (path.find(',') != std::string::npos) fail("must not contain ',', got " + quotedValue(path));
  const size_t slash = path.rfind('/');
  const std::string name = path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    fail("must end in a file name, got " + quotedValue(path));
  }
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  const std::vector<std::string> allowed = realDirs(allowed_dirs);

  ConfinedSocket s;
  s.dir = UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (s.dir.get() < 0) {
    fail("directory " + quotedValue(dir) + ": " + std::strerror(errno));
  }
  // The directory actually opened, whatever symlinks and ".." led there.
  char buf[PATH_MAX];
  const ssize_t n = ::readlink(fdPath(s.dir.get()).c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) fail("cannot resolve directory " + quotedValue(dir) + ": " + std::strerror(errno));
  const std::string real(buf, static_cast<size_t>(n));
  if (std::none_of(allowed.begin(), allowed.end(),
                   [&](const std::string& root) { return pathWithin(real, root); })) {
    fail(quotedValue(path) + " is outside the allowed socket directories (" + joinDirs(allowed) +
         "; resolved directory " + quotedValue(real) +
         "); an admin adds directories with allowed-socket-dirs in the configuration file");
  }
  s.real_path = (real == "/" ? "" : real) + "/" + name;
  s.fd_path = fdPath(s.dir.get()) + "/" + name;
  if (s.fd_path.size() > kMaxSocketPath) {
    fail("file name " + quotedValue(name) + " is too long for a socket address");
  }
  struct stat st {};
  if (::fstatat(s.dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) fail(quotedValue(path) + " is a symbolic link");
    s.exists = true;
    if (!server && !S_ISSOCK(st.st_mode)) fail(quotedValue(path) + " exists and is not a socket");
  } else if (errno != ENOENT) {
    fail(quotedValue(path) + ": " + std::strerror(errno));
  }
  return s;
}

int chmodSocketAt(const ConfinedSocket& s, unsigned mode) {
  const size_t slash = s.real_path.rfind('/');
  const std::string name = s.real_path.substr(slash + 1);
  UniqueFd f(::openat(s.dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (f.get() < 0) return errno;
  struct stat st {};
  if (::fstat(f.get(), &st) != 0) return errno;
  if (!S_ISSOCK(st.st_mode)) return ENOTSOCK;
  // chmod through the descriptor's /proc link changes the inode it holds, not a new name.
  if (::chmod(fdPath(f.get()).c_str(), mode) != 0) return errno;
  return 0;
}

}  // namespace rtvs
