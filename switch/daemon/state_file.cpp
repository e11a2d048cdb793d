#include "switch/daemon/state_file.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace rtvs {

namespace {

std::string dirOf(const std::string& path) {
  std::string d = std::filesystem::path(path).parent_path().string();
  return d.empty() ? "." : d;
}

std::string utcStamp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm tmv{};
  gmtime_r(&ts.tv_sec, &tmv);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tmv);
  return buf;
}

// Reads the whole file; false with errno set when it cannot.
bool readAll(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

}  // namespace

StateFile::StateFile(std::string path) : path_(std::move(path)) {
  const std::string dir = dirOf(path_);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      throw std::runtime_error("state file " + path_ + ": cannot create directory " + dir + ": " +
                               ec.message() + " (state-file, or --no-state)");
    }
    ::chmod(dir.c_str(), 0750);
  }
}

std::vector<SavedPort> StateFile::load() {
  set_aside_.clear();
  std::string text;
  std::string error;
  if (!readAll(path_, text)) {
    if (errno == ENOENT) return {};
    error = std::string("cannot read: ") + std::strerror(errno);
  } else {
    try {
      return parsePortState(text);
    } catch (const StateError& e) {
      error = e.what();
    }
  }
  // Keep the damaged file for a person to look at; never replace an earlier one.
  std::string aside = path_ + ".bad-" + utcStamp();
  struct stat st {};
  for (int i = 1; ::lstat(aside.c_str(), &st) == 0; ++i) {
    aside = path_ + ".bad-" + utcStamp() + "." + std::to_string(i);
  }
  if (::rename(path_.c_str(), aside.c_str()) == 0) {
    set_aside_ = aside;
    spdlog::error("state file {}: {}; kept as {}; starting with the config file's ports only",
                  path_, error, aside);
  } else {
    // Without the rename a save would replace it: refuse to start rather than lose it.
    throw std::runtime_error("state file " + path_ + ": " + error +
                             "; and it cannot be renamed to " + aside + ": " +
                             std::strerror(errno));
  }
  return {};
}

void StateFile::save(const std::vector<SavedPort>& ports) {
  const std::string text = serializePortState(ports);
  const std::string tmp = path_ + ".tmp";
  auto fail = [&](const std::string& what) {
    const std::string msg = "state file " + path_ + ": " + what + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    throw std::runtime_error(msg);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) fail("cannot create " + tmp);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      errno = e;
      fail("cannot write " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    fail("cannot fsync " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) fail("cannot rename " + tmp);
  const int dfd = ::open(dirOf(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::fsync(dfd) != 0) {
    if (dfd >= 0) ::close(dfd);
    throw std::runtime_error("state file " + path_ +
                             ": cannot fsync its directory: " + std::strerror(errno));
  }
  ::close(dfd);
}

}  // namespace rtvs
