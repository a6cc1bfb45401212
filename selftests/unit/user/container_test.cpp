// Containers: identity from cgroup paths, the Docker-API client against
// fake runtime sockets (good, slow, garbage, absent), the metadata cache,
// the hold of a new container's first events, and the container.* / k8s.*
// extractors.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "policy/ruleset.h"
#include "user/cgroup.h"
#include "user/config/config.h"
#include "user/container/docker_api.h"
#include "user/container/enricher.h"
#include "user/engine/engine.h"
#include "user/text.h"

using namespace pg::user;
using namespace pg::user::container;
using namespace std::chrono_literals;

namespace {

const std::string kId = "09ccdf078c5ccbc64697749090e57b4ea6a5a8c80971d0ff67eda194f045f346";
const std::string kId2 = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988";

// A runtime socket for tests: answers each request with what `handler`
// returns for its target, after `delay`.
class FakeRuntime {
 public:
  using Handler = std::function<std::string(const std::string& target)>;
  FakeRuntime(Handler h, std::chrono::milliseconds delay = 0ms)
      : handler_(std::move(h)), delay_(delay) {
    dir_ = std::filesystem::temp_directory_path() /
           ("pg-fake-rt-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "api.sock").string();
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeRuntime() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  const std::string& path() const { return path_; }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        req.append(buf, size_t(n));
      }
      ++requests_;
      auto sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
      std::string target = req.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string resp = handler_(target);
      for (auto waited = 0ms; waited < delay_ && !stop_; waited += 10ms)
        std::this_thread::sleep_for(10ms);
      if (!resp.empty()) (void)!::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  static inline std::atomic<int> counter_{0};
  Handler handler_;
  std::chrono::milliseconds delay_;
  std::filesystem::path dir_;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::string http(int status, const std::string& body) {
  return "HTTP/1.0 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n\r\n" +
         body;
}

std::string inspect_json(const std::string& id, const std::string& name, bool k8s = false) {
  std::string labels =
      k8s ? R"({"io.kubernetes.pod.name":"web-7d4b9","io.kubernetes.pod.namespace":"shop",
       "io.kubernetes.pod.uid":"5f0c-11","io.kubernetes.sandbox.id":")" +
                kId2 + R"(","app":"web","tier":"front"})"
          : R"({"maintainer":"me"})";
  return R"({"Id":")" + id + R"(","Created":"2026-11-28T12:02:25.5Z","Name":"/)" + name +
         R"(","Image":"sha256:8040aa","State":{"Status":"created"},
     "HostConfig":{"Privileged":true,"PidMode":"host","NetworkMode":"none","IpcMode":"shareable"},
     "Mounts":[{"Type":"bind","Source":"/srv/data","Destination":"/data","Mode":"z","RW":false,"Propagation":"rprivate"},
               {"Type":"bind","Source":"/etc/app","Destination":"/etc/app","Mode":"","RW":true,"Propagation":"rprivate"}],
     "Config":{"Image":"registry.local:5000/team/app:1.2","Labels":)" +
         labels + "}}";
}

// A runtime that knows one container and its image.
FakeRuntime::Handler knows(const std::string& id, const std::string& name, bool k8s = false) {
  return [=](const std::string& t) {
    if (t == "/v1.41/containers/" + id + "/json") return http(200, inspect_json(id, name, k8s));
    if (t.starts_with("/v1.41/images/"))
      return http(200, R"({"RepoDigests":["registry.local:5000/team/app@sha256:feed"]})");
    if (t == "/v1.41/containers/json") return http(200, "[]");
    return http(404, R"({"message":"no such container"})");
  };
}

Options opts_for(const std::string& sock, std::chrono::milliseconds hold = 1000ms) {
  Options o;
  o.docker_sockets = {};
  o.podman_sockets = {sock};
  o.containerd_sockets = {};
  // Hermetic: this host's own runtimes' files are not the test's.
  o.disk_paths.runc_roots = {};
  o.disk_paths.storage_root = "";
  o.hold = hold;
  o.request_timeout = 500ms;
  o.watch_events = false;
  return o;
}

