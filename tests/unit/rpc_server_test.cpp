#include "switch/server/rpc_server.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "switch/protocol/rpc_client.h"

namespace rtvs {
namespace {

using nlohmann::json;

int countFds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

class RpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rpc-server-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/ctl.sock";
    d_.add("echo", "", "", [](const json& p) { return p; });
    d_.add("big", "bytes", "",
           [](const json& p) { return json(std::string(p.at("bytes").get<size_t>(), 'x')); });
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int connectClient() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path_.c_str());
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    return fd;
  }
  static void sendStr(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << strerror(errno);
      off += static_cast<size_t>(n);
    }
  }
  // Polls the server until `fd` has a full line (or EOF); returns it without '\n' ("" on EOF).
  std::string readLine(RpcServer& s, int fd) {
    std::string& buf = pending_[fd];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto nl = buf.find('\n'); nl != std::string::npos) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return line;
      }
      s.poll(0);
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5) <= 0) continue;
      char chunk[65536];
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
      if (n > 0) buf.append(chunk, static_cast<size_t>(n));
      if (n == 0) return std::exchange(buf, {});
    }
    ADD_FAILURE() << "no reply";
    return {};
  }
  // True once the server closed `fd` (recv returns 0 or an error).
  bool closedByServer(RpcServer& s, int fd) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    char buf[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      s.poll(0);
      ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
      if (n < 0) ::usleep(1000);
    }
    return false;
  }
  static std::string req(const std::string& method, const json& params, int id) {
    return makeRequest(method, params, id) + "\n";
  }

  std::string dir_, path_;
  RpcDispatcher d_;
  std::map<int, std::string> pending_;  // bytes read past the last line, per client fd
};

TEST_F(RpcServerTest, RoundTripAndSocketMode) {
  RpcServer s(path_, d_);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  int fd = connectClient();
  sendStr(fd, req("echo", {{"a", 1}}, 1));
  EXPECT_EQ(parseResponse(readLine(s, fd), 1), json({{"a", 1}}));
  // Two requests in one write, CRLF tolerated, blank lines ignored.
  sendStr(fd, req("echo", {{"b", 2}}, 2) + "\r\n\n" + makeRequest("echo", {{"c", 3}}, 3) + "\r\n");
  EXPECT_EQ(parseResponse(readLine(s, fd), 2), json({{"b", 2}}));
  EXPECT_EQ(parseResponse(readLine(s, fd), 3), json({{"c", 3}}));
  ::close(fd);
}

