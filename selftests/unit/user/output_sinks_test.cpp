// Each sink against a real receiver: a pipe, a file that logrotate renames,
// a Unix datagram socket standing in for /dev/log, and a shell program.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "selftests/unit/user/output_test_util.h"
#include "user/output/sinks.h"

using namespace pg::user::output;
using namespace pg::user::output::testing;

namespace {

// A bound Unix datagram socket at a temp path: our stand-in for /dev/log.
struct DgramReceiver {
  explicit DgramReceiver(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~DgramReceiver() { ::close(fd); }
  std::string receive() {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return "";
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  int fd;
};

}  // namespace

TEST_CASE("stdout sink writes one text or JSON line per alert") {
  Pipe p;
  auto text = make_stdout_sink({LineFormat::Text, p.fds[1]});
  auto json = make_stdout_sink({LineFormat::Json, p.fds[1]});
  const auto a = rendered();
  REQUIRE(text->deliver(a));
  REQUIRE(json->deliver(a));
  CHECK(read_line(p.fds[0]) == a.text);
  const auto line = read_line(p.fds[0]);
  CHECK(nlohmann::json::parse(line)["rule"] == "Write below etc");
}

TEST_CASE("file sink appends to existing content") {
  TempDir dir;
  const auto path = dir / "events.txt";
  { std::ofstream(path) << "earlier line\n"; }
  auto sink = make_file_sink({path, LineFormat::Json});
  REQUIRE(sink);
  REQUIRE((*sink)->deliver(rendered()));
  const auto content = slurp(path);
  CHECK(content.rfind("earlier line\n{", 0) == 0);
  CHECK(content.back() == '\n');
}

TEST_CASE("file sink reopens its path after logrotate renames the file") {
  TempDir dir;
  const auto path = dir / "events.txt";
  auto made = make_file_sink({path, LineFormat::Text});
  REQUIRE(made);
  auto& sink = *made;
  REQUIRE(sink->deliver(rendered(sample_alert("first"))));
  std::filesystem::rename(path, path + ".1");
  // Without a reopen the daemon keeps writing into the renamed file.
  REQUIRE(sink->deliver(rendered(sample_alert("second", "second output"))));
  CHECK_FALSE(std::filesystem::exists(path));
  sink->request_reopen();
  sink->maintain();
  REQUIRE(sink->deliver(rendered(sample_alert("third", "third output"))));
  CHECK(slurp(path + ".1").find("second output") != std::string::npos);
  CHECK(slurp(path).find("third output") != std::string::npos);
  CHECK(slurp(path).find("second output") == std::string::npos);
}

TEST_CASE("file sink reports an unwritable path at creation") {
  auto sink = make_file_sink({"/nonexistent-dir/x/events.txt", LineFormat::Text});
  REQUIRE_FALSE(sink);
  CHECK(sink.error().find("/nonexistent-dir/x/events.txt") != std::string::npos);
}

TEST_CASE("syslog sink sends an RFC 3164 datagram with the priority mapped to the syslog level") {
  TempDir dir;
  const auto sock = dir / "log.sock";
  DgramReceiver rx(sock);
  auto sink = make_syslog_sink({LineFormat::Text, sock, "peregrine", 1 << 3});
  auto a = sample_alert();
  a.priority = Priority::Critical;  // LOG_CRIT = 2, LOG_USER = 8
  REQUIRE(sink->deliver(rendered(a)));
  const auto msg = rx.receive();
  CHECK(msg.rfind("<10>", 0) == 0);
  CHECK(msg.find(" peregrine[" + std::to_string(::getpid()) + "]: ") != std::string::npos);
  CHECK(msg.find("Critical File below /etc opened") != std::string::npos);
}

TEST_CASE("syslog sink reports failure when nothing listens on the socket") {
  TempDir dir;
  auto sink = make_syslog_sink({LineFormat::Text, dir / "absent.sock"});
  auto r = sink->deliver(rendered());
  REQUIRE_FALSE(r);
  CHECK(r.error().find("absent.sock") != std::string::npos);
}

TEST_CASE("program sink feeds alerts to the program's stdin, one per line") {
  TempDir dir;
  const auto out = dir / "out.txt";
  auto made = make_program_sink({"cat >> '" + out + "'", LineFormat::Json});
  REQUIRE(made);
  auto& sink = *made;
  REQUIRE(sink->deliver(rendered(sample_alert("one"))));
  REQUIRE(sink->deliver(rendered(sample_alert("two"))));
  REQUIRE(wait_until([&] {
    const auto s = slurp(out);
    return std::count(s.begin(), s.end(), '\n') == 2;
  }));
  std::istringstream lines(slurp(out));
  std::string l1, l2;
  std::getline(lines, l1);
  std::getline(lines, l2);
  CHECK(nlohmann::json::parse(l1)["rule"] == "one");
  CHECK(nlohmann::json::parse(l2)["rule"] == "two");
}

TEST_CASE("program sink restarts the program after it exits") {
  TempDir dir;
  const auto out = dir / "out.txt";
  const auto starts = dir / "starts.txt";
  // Reads exactly one line, then exits; `read` takes one byte at a time, so
  // it never swallows the next alert.
  const auto pid_file = dir / "pid";
  ProgramSinkOptions opts{"echo $$ > '" + pid_file + "'; echo start >> '" + starts +
                              "'; read -r line; echo \"$line\" >> '" + out + "'",
                          LineFormat::Text};
  opts.restart_delay = std::chrono::milliseconds(10);
  auto made = make_program_sink(opts);
  REQUIRE(made);
  auto& sink = *made;
  REQUIRE(sink->deliver(rendered(sample_alert("r", "first alert"))));
  REQUIRE(wait_until([&] { return slurp(out).find("first alert") != std::string::npos; }));
  // Wait until the shell has exited (a zombie until reaped), then let the
  // sink reap it, as the worker's idle tick would.
  const std::string stat =
      "/proc/" + slurp(pid_file).substr(0, slurp(pid_file).find('\n')) + "/stat";
  REQUIRE(wait_until([&] {
    const auto st = slurp(stat);
    const auto close = st.rfind(')');
    return st.empty() ||
           (close != std::string::npos && st.size() > close + 2 && st[close + 2] == 'Z');
  }));
  sink->maintain();
  REQUIRE(sink->deliver(rendered(sample_alert("r", "second alert"))));
  REQUIRE(wait_until([&] { return slurp(out).find("second alert") != std::string::npos; }));
  CHECK(slurp(starts) == "start\nstart\n");
}

TEST_CASE("program sink survives a program that never reads (no SIGPIPE death)") {
  ProgramSinkOptions opts{"exit 0", LineFormat::Text};
  opts.restart_delay = std::chrono::milliseconds(10);
  auto made = make_program_sink(opts);
  REQUIRE(made);
  auto& sink = *made;
  // Some of these land in the pipe before the shell exits, the rest meet a
  // closed pipe; either way the test process must still be alive after.
  for (int i = 0; i < 5; ++i) {
    (void)sink->deliver(rendered());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  CHECK(true);
}

TEST_CASE("program sink rejects an empty command") {
  CHECK_FALSE(make_program_sink({"", LineFormat::Text}));
}

TEST_CASE("stdout sink reports a closed reader instead of dying of SIGPIPE") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[0]);
  auto sink = make_stdout_sink({LineFormat::Text, fds[1]});
  // A fresh thread with SIGPIPE deliverable, as a sink worker starts out
  // (earlier tests may have blocked it in this thread).
  pg::Expected<void, std::string> r;
  std::thread([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    r = sink->deliver(rendered());
  }).join();
  REQUIRE_FALSE(r);
  CHECK(r.error().find("Broken pipe") != std::string::npos);
  ::close(fds[1]);
}