// Poll `md` until the container leaves the pending/late states.
Metadata::State settle(Metadata& md, const std::string& id, std::chrono::milliseconds limit = 3s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    md.sync();
    auto st = md.state(id);
    if (st != Metadata::State::Pending && st != Metadata::State::Late) return st;
    std::this_thread::sleep_for(5ms);
  }
  return md.state(id);
}

Event exec_in(uint64_t cgroup, const char* comm = "sh") {
  Event e;
  e.kind = EventKind::Exec;
  e.task.tgid = e.task.tid = 300;
  e.task.ppid = 200;
  e.task.comm = comm;
  e.task.pcomm = "runc";
  e.task.cgroup_id = cgroup;
  e.tty = 34816;
  return e;
}

}  // namespace

TEST_CASE("container identity and runtime come from the cgroup path in every layout") {
  struct Case {
    std::string path;
    std::string id;
    Runtime runtime;
  } cases[] = {
      {"/docker/" + kId, kId, Runtime::Docker},
      {"/system.slice/docker-" + kId + ".scope", kId, Runtime::Docker},
      {"/libpod_parent/libpod-" + kId, kId, Runtime::Podman},
      {"/machine.slice/libpod-" + kId + ".scope/container", kId, Runtime::Podman},
      {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod5f0c.slice/crio-" + kId +
           ".scope",
       kId, Runtime::CriO},
      {"/kubepods/besteffort/pod5f0c/crio-" + kId, kId, Runtime::CriO},
      {"/system.slice/containerd.service/kubepods-burstable-pod1.slice:cri-containerd:" + kId, kId,
       Runtime::Containerd},
      {"/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + kId + ".scope", kId,
       Runtime::Containerd},
      {"/kubepods/burstable/pod5f0c/" + kId, kId, Runtime::Cri},
      // Real shapes from nodes: kubelet's systemd driver with containerd,
      // with CRI-O, and the cgroupfs driver (the runtime is not named).
      {"/kubepods.slice/kubepods-besteffort.slice/"
       "kubepods-besteffort-pod0f7d3f62_8a5e_4b4f_9c3b_1d2e3f4a5b6c.slice/cri-containerd-" +
           kId + ".scope",
       kId, Runtime::Containerd},
      {"/kubepods.slice/kubepods-burstable.slice/"
       "kubepods-burstable-pod0f7d3f62_8a5e_4b4f_9c3b_1d2e3f4a5b6c.slice/crio-" +
           kId + ".scope",
       kId, Runtime::CriO},
      {"/kubepods/pod0f7d3f62-8a5e-4b4f-9c3b-1d2e3f4a5b6c/" + kId, kId, Runtime::Cri},
      // Plain containerd (`ctr run`): /<namespace>/<id>, any id containerd accepts.
      {"/default/web-1", "web-1", Runtime::Containerd},
      {"/k8s.io/" + kId, kId, Runtime::Containerd},
      {"/default/db.primary_2", "db.primary_2", Runtime::Containerd},
      {"/default", "", Runtime::None},
      {"/default/bad..id", "", Runtime::None},
      {"/default/-lead", "", Runtime::None},
      {"/other-ns/web-1", "", Runtime::None},  // not a namespace we were told
      {"/system.slice/containerd.service", "", Runtime::None},
      {"/system.slice/default", "", Runtime::None},
      // The runtimes' monitors live beside the container, on the host.
      {"/machine.slice/libpod-conmon-" + kId + ".scope", "", Runtime::None},
      {"/kubepods.slice/crio-conmon-" + kId + ".scope", "", Runtime::None},
      {"/libpod_parent/conmon", "", Runtime::None},
      {"/user.slice/user-0.slice/session-3.scope", "", Runtime::None},
      {"/", "", Runtime::None},
      {"/docker/" + kId.substr(0, 63), "", Runtime::None},  // not a full id
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    auto ref = container_from_cgroup(c.path);
    CHECK(ref.id == c.id);
    CHECK(ref.runtime == c.runtime);
    CHECK(container_id_from_cgroup(c.path) == c.id);
  }
  CHECK(runtime_name(Runtime::CriO) == "cri-o");
  CHECK(runtime_name(Runtime::Podman) == "podman");
}