// The control thread sleeps in poll() until a client, or a wake fd (link events, scrapes).
TEST_F(RpcServerTest, WakeFdEndsTheWaitAndIsReset) {
  RpcServer s(path_, d_);
  const int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(efd, 0);
  s.addWakeFd(efd);
  EXPECT_EQ(s.poll(0), 0);
  std::thread waker([efd] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const uint64_t one = 1;
    ASSERT_EQ(write(efd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(s.poll(10000), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  waker.join();
  EXPECT_EQ(s.poll(0), 0);  // read by poll(): not ready again
  EXPECT_THROW(s.addWakeFd(-1), std::system_error);
  close(efd);
}

TEST_F(RpcServerTest, DestructorUnlinksSocket) {
  { RpcServer s(path_, d_); }
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(RpcServerTest, ManyClientsInterleaved) {
  RpcServer s(path_, d_);
  std::vector<int> fds;
  for (int i = 0; i < 50; ++i) fds.push_back(connectClient());
  for (int i = 0; i < 50; ++i) sendStr(fds[i], req("echo", {{"i", i}}, i));
  for (int i = 49; i >= 0; --i) EXPECT_EQ(parseResponse(readLine(s, fds[i]), i), json({{"i", i}}));
  EXPECT_EQ(s.clientCountForTest(), 50u);
  for (int fd : fds) ::close(fd);
  for (int i = 0; i < 10 && s.clientCountForTest() > 0; ++i) s.poll(10);
  EXPECT_EQ(s.clientCountForTest(), 0u);
}

TEST_F(RpcServerTest, GarbageGetsParseErrorAndConnectionStays) {
  RpcServer s(path_, d_);
  int fd = connectClient();
  sendStr(fd, "\x01\x02 not json }}}\n");
  try {
    parseResponse(readLine(s, fd), 1);
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), rpc_code::kParseError);
  }
  std::string bin(1000, '\0');
  for (size_t i = 0; i < bin.size(); ++i) bin[i] = static_cast<char>(i * 7 + 1);
  for (char& c : bin) c = c == '\n' ? 'n' : c;
  sendStr(fd, bin + "\n");
  EXPECT_THROW(parseResponse(readLine(s, fd), 1), RpcError);
  sendStr(fd, req("echo", {{"ok", true}}, 5));
  EXPECT_EQ(parseResponse(readLine(s, fd), 5), json({{"ok", true}}));
  ::close(fd);
}

TEST_F(RpcServerTest, HalfLineCompletedLater) {
  RpcServer s(path_, d_);
  int fd = connectClient();
  const std::string r = req("echo", {{"x", "half"}}, 9);
  sendStr(fd, r.substr(0, 10));
  for (int i = 0; i < 5; ++i) s.poll(1);
  sendStr(fd, r.substr(10, 10));
  for (int i = 0; i < 5; ++i) s.poll(1);
  sendStr(fd, r.substr(20));
  EXPECT_EQ(parseResponse(readLine(s, fd), 9), json({{"x", "half"}}));
  ::close(fd);
}

TEST_F(RpcServerTest, LastLineWithoutNewlineAnsweredAfterShutdown) {
  RpcServer s(path_, d_);
  int fd = connectClient();
  sendStr(fd, makeRequest("echo", {{"eof", 1}}, 4));
  ::shutdown(fd, SHUT_WR);
  EXPECT_EQ(parseResponse(readLine(s, fd), 4), json({{"eof", 1}}));
  EXPECT_TRUE(closedByServer(s, fd));
  ::close(fd);
  EXPECT_EQ(s.clientCountForTest(), 0u);
}

TEST_F(RpcServerTest, TwoMegabyteLineClosesWithError) {
  RpcServer s(path_, d_);
  int fd = connectClient();
  int other = connectClient();
  const std::string big = R"({"jsonrpc":"2.0","method":"echo","params":{"s":")" +
                          std::string(2 << 20, 'a') + "\"},\"id\":1}\n";
  // The server stops reading after 1 MiB, so the writer must not block the test.
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  size_t off = 0;
  std::string reply;
  bool closed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    if (off < big.size()) {
      ssize_t n = ::send(fd, big.data() + off, big.size() - off, MSG_NOSIGNAL);
      if (n > 0) off += static_cast<size_t>(n);
    }
    s.poll(1);
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) reply.append(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EAGAIN)) closed = true;
  }
  EXPECT_TRUE(closed);
  ASSERT_NE(reply.find('\n'), std::string::npos);
  try {
    parseResponse(reply.substr(0, reply.find('\n')), 1);
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), rpc_code::kInvalidRequest);
    EXPECT_STREQ(e.what(), "request line longer than 1048576 bytes");
  }
  ::close(fd);
  // Other clients are unaffected.
  sendStr(other, req("echo", {{"still", "here"}}, 2));
  EXPECT_EQ(parseResponse(readLine(s, other), 2), json({{"still", "here"}}));
  ::close(other);
}

TEST_F(RpcServerTest, LineJustUnderLimitIsServed) {
  RpcServer s(path_, d_);
  int fd = connectClient();
  std::string head = R"({"jsonrpc":"2.0","method":"echo","params":{"s":")";
  std::string tail = "\"},\"id\":1}";
  std::string payload(RpcServer::kMaxLine - head.size() - tail.size(), 'b');
  std::string line = head + payload + tail + "\n";
  // Writer in small pieces interleaved with server polls (the socket buffer is smaller).
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n > 0) off += static_cast<size_t>(n);
    s.poll(1);
  }
  ::fcntl(fd, F_SETFL, 0);
  EXPECT_EQ(parseResponse(readLine(s, fd), 1).at("s").get<std::string>().size(), payload.size());
  ::close(fd);
}

