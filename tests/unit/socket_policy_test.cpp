#include "switch/core/socket_policy.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "switch/core/port_spec.h"

namespace rtvs {
namespace {

namespace fs = std::filesystem;

class SocketPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rtvs-sockpol-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    allowed_ = root_ + "/allowed";
    other_ = root_ + "/other";
    fs::create_directories(allowed_ + "/sub");
    fs::create_directories(other_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string refusal(const std::string& path, bool server = false) {
    try {
      confineSocketPath(path, {allowed_}, server);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }

  void makeSocket(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    close(fd);
  }

  std::string root_, allowed_, other_;
};

TEST(PathWithin, ComparesWholeComponents) {
  EXPECT_TRUE(pathWithin("/run/rtvswitch", "/run/rtvswitch"));
  EXPECT_TRUE(pathWithin("/run/rtvswitch/a", "/run/rtvswitch"));
  EXPECT_FALSE(pathWithin("/run/rtvswitch2", "/run/rtvswitch"));
  EXPECT_FALSE(pathWithin("/run", "/run/rtvswitch"));
  EXPECT_TRUE(pathWithin("/x", "/"));
}

TEST_F(SocketPolicy, InsideIsAcceptedAndResolved) {
  ConfinedSocket s = confineSocketPath(allowed_ + "/vm1", {allowed_}, true);
  EXPECT_EQ(s.real_path, fs::canonical(allowed_).string() + "/vm1");
  EXPECT_EQ(s.fd_path, "/proc/self/fd/" + std::to_string(s.dir.get()) + "/vm1");
  EXPECT_FALSE(s.exists);
  EXPECT_EQ(refusal(allowed_ + "/sub/vm2"), "");
  EXPECT_EQ(refusal(allowed_ + "/sub/../vm3"), "");
  EXPECT_EQ(refusal(other_ + "/../allowed/vm4"), "");
}

TEST_F(SocketPolicy, OutsideIsRefusedWithTheAllowedDirectories) {
  const std::string why = refusal(other_ + "/vm1");
  EXPECT_NE(
      why.find("is outside the allowed socket directories (" + fs::canonical(allowed_).string()),
      std::string::npos)
      << why;
  EXPECT_NE(refusal(allowed_ + "/../other/vm1"), "");
  EXPECT_NE(refusal("/run/systemd/journal/socket"), "");
  EXPECT_NE(refusal("relative/vm1"), "");
  EXPECT_NE(refusal(allowed_ + "/a,client=0"), "");
  EXPECT_NE(refusal(allowed_ + "/.."), "");
  EXPECT_NE(refusal(allowed_ + "/"), "");
  EXPECT_NE(refusal(allowed_ + "/nodir/vm1"), "");
}

TEST_F(SocketPolicy, SymlinksAreResolvedOrRefused) {
  // A symlinked directory inside the allowed one that leads outside.
  fs::create_directory_symlink(other_, allowed_ + "/escape");
  EXPECT_NE(refusal(allowed_ + "/escape/vm1").find("outside"), std::string::npos);
  // A symlink to the allowed directory from elsewhere leads inside: fine.
  fs::create_directory_symlink(allowed_, other_ + "/in");
  EXPECT_EQ(refusal(other_ + "/in/vm1"), "");
  // The last component a symlink (to another service's socket): refused for both kinds.
  makeSocket(other_ + "/service.sock");
  fs::create_symlink(other_ + "/service.sock", allowed_ + "/vm1");
  EXPECT_NE(refusal(allowed_ + "/vm1").find("symbolic link"), std::string::npos);
  EXPECT_NE(refusal(allowed_ + "/vm1", true).find("symbolic link"), std::string::npos);
}

TEST_F(SocketPolicy, ExistingFiles) {
  makeSocket(allowed_ + "/vm1");
  EXPECT_EQ(refusal(allowed_ + "/vm1"), "");  // a guest's server socket
  EXPECT_TRUE(confineSocketPath(allowed_ + "/vm1", {allowed_}, true).exists);
  {
    FILE* f = fopen((allowed_ + "/file").c_str(), "w");
    fclose(f);
  }
  EXPECT_NE(refusal(allowed_ + "/file").find("not a socket"), std::string::npos);
}

TEST_F(SocketPolicy, ChmodDoesNotFollowASymlink) {
  makeSocket(allowed_ + "/vm1");
  ConfinedSocket s = confineSocketPath(allowed_ + "/vm1", {allowed_}, false);
  EXPECT_EQ(chmodSocketAt(s, 0660), 0);
  EXPECT_EQ(fs::status(allowed_ + "/vm1").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::group_write);
  // Replaced by a symlink to a file after the check: the chmod refuses.
  {
    FILE* f = fopen((other_ + "/victim").c_str(), "w");
    fclose(f);
  }
  fs::permissions(other_ + "/victim", fs::perms::owner_read);
  fs::remove(allowed_ + "/vm1");
  fs::create_symlink(other_ + "/victim", allowed_ + "/vm1");
  EXPECT_NE(chmodSocketAt(s, 0666), 0);
  EXPECT_EQ(fs::status(other_ + "/victim").permissions() & fs::perms::all, fs::perms::owner_read);
}

TEST_F(SocketPolicy, TheHeldDirectoryIsWhatCounts) {
  ConfinedSocket s = confineSocketPath(allowed_ + "/sub/vm1", {allowed_}, true);
  // The checked directory is swapped for a symlink to another one: the fd path still leads
  // into the directory that was checked.
  fs::rename(allowed_ + "/sub", allowed_ + "/moved");
  fs::create_directory_symlink(other_, allowed_ + "/sub");
  makeSocket(s.fd_path);
  EXPECT_TRUE(fs::exists(allowed_ + "/moved/vm1"));
  EXPECT_FALSE(fs::exists(other_ + "/vm1"));
}

}  // namespace
}  // namespace rtvs