TEST_CASE("plain containerd namespaces are configurable and a node runs several runtimes at once") {
  CHECK(container_from_cgroup("/tenant-a/api", {"tenant-a"}).id == "api");
  CHECK(container_from_cgroup("/default/api", {"tenant-a"}).host());
  // One map, the containers of four runtimes side by side.
  CgroupMap m("");
  m.add(10, "/default/web-1");
  m.add(11, "/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + kId + ".scope");
  m.add(12, "/kubepods.slice/kubepods-pod2.slice/crio-" + kId2 + ".scope");
  m.add(13, "/libpod_parent/libpod-" + kId2);
  m.add(14, "/tenant-a/api");
  REQUIRE(m.container(10));
  CHECK(m.container(10)->runtime == Runtime::Containerd);
  CHECK(m.container(11)->runtime == Runtime::Containerd);
  CHECK(m.container(12)->runtime == Runtime::CriO);
  CHECK(m.container(13)->runtime == Runtime::Podman);
  CHECK(m.container(14)->host());
  // Told the namespaces later (config after the first scan): judged again.
  m.set_containerd_namespaces({"tenant-a"});
  CHECK(m.container(14)->id == "api");
  CHECK(m.container(10)->host());
}

TEST_CASE("container identity from a cgroup v1 /proc/PID/cgroup text") {
  std::string v1 = "12:pids:/docker/" + kId + "\n11:memory:/docker/" + kId + "\n1:name=systemd:/\n";
  auto ref = container_from_proc_cgroup(v1);
  CHECK(ref.id == kId);
  CHECK(ref.runtime == Runtime::Docker);
  CHECK(container_from_proc_cgroup("0::/user.slice\n").host());
  CHECK(container_from_proc_cgroup("0::/libpod_parent/libpod-" + kId + "\n").runtime ==
        Runtime::Podman);
}

TEST_CASE("the cgroup v2 tree is found on unified, hybrid and v1-only container hosts") {
  const char* unified =
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
  const char* hybrid =
      "30 23 0:26 / /sys/fs/cgroup ro shared:4 - tmpfs tmpfs ro,mode=755\n"
      "31 30 0:27 / /sys/fs/cgroup/unified rw shared:5 - cgroup2 cgroup2 rw\n"
      "32 30 0:28 / /sys/fs/cgroup/memory rw shared:6 - cgroup cgroup rw,memory\n";
  const char* v1 = "32 30 0:28 / /sys/fs/cgroup/memory rw shared:6 - cgroup cgroup rw,memory\n";
  CHECK(cgroup2_mount_from_mountinfo(unified) == "/sys/fs/cgroup");
  CHECK(cgroup2_mount_from_mountinfo(hybrid) == "/sys/fs/cgroup/unified");
  CHECK(cgroup2_mount_from_mountinfo(v1) == "");
}

TEST_CASE("container image references split into repository, tag and digest") {
  auto r = parse_image_ref("registry.local:5000/team/app:1.2@sha256:ab");
  CHECK(r.repository == "registry.local:5000/team/app");
  CHECK(r.tag == "1.2");
  CHECK(r.digest == "sha256:ab");
  r = parse_image_ref("registry.local:5000/team/app");
  CHECK(r.repository == "registry.local:5000/team/app");
  CHECK(r.tag == "");
  r = parse_image_ref("busybox:latest");
  CHECK(r.repository == "busybox");
  CHECK(r.tag == "latest");
}

TEST_CASE("container inspect answers parse into names, image, mounts and labels") {
  auto info = parse_container_json(inspect_json(kId, "web", true));
  REQUIRE(info);
  CHECK(info->id == kId);
  CHECK(info->name == "web");
  CHECK(info->image == "registry.local:5000/team/app:1.2");
  CHECK(info->image_repository == "registry.local:5000/team/app");
  CHECK(info->image_tag == "1.2");
  CHECK(info->image_id == "8040aa");
  CHECK(info->privileged);
  CHECK(info->host_pid);
  CHECK(!info->host_network);
  CHECK(info->created_ns == 1795867345'500000000LL);
  REQUIRE(info->mounts.size() == 2);
  CHECK(info->mounts[0].dest == "/data");
  CHECK(!info->mounts[0].rw);
  REQUIRE(info->label("io.kubernetes.pod.name"));
  CHECK(*info->label("io.kubernetes.pod.name") == "web-7d4b9");

  CHECK(parse_container_json("<html>oops</html>").error().kind == Failure::BadResponse);
  CHECK(parse_container_json("{\"Name\":\"x\"}").error().kind == Failure::BadResponse);
  CHECK(parse_container_json("[1,2]").error().kind == Failure::BadResponse);

  auto ev =
      parse_event_line(R"({"Type":"container","Action":"start","Actor":{"ID":")" + kId + R"("}})");
  REQUIRE(ev);
  CHECK(ev->id == kId);
  CHECK(ev->action == "start");
  CHECK(!parse_event_line(R"({"Type":"image","Action":"pull","Actor":{"ID":"x"}})"));
  CHECK(!parse_event_line("garbage"));
}

TEST_CASE("container API client: a good, an absent, a slow and a garbage socket") {
  FakeRuntime good(knows(kId, "web"));
  auto r = http_get(good.path(), "/v1.41/containers/" + kId + "/json", 1s);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(parse_container_json(r->body)->name == "web");

  auto absent = http_get("/nonexistent/pg-test.sock", "/x", 1s);
  REQUIRE(!absent);
  CHECK(absent.error().kind == Failure::Absent);

  FakeRuntime slow(knows(kId, "web"), 2000ms);
  auto t0 = std::chrono::steady_clock::now();
  auto late = http_get(slow.path(), "/v1.41/containers/" + kId + "/json", 200ms);
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(!late);
  CHECK(late.error().kind == Failure::Timeout);
  CHECK(took < 1000ms);

  FakeRuntime garbage([](const std::string&) { return std::string("\x01\x02 not http at all"); });
  auto bad = http_get(garbage.path(), "/x", 1s);
  REQUIRE(!bad);
  CHECK(bad.error().kind == Failure::BadResponse);

  // Chunked answers (some servers chunk even HTTP/1.0 replies) decode.
  FakeRuntime chunked([](const std::string&) {
    return std::string(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
        "world\r\n0\r\n\r\n");
  });
  auto c = http_get(chunked.path(), "/x", 1s);
  REQUIRE(c);
  CHECK(c->body == "hello world");
}

TEST_CASE("container metadata arrives asynchronously and is cached") {
  FakeRuntime rt(knows(kId, "web"));
  Metadata md(opts_for(rt.path()));
  md.start();
  ContainerRef ref{kId, Runtime::Podman};
  CHECK(md.lookup(ref) == Metadata::State::Pending);
  CHECK(md.find(kId) == nullptr);  // never blocks: nothing yet
  CHECK(settle(md, kId) == Metadata::State::Ready);
  const Info* info = md.find(kId);
  REQUIRE(info);
  CHECK(info->name == "web");
  CHECK(info->image_digest == "sha256:feed");
  int asked = rt.requests();
  CHECK(md.lookup(ref) == Metadata::State::Ready);  // cached: no new request
  md.sync();
  CHECK(rt.requests() == asked);
  CHECK(md.stats().answered.load() == 1);
  CHECK(md.stats().max_latency_us.load() > 0);
}

TEST_CASE("container runtime sockets that are absent, slow or garbage degrade to id-only") {
  SUBCASE("absent") {
    Metadata md(opts_for("/nonexistent/pg-test.sock"));
    md.start();
    md.lookup({kId, Runtime::Podman});
    CHECK(settle(md, kId) == Metadata::State::Failed);
    CHECK(md.stats().failures[size_t(Failure::Absent)].load() >= 1);
  }
  SUBCASE("garbage") {
    FakeRuntime rt([](const std::string&) { return http(200, "{not json"); });
    Metadata md(opts_for(rt.path()));
    md.start();
    md.lookup({kId, Runtime::Podman});
    CHECK(settle(md, kId) == Metadata::State::Failed);
    CHECK(md.stats().failures[size_t(Failure::BadResponse)].load() >= 1);
  }
  SUBCASE("slow") {
    FakeRuntime rt(knows(kId, "web"), 3000ms);
    Metadata md(opts_for(rt.path(), 100ms));
    md.start();
    md.lookup({kId, Runtime::Podman});
    std::this_thread::sleep_for(150ms);
    CHECK(md.lookup({kId, Runtime::Podman}) == Metadata::State::Late);  // hold bound passed
    CHECK(settle(md, kId) == Metadata::State::Failed);                  // request timed out
    CHECK(md.stats().failures[size_t(Failure::Timeout)].load() >= 1);
  }
  SUBCASE("CRI-O, with nothing on disk either, is id-only and counted") {
    Metadata md(opts_for("/nonexistent/pg-test.sock"));
    md.start();
    CHECK(md.lookup({kId, Runtime::CriO}) == Metadata::State::Pending);
    CHECK(settle(md, kId) == Metadata::State::Failed);
    CHECK(md.stats().unsupported.load() == 1);
    CHECK(md.stats().from_disk.load() == 0);
  }
}

namespace {

struct EngineFixture {
  pg::policy::LoadResult loaded;
  std::unique_ptr<engine::Engine> engine;
  explicit EngineFixture(const std::string& yaml, engine::EngineOptions o = {})
      : loaded(pg::policy::load_rules_from_memory(
            std::vector<pg::policy::InputFile>{{"test.yaml", yaml}})) {
    REQUIRE(loaded.ok());
    auto e = engine::Engine::build(loaded.ruleset, o);
    REQUIRE(e);
    engine = std::move(*e);
  }
};

const char* kShellRule = R"(
- rule: shell in container
  desc: d
  condition: evt.type = execve and container.id != host and proc.name = sh and proc.tty != 0 and proc.pname = runc
  output: "shell %container.name %container.image.repository:%container.image.tag pod=%k8s.pod.name ns=%k8s.ns.name"
  priority: NOTICE
)";

}  // namespace

TEST_CASE("container events wait for new container metadata, bounded, in order") {
  FakeRuntime rt(knows(kId, "web", true), 150ms);
  Enricher en(opts_for(rt.path(), 2000ms));
  en.start();
  CgroupMap cg("");
  cg.add(82, "/libpod_parent/libpod-" + kId);
  cg.add(1, "/");
  ProcessTable procs;
  Process runc;
  runc.pid = 200;
  runc.ppid = 1;
  runc.comm = "runc";
  procs.insert(runc);
  Process sh;
  sh.pid = 300;
  sh.ppid = 200;
  sh.comm = "sh";
  sh.tty = 34816;
  procs.insert(sh);

  CHECK(!en.hold(exec_in(1), procs, cg, 1));        // host events never wait
  CHECK(en.hold(exec_in(82), procs, cg, 2));        // first sight of the container
  CHECK(en.hold(exec_in(82, "ls"), procs, cg, 3));  // queued behind it
  // The live table moves on (the shell exits, its pid is reused without a
  // terminal); the held copy keeps what the rule reads.
  Process reused = sh;
  reused.tty = 0;
  procs.insert(reused);

  EngineFixture f(kShellRule);
  std::vector<std::string> out;
  std::vector<uint64_t> order;
  auto eval = [&](const Event& e, const ProcessTable& p, uint64_t num) {
    order.push_back(num);
    engine::EventView v{e, p, p.find(e.task.tgid), num, "h", &cg, &en.metadata()};
    f.engine->process(v, [&](pg::user::output::Alert&& a) { out.push_back(a.output); });
  };
  en.release(eval);
  CHECK(order.empty());  // the runtime has not answered yet
  auto end = std::chrono::steady_clock::now() + 3s;
  while (order.size() < 2 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(10ms);
    en.release(eval);
  }
  CHECK(order == std::vector<uint64_t>{2, 3});
  REQUIRE(out.size() == 1);
  CHECK(out[0] == "shell web registry.local:5000/team/app:1.2 pod=web-7d4b9 ns=shop");
  CHECK(en.hold_stats().held == 2);
  CHECK(en.hold_stats().complete == 2);
  CHECK(en.hold_stats().incomplete == 0);
  // Known now: later events go straight through.
  CHECK(!en.hold(exec_in(82), procs, cg, 4));
}

TEST_CASE("container hold bound: a slow runtime's events are sent with what is known") {
  FakeRuntime rt(knows(kId, "web"), 3000ms);
  Enricher en(opts_for(rt.path(), 200ms));
  en.start();
  CgroupMap cg("");
  cg.add(82, "/libpod_parent/libpod-" + kId);
  ProcessTable procs;
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(en.hold(exec_in(82), procs, cg, 1));
  std::vector<uint64_t> order;
  auto eval = [&](const Event&, const ProcessTable&, uint64_t num) { order.push_back(num); };
  while (order.empty() && std::chrono::steady_clock::now() - t0 < 2s) {
    std::this_thread::sleep_for(10ms);
    en.release(eval);
  }
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(order == std::vector<uint64_t>{1});
  CHECK(waited >= 200ms);
  CHECK(waited < 600ms);
  CHECK(en.hold_stats().incomplete == 1);
  CHECK(!en.hold(exec_in(82), procs, cg, 2));  // not held again
}

TEST_CASE("container and k8s fields extract from the cache; alerts in containers carry them") {
  FakeRuntime rt(knows(kId, "web", true));
  Metadata md(opts_for(rt.path()));
  md.start();
  CgroupMap cg("");
  cg.add(82, "/libpod_parent/libpod-" + kId);
  cg.add(1, "/user.slice");
  md.lookup({kId, Runtime::Podman});
  REQUIRE(settle(md, kId) == Metadata::State::Ready);
  ProcessTable procs;
  Event e = exec_in(82);
  engine::EventView v{e, procs, nullptr, 1, "h", &cg, &md};
  auto get = [&](const char* name) {
    auto f = engine::bind_field_name(name);
    REQUIRE(f);
    std::string scratch;
    return engine::render_value(engine::extract(*f, v, scratch));
  };
  CHECK(get("container.id") == kId.substr(0, 12));
  CHECK(get("container.full_id") == kId);
  CHECK(get("container.name") == "web");
  CHECK(get("container.image") == "registry.local:5000/team/app:1.2");
  CHECK(get("container.image.repository") == "registry.local:5000/team/app");
  CHECK(get("container.image.tag") == "1.2");
  CHECK(get("container.image.digest") == "sha256:feed");
  CHECK(get("container.type") == "podman");
  CHECK(get("container.privileged") == "true");
  CHECK(get("container.start_ts") == "1795867345500000000");
  CHECK(get("container.mounts") ==
        "/srv/data:/data:z:false:rprivate,/etc/app:/etc/app::true:rprivate");
  CHECK(get("container.mount.dest[/srv/data]") == "/data");
  CHECK(get("container.mount.source[/data]") == "/srv/data");
  CHECK(get("container.mount.source[/etc/*]") == "/etc/app");
  CHECK(get("container.mount[1]") == "/etc/app:/etc/app::true:rprivate");
  CHECK(get("container.mount.rdwr[/data]") == "false");
  CHECK(get("k8s.pod.name") == "web-7d4b9");
  CHECK(get("k8s.ns.name") == "shop");
  CHECK(get("k8s.pod.uid") == "5f0c-11");
  CHECK(get("k8s.pod.sandbox_id") == kId2.substr(0, 12));
  CHECK(get("k8s.pod.labels") == "app:web, tier:front");
  CHECK(get("k8s.pod.label[app]") == "web");
  CHECK(get("k8s.pod.label[io.kubernetes.pod.name]") == "<NA>");
  CHECK(get("container.label[app]") == "web");

  Event host = exec_in(1);
  engine::EventView hv{host, procs, nullptr, 2, "h", &cg, &md};
  std::string scratch;
  CHECK(engine::render_value(
            engine::extract(*engine::bind_field_name("container.id"), hv, scratch)) == "host");
  CHECK(engine::render_value(
            engine::extract(*engine::bind_field_name("container.name"), hv, scratch)) == "host");
  CHECK(engine::extract(*engine::bind_field_name("container.image"), hv, scratch).is_na());

  // Falco's default: alerts for container events name the container and
  // pod even when the rule's output does not.
  engine::EngineOptions o;
  o.container_fields = pg::user::config::Config{}.container.alert_fields;
  EngineFixture f(R"(
- rule: any exec
  desc: d
  condition: evt.type = execve
  output: "exec %proc.name"
  priority: NOTICE
)",
                  o);
  std::vector<pg::user::output::Alert> alerts;
  f.engine->process(v, [&](pg::user::output::Alert&& a) { alerts.push_back(std::move(a)); });
  f.engine->process(hv, [&](pg::user::output::Alert&& a) { alerts.push_back(std::move(a)); });
  REQUIRE(alerts.size() == 2);
  std::vector<std::string> names;
  for (const auto& of : alerts[0].output_fields) names.push_back(of.name);
  CHECK(names == std::vector<std::string>{"proc.name", "container.id", "container.name",
                                          "container.image.repository", "container.image.tag",
                                          "k8s.pod.name", "k8s.ns.name"});
  CHECK(std::get<std::string>(alerts[0].output_fields[2].value) == "web");
  CHECK(alerts[1].output_fields.size() == 1);  // host: only the rule's own fields

  engine::EngineOptions bad;
  bad.container_fields = {"container.nope"};
  auto loaded = pg::policy::load_rules_from_memory(
      std::vector<pg::policy::InputFile>{{"t.yaml",
                                          "- rule: r\n  desc: d\n  condition: "
                                          "evt.type = execve\n  output: x\n  "
                                          "priority: INFO\n"}});
  CHECK(!engine::Engine::build(loaded.ruleset, bad));
}