TEST_F(RpcServerTest, ConnectCloseCyclesLeakNoFds) {
  RpcServer s(path_, d_);
  const int before = countFds();
  for (int i = 0; i < 1000; ++i) {
    int fd = connectClient();
    if (i % 3 == 0) sendStr(fd, req("echo", {{"i", i}}, i));
    if (i % 3 == 1) sendStr(fd, "{\"jsonrpc\":\"2.0\",\"meth");  // abrupt: half a request
    s.poll(0);
    if (i % 5 == 0) {
      linger l{1, 0};  // close with RST
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    ::close(fd);
    s.poll(0);
  }
  for (int i = 0; i < 100 && s.clientCountForTest() > 0; ++i) s.poll(10);
  EXPECT_EQ(s.clientCountForTest(), 0u);
  EXPECT_EQ(countFds(), before);
}

TEST_F(RpcServerTest, ClientLimit) {
  RpcServer s(path_, d_);
  std::vector<int> fds;
  for (size_t i = 0; i < RpcServer::kMaxClients; ++i) {
    fds.push_back(connectClient());
    s.poll(0);
  }
  for (int i = 0; i < 10; ++i) s.poll(1);
  EXPECT_EQ(s.clientCountForTest(), RpcServer::kMaxClients);
  int extra = connectClient();
  std::string line = readLine(s, extra);
  EXPECT_THROW(parseResponse(line, 1), RpcError);
  EXPECT_NE(line.find("too many control clients"), std::string::npos);
  EXPECT_TRUE(closedByServer(s, extra));
  ::close(extra);
  EXPECT_EQ(s.clientCountForTest(), RpcServer::kMaxClients);
  ::close(fds.back());
  fds.pop_back();
  for (int i = 0; i < 10; ++i) s.poll(1);
  int again = connectClient();
  sendStr(again, req("echo", {{"a", 1}}, 1));
  EXPECT_EQ(parseResponse(readLine(s, again), 1), json({{"a", 1}}));
  ::close(again);
  for (int fd : fds) ::close(fd);
}

// Clients that closed or reset while the server was not polling (a busy control thread) free
// their places before a newcomer at the limit would be refused.
TEST_F(RpcServerTest, GoneClientsMakeRoomAtTheLimit) {
  RpcServer s(path_, d_);
  std::vector<int> fds;
  for (size_t i = 0; i < RpcServer::kMaxClients; ++i) {
    fds.push_back(connectClient());
    s.poll(0);
  }
  for (int i = 0; i < 20 && s.clientCountForTest() < RpcServer::kMaxClients; ++i) s.poll(1);
  ASSERT_EQ(s.clientCountForTest(), RpcServer::kMaxClients);
  // The newcomer connects first, so the server sees its connection before the closes.
  int fresh = connectClient();
  for (size_t i = 0; i < fds.size(); ++i) {
    if (i % 2) {
      const linger reset{1, 0};  // SO_LINGER 0: a reset, as when the client is killed
      ::setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    ::close(fds[i]);
  }
  sendStr(fresh, req("echo", {{"b", 2}}, 7));
  EXPECT_EQ(parseResponse(readLine(s, fresh), 7), json({{"b", 2}}));
  EXPECT_EQ(s.clientCountForTest(), 1u);
  ::close(fresh);
}

TEST_F(RpcServerTest, ClientThatNeverReadsIsClosed) {
  RpcServer s(path_, d_);
  int fd = connectClient();
  int rcv = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  // Each request asks for a 256 KiB reply; the client never reads.
  const std::string r = req("big", {{"bytes", 256 * 1024}}, 1);
  bool closed = false;
  size_t sent = 0;
  for (int i = 0; i < 2000 && !closed; ++i) {
    ssize_t n = ::send(fd, r.data(), r.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(r.size())) ++sent;
    if (n < 0 && errno == EPIPE) closed = true;
    s.poll(1);
    if (s.clientCountForTest() == 0) closed = true;
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(s.clientCountForTest(), 0u);
  EXPECT_GT(sent, 16u);  // 4 MiB of replies were queued before the server gave up
  ::close(fd);
}

TEST_F(RpcServerTest, LargeReplyToAReadingClientIsDelivered) {
  RpcServer s(path_, d_);
  int fd = connectClient();
  sendStr(fd, req("big", {{"bytes", 6 << 20}}, 1));
  EXPECT_EQ(parseResponse(readLine(s, fd), 1).get<std::string>().size(), size_t{6} << 20);
  ::close(fd);
}

TEST_F(RpcServerTest, StaleSocketFileIsRemoved) {
  // A socket bound by a process that is gone: the file exists, nobody listens.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path_.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);
  ASSERT_TRUE(std::filesystem::exists(path_));
  RpcServer s(path_, d_);
  int c = connectClient();
  sendStr(c, req("echo", {{"a", 1}}, 1));
  EXPECT_EQ(parseResponse(readLine(s, c), 1), json({{"a", 1}}));
  ::close(c);
}

TEST_F(RpcServerTest, LiveSocketIsRefused) {
  RpcServer s(path_, d_);
  try {
    RpcServer second(path_, d_);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "control socket " + path_ + " is in use: another rtvswitch is listening on it");
  }
  // The first server still owns and serves its socket.
  int c = connectClient();
  sendStr(c, req("echo", {{"a", 1}}, 1));
  EXPECT_EQ(parseResponse(readLine(s, c), 1), json({{"a", 1}}));
  ::close(c);
}

TEST_F(RpcServerTest, BadPaths) {
  const std::string long_path = dir_ + "/" + std::string(120, 'p');
  try {
    RpcServer s(long_path, d_);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bytes long, the limit is 107"), std::string::npos);
  }
  const std::string file = dir_ + "/regular";
  { std::ofstream(file) << "x"; }
  EXPECT_THROW(RpcServer(file, d_), std::runtime_error);
  EXPECT_TRUE(std::filesystem::exists(file));  // never deletes what is not a socket
  EXPECT_THROW(RpcServer(dir_ + "/no/such/dir/ctl", d_), std::runtime_error);
  EXPECT_THROW(RpcServer("", d_), std::runtime_error);
}

// A peer that is neither root, the daemon's user nor in the socket's group is refused; one in the
// socket's group, as its primary or a supplementary group, is served. Needs root to switch the
// child's credentials.
TEST_F(RpcServerTest, PeerCredentials) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  RpcServer s(path_, d_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(path_.c_str(), 0666), 0);  // so the child reaches SO_PEERCRED at all
  auto run_child = [&](gid_t gid, std::vector<gid_t> supplementary = {}) {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgroups(supplementary.size(), supplementary.data()) != 0 || ::setgid(gid) != 0 ||
          ::setuid(65534) != 0) {
        ::_exit(10);
      }
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::strcpy(a.sun_path, path_.c_str());
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) ::_exit(11);
      std::string r = makeRequest("echo", {{"a", 1}}, 1) + "\n";
      if (::send(fd, r.data(), r.size(), MSG_NOSIGNAL) < 0) {
        // Already closed by the server: still read its error below.
      }
      std::string line;
      char c;
      while (::recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
      try {
        ::_exit(parseResponse(line, 1) == json({{"a", 1}}) ? 0 : 12);
      } catch (const RpcError& e) {
        ::_exit(std::string(e.what()).starts_with("permission denied: uid 65534") ? 20 : 13);
      } catch (...) {
        ::_exit(14);
      }
    }
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) s.poll(5);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(run_child(65534), 20);  // refused
  ASSERT_EQ(::chown(path_.c_str(), 0, 65534), 0);
  EXPECT_EQ(run_child(65534), 0);                // the socket's group
  EXPECT_EQ(run_child(4242, {4243, 65534}), 0);  // the socket's group as a supplementary group
  EXPECT_EQ(run_child(4242, {4243}), 20);        // other groups only
  for (int i = 0; i < 10; ++i) s.poll(1);
  EXPECT_EQ(s.clientCountForTest(), 0u);
}