TEST_CASE("container configuration keys take effect and are range-checked") {
  auto c = pg::user::config::parse_config(
      "container:\n  hold_ms: 250\n  request_timeout_ms: 700\n  cache_ttl_s: 60\n"
      "  podman_socket: /tmp/p.sock\n  alert_fields: [container.id]\n",
      "t.yaml");
  REQUIRE(c);
  CHECK(c->container.hold_ms == 250);
  CHECK(c->container.request_timeout_ms == 700);
  CHECK(c->container.cache_ttl_s == 60);
  CHECK(c->container.podman_socket == "/tmp/p.sock");
  CHECK(c->container.alert_fields == std::vector<std::string>{"container.id"});
  auto bad = pg::user::config::parse_config("container:\n  hold_ms: 90000\n", "t.yaml");
  REQUIRE(!bad);
  CHECK(bad.error().key == "container.hold_ms");
  auto off = pg::user::config::parse_config("container:\n  alert_fields: []\n", "t.yaml");
  REQUIRE(off);
  CHECK(off->container.alert_fields.empty());
}

TEST_CASE("container cgroups not yet scanned are learnt from the event's process") {
  const std::string& root = cgroup2_mount();
  REQUIRE_MESSAGE(!root.empty(), "this host has no cgroup v2 tree");
  std::ifstream in("/proc/self/cgroup");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string rel;
  for (std::string_view line : split(ss.str(), '\n'))
    if (line.starts_with("0::")) rel = std::string(line.substr(3));
  REQUIRE(!rel.empty());
  struct stat sb {};
  REQUIRE(::stat((std::filesystem::path(root) / std::filesystem::path(rel).relative_path()).c_str(),
                 &sb) == 0);
  CgroupMap m(root);
  CHECK(!m.learn_from_process(sb.st_ino + 1'000'000'007ULL, uint32_t(getpid())));  // not its id
  CHECK(m.learn_from_process(sb.st_ino, uint32_t(getpid())));
  const std::string* p = m.path(sb.st_ino);
  REQUIRE(p);
  CHECK(*p == rel);
}