// RpcClient against a real server polled by a thread, as the daemon's control thread does.
class RpcServerClientTest : public RpcServerTest {
 protected:
  void startServer() {
    server_ = std::make_unique<RpcServer>(path_, d_);
    thread_ = std::thread([this] {
      while (!stop_) server_->poll(10);
    });
  }
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    server_.reset();
    RpcServerTest::TearDown();
  }
  std::unique_ptr<RpcServer> server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

TEST_F(RpcServerClientTest, CallsAndErrors) {
  d_.add("fail", "", "", [](const json&) -> json { throw RpcError(rpc_code::kNotFound, "no"); });
  d_.add("slow", "", "", [](const json&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return json(1);
  });
  startServer();
  RpcClient c(path_, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.call("echo", {{"a", 1}}), json({{"a", 1}}));
  EXPECT_EQ(c.call("echo"), json::object());
  try {
    c.call("fail");
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), rpc_code::kNotFound);
  }
  EXPECT_THROW(c.call("nope"), RpcError);
  EXPECT_EQ(c.call("big", {{"bytes", 3 << 20}}).get<std::string>().size(), size_t{3} << 20);
  RpcClient impatient(path_, std::chrono::milliseconds(50));
  try {
    impatient.call("slow");
    FAIL();
  } catch (const RpcTransportError& e) {
    EXPECT_STREQ(e.what(), "no reply from rtvswitch within 0.05 s");
  }
}

TEST_F(RpcServerClientTest, ConnectErrors) {
  try {
    RpcClient c(path_, std::chrono::milliseconds(1000));
    FAIL();
  } catch (const RpcTransportError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot connect to " + path_ + ": No such file or directory (is rtvswitch running?)");
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);  // stale: bound, nobody listening
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path_.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);
  try {
    RpcClient c(path_, std::chrono::milliseconds(1000));
    FAIL();
  } catch (const RpcTransportError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot connect to " + path_ + ": Connection refused (is rtvswitch running?)");
  }
  EXPECT_THROW(RpcClient(dir_ + "/" + std::string(120, 'x'), std::chrono::milliseconds(10)),
               RpcTransportError);
}

TEST_F(RpcServerClientTest, RefusedClientGetsTheServersReason) {
  std::vector<int> fds;
  startServer();
  for (size_t i = 0; i < RpcServer::kMaxClients; ++i) fds.push_back(connectClient());
  while (server_->clientCountForTest() < RpcServer::kMaxClients) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  RpcClient c(path_, std::chrono::milliseconds(5000));
  try {
    c.call("echo");
    FAIL();
  } catch (const RpcError& e) {
    EXPECT_STREQ(e.what(), "too many control clients (limit 256)");
  }
  for (int fd : fds) ::close(fd);
}

}  // namespace
}  // namespace rtvs
