// Container metadata beyond the Docker API: the OCI spec (containerd's
// API hands it over, every runtime leaves it on disk), containerd records,
// runc state and containers-storage files in the shapes the runtimes write
// them, containerd sockets that are absent, garbage or silent, and the
// configuration keys (Falco's container plugin `engines`).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "user/config/config.h"
#include "user/container/containerd_api.h"
#include "user/container/disk.h"
#include "user/container/metadata.h"
#include "user/container/oci_spec.h"

using namespace pg::user;
using namespace pg::user::container;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kId = "4f3c2b1a09ccdf078c5ccbc64697749090e57b4ea6a5a8c80971d0ff67eda194";
const std::string kSandbox = "aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233";

// The parts of a spec containerd's CRI plugin writes for a pod's container
// (trimmed: the fields Peregrine reads, in containerd 1.6's shape).
std::string cri_spec(bool privileged) {
  std::string masked = privileged ? "" : R"("maskedPaths": ["/proc/kcore", "/sys/firmware"],)";
  std::string caps = privileged ? R"(["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_MODULE"])"
                                : R"(["CAP_CHOWN", "CAP_NET_BIND_SERVICE"])";
  return R"({"ociVersion": "1.0.2-dev",
  "process": {"args": ["nginx"], "capabilities": {"bounding": )" +
         caps + R"(, "effective": )" + caps + R"(}},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]},
    {"destination": "/etc/hosts", "type": "bind", "source": "/var/lib/containerd/sandboxes/x/hosts", "options": ["rbind", "rprivate", "rw"]},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "rshared", "ro"]}],
  "annotations": {
    "io.kubernetes.cri.container-type": "container",
    "io.kubernetes.cri.container-name": "nginx",
    "io.kubernetes.cri.image-name": "docker.io/library/nginx:1.25",
    "io.kubernetes.cri.sandbox-id": ")" +
         kSandbox + R"(",
    "io.kubernetes.cri.sandbox-name": "web-7d4b9",
    "io.kubernetes.cri.sandbox-namespace": "shop",
    "io.kubernetes.cri.sandbox-uid": "0f7d3f62-8a5e-4b4f-9c3b-1d2e3f4a5b6c"},
  "linux": {)" +
         masked +
         R"( "namespaces": [{"type": "pid"}, {"type": "ipc", "path": "/proc/42/ns/ipc"},
     {"type": "uts"}, {"type": "mount"}]}})";
}

fs::path temp_dir(const std::string& what) {
  static std::atomic<int> n{0};
  fs::path d = fs::temp_directory_path() /
               ("pg-src-" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(n++));
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// runc's state.json, as runc 1.1 writes it (trimmed).
std::string runc_state(const std::string& id, const fs::path& bundle) {
  return R"({"id": ")" + id + R"(", "init_process_pid": 4242, "created": "2026-12-03T15:59:26Z",
  "config": {"rootfs": "/x/rootfs", "readonlyfs": false,
    "labels": ["bundle=)" +
         bundle.string() + R"("], "cgroups": {"path": "/libpod_parent/libpod-x"}}})";
}

// containers-storage's files as podman 4.3 writes them.
std::string containers_json(const std::string& id) {
  return R"([{"id": "0000000000000000000000000000000000000000000000000000000000000001", "names": ["other"],
   "image": "aaaa", "metadata": "{}"},
  {"id": ")" +
         id +
         R"(", "names": ["pg-cri-probe"],
   "image": "bbf8ff0575077250f0c9772851e98342e42a59bc58199dc254e52e96eab84a1c",
   "layer": "86c964e8",
   "metadata": "{\"image-name\":\"localhost/pg-e2e-busybox:latest\",\"image-id\":\"bbf8ff0575077250f0c9772851e98342e42a59bc58199dc254e52e96eab84a1c\",\"name\":\"pg-cri-probe\",\"created-at\":1796313565}",
   "created": "2026-12-03T15:59:26.05618936Z"}])";
}
const char* kImagesJson =
    R"([{"id": "bbf8ff0575077250f0c9772851e98342e42a59bc58199dc254e52e96eab84a1c",
  "digest": "sha256:5dfed1eca7cec6887ad4d5c147e182ad581c79ffab9daefad8a0c489710f811f",
  "names": ["localhost/pg-e2e-busybox:latest"]}])";

// A podman-made config.json (trimmed): podman's own annotations.
const char* kPodmanSpec = R"({"ociVersion": "1.0.2-dev",
  "annotations": {"io.container.manager": "libpod", "io.podman.annotations.privileged": "FALSE"},
  "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "mount"}],
            "maskedPaths": ["/proc/kcore"]}})";

// A Unix socket that accepts and then does what `mode` says: answer
// garbage, or say nothing at all.
class OddSocket {
 public:
  enum Mode { Garbage, Silent };
  explicit OddSocket(Mode m) : mode_(m), dir_(temp_dir("odd")) {
    path_ = (dir_ / "c.sock").string();
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] {
      std::vector<int> open;
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) break;
        if (mode_ == Garbage) {
          const char junk[] = "HTTP/1.0 200 OK\r\n\r\nthis is not HTTP/2 at all\n";
          (void)!::send(c, junk, sizeof(junk) - 1, MSG_NOSIGNAL);
          ::close(c);
        } else {
          open.push_back(c);  // keep it open, say nothing
        }
      }
      for (int c : open) ::close(c);
    });
  }
  ~OddSocket() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    fs::remove_all(dir_);
  }
  const std::string& path() const { return path_; }

 private:
  Mode mode_;
  fs::path dir_;
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
};

Options containerd_only(const std::string& sock) {
  Options o;
  o.docker_sockets = {};
  o.podman_sockets = {};
  o.containerd_sockets = {sock};
  o.disk_paths.runc_roots = {};
  o.disk_paths.storage_root = "";
  o.hold = 300ms;
  o.request_timeout = 400ms;
  o.watch_events = false;
  return o;
}

Metadata::State settle(Metadata& md, const std::string& id, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    md.sync();
    auto st = md.state(id);
    if (st != Metadata::State::Pending && st != Metadata::State::Late) return st;
    std::this_thread::sleep_for(5ms);
  }
  return md.state(id);
}

}  // namespace

TEST_CASE("an OCI spec from containerd's CRI plugin gives pod, namespaces, mounts, privilege") {
  Info info;
  REQUIRE(apply_oci_spec(cri_spec(false), info));
  REQUIRE(info.label("io.kubernetes.pod.name"));
  CHECK(*info.label("io.kubernetes.pod.name") == "web-7d4b9");
  CHECK(*info.label("io.kubernetes.pod.namespace") == "shop");
  CHECK(*info.label("io.kubernetes.pod.uid") == "0f7d3f62-8a5e-4b4f-9c3b-1d2e3f4a5b6c");
  CHECK(*info.label("io.kubernetes.container.name") == "nginx");
  CHECK(*info.label("io.kubernetes.sandbox.id") == kSandbox);
  CHECK(info.image == "docker.io/library/nginx:1.25");
  CHECK(!info.host_pid);
  CHECK(info.host_network);  // no network namespace of its own
  CHECK(!info.host_ipc);     // joins the sandbox's, not the host's
  CHECK(!info.privileged);
  REQUIRE(info.mounts.size() == 2);  // the binds, not /proc
  CHECK(info.mounts[1].source == "/srv/data");
  CHECK(info.mounts[1].dest == "/data");
  CHECK(!info.mounts[1].rw);
  CHECK(info.mounts[1].propagation == "rshared");
  CHECK(info.mounts[0].rw);

  Info priv;
  REQUIRE(apply_oci_spec(cri_spec(true), priv));
  CHECK(priv.privileged);

  // Labels the API gave win over annotations; garbage changes nothing.
  Info labelled;
  labelled.labels = {{"io.kubernetes.pod.name", "from-label"}};
  REQUIRE(apply_oci_spec(cri_spec(false), labelled));
  CHECK(*labelled.label("io.kubernetes.pod.name") == "from-label");
  Info untouched;
  CHECK(!apply_oci_spec("[1,2]", untouched));
  CHECK(!apply_oci_spec("{not json", untouched));
  CHECK(untouched.labels.empty());
}

TEST_CASE("an OCI spec from CRI-O and from podman") {
  Info crio;
  REQUIRE(apply_oci_spec(R"({"annotations": {
      "io.kubernetes.pod.name": "db-0", "io.kubernetes.pod.namespace": "data",
      "io.kubernetes.pod.uid": "9e1", "io.kubernetes.container.name": "postgres",
      "io.kubernetes.cri-o.SandboxID": ")" +
                             kSandbox +
                             R"(",
      "io.kubernetes.cri-o.ImageName": "quay.io/org/postgres:16",
      "io.kubernetes.cri-o.Labels": "{\"io.kubernetes.pod.name\":\"db-0\",\"app\":\"db\"}"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}],
              "maskedPaths": ["/proc/kcore"]}})",
                         crio));
  CHECK(*crio.label("io.kubernetes.pod.name") == "db-0");
  CHECK(*crio.label("io.kubernetes.sandbox.id") == kSandbox);
  CHECK(*crio.label("app") == "db");
  CHECK(crio.image == "quay.io/org/postgres:16");
  CHECK(!crio.host_network);

  Info pod;
  REQUIRE(apply_oci_spec(kPodmanSpec, pod));
  CHECK(!pod.privileged);
  CHECK(!pod.label("io.kubernetes.pod.name"));
  Info podp;
  REQUIRE(apply_oci_spec(
      R"({"annotations": {"io.podman.annotations.privileged": "TRUE"}, "linux": {"maskedPaths": ["/x"]}})",
      podp));
  CHECK(podp.privileged);
}

TEST_CASE("a containerd record becomes the Info rules read") {
  ContainerdRecord r;
  r.id = kId;
  r.ns = "k8s.io";
  r.image = "docker.io/library/nginx:1.25";
  r.labels = {{"io.cri-containerd.kind", "container"},
              {"io.kubernetes.container.name", "nginx"},
              {"io.kubernetes.pod.name", "web-7d4b9"},
              {"io.kubernetes.pod.namespace", "shop"}};
  r.spec_json = cri_spec(false);
  r.created_ns = 1'796'313'565'000'000'000;
  Info i = info_from_containerd(r);
  CHECK(i.id == kId);
  CHECK(i.name == "nginx");
  CHECK(i.image_repository == "docker.io/library/nginx");
  CHECK(i.image_tag == "1.25");
  CHECK(i.created_ns == r.created_ns);
  CHECK(*i.label("io.kubernetes.pod.uid") == "0f7d3f62-8a5e-4b4f-9c3b-1d2e3f4a5b6c");

  ContainerdRecord plain;  // `ctr run IMAGE web-1`
  plain.id = "web-1";
  plain.image = "localhost/pg-e2e-busybox:latest";
  CHECK(info_from_containerd(plain).name == "web-1");
  plain.labels = {{"nerdctl/name", "frontend"}};
  CHECK(info_from_containerd(plain).name == "frontend");
  plain.image = "registry:5000/app@sha256:feed";
  auto d = info_from_containerd(plain);
  CHECK(d.image_repository == "registry:5000/app");
  CHECK(d.image_digest == "sha256:feed");
}

TEST_CASE("runc state and containers-storage files give podman's name and image") {
  fs::path bundle = "/var/lib/containers/storage/overlay-containers/" + kId + "/userdata";
  CHECK(bundle_from_runc_state(runc_state(kId, bundle)) == bundle.string());
  CHECK(bundle_from_runc_state("{}").empty());
  CHECK(bundle_from_runc_state("garbage").empty());

  Info i;
  i.id = kId;
  REQUIRE(apply_containers_storage(containers_json(kId), kImagesJson, i));
  CHECK(i.name == "pg-cri-probe");
  CHECK(i.image == "localhost/pg-e2e-busybox:latest");
  CHECK(i.image_id == "bbf8ff0575077250f0c9772851e98342e42a59bc58199dc254e52e96eab84a1c");
  CHECK(i.image_digest ==
        "sha256:5dfed1eca7cec6887ad4d5c147e182ad581c79ffab9daefad8a0c489710f811f");
  CHECK(i.created_ns == 1'796'313'565'000'000'000);
  Info none;
  none.id = "ffff";
  CHECK(!apply_containers_storage(containers_json(kId), kImagesJson, none));
  CHECK(!apply_containers_storage("not json", kImagesJson, none));
}

TEST_CASE("metadata from disk: podman's files, containerd's shim state, nothing") {
  fs::path root = temp_dir("disk");
  fs::path runc = root / "run-runc";
  fs::path storage = root / "storage";
  fs::path bundle = storage / "overlay-containers" / kId / "userdata";
  write(runc / kId / "state.json", runc_state(kId, bundle));
  write(bundle / "config.json", kPodmanSpec);
  write(storage / "overlay-containers" / "containers.json", containers_json(kId));
  write(storage / "overlay-images" / "images.json", kImagesJson);
  // containerd's shim: <root>/<namespace>/<id>/state.json, the bundle in its state dir.
  fs::path shim = root / "containerd-runc";
  fs::path cbundle = root / "task" / "k8s.io" / "web-1";
  write(shim / "k8s.io" / "web-1" / "state.json", runc_state("web-1", cbundle));
  write(cbundle / "config.json", cri_spec(false));

  DiskOptions o;
  o.runc_roots = {runc.string(), shim.string()};
  o.storage_root = storage.string();
  auto p = read_from_disk(kId, o);
  REQUIRE(p);
  CHECK(p->name == "pg-cri-probe");
  CHECK(p->image_repository == "localhost/pg-e2e-busybox");
  CHECK(p->image_tag == "latest");
  CHECK(p->source == "oci-state,containers-storage");
  CHECK(!p->host_network);

  auto c = read_from_disk("web-1", o);
  REQUIRE(c);
  CHECK(c->source == "oci-state");
  CHECK(c->name == "nginx");  // the CRI annotation's, not the id
  CHECK(*c->label("io.kubernetes.pod.name") == "web-7d4b9");
  CHECK(c->image_repository == "docker.io/library/nginx");

  CHECK(!read_from_disk("nobody", o));
  CHECK(!read_from_disk("../" + kId, o));  // never a path
  fs::remove_all(root);
}

TEST_CASE("a podman container with no API socket gets its metadata from disk, held until then") {
  fs::path root = temp_dir("held");
  fs::path bundle = root / "storage" / "overlay-containers" / kId / "userdata";
  write(root / "runc" / kId / "state.json", runc_state(kId, bundle));
  write(bundle / "config.json", kPodmanSpec);
  write(root / "storage" / "overlay-containers" / "containers.json", containers_json(kId));
  write(root / "storage" / "overlay-images" / "images.json", kImagesJson);
  Options o = containerd_only("");
  o.containerd_sockets = {};
  o.podman_sockets = {(root / "absent.sock").string()};
  o.disk_paths.runc_roots = {(root / "runc").string()};
  o.disk_paths.storage_root = (root / "storage").string();
  Metadata md(o);
  md.start();
  CHECK(md.lookup({kId, Runtime::Podman}) == Metadata::State::Pending);
  REQUIRE(settle(md, kId) == Metadata::State::Ready);
  const Info* i = md.find(kId);
  REQUIRE(i);
  CHECK(i->name == "pg-cri-probe");
  CHECK(i->source == "oci-state,containers-storage");
  CHECK(md.stats().from_disk.load() == 1);
  CHECK(md.stats().failures[size_t(Failure::Absent)].load() == 1);

  // Turned off: the same container stays id-only.
  o.disk = false;
  Metadata off(o);
  off.start();
  off.lookup({kId, Runtime::Podman});
  CHECK(settle(off, kId) == Metadata::State::Failed);
  fs::remove_all(root);
}

TEST_CASE("a containerd socket that is absent, garbage or silent leaves containers id-only") {
  SUBCASE("absent") {
    Metadata md(containerd_only("/nonexistent/pg-containerd.sock"));
    md.start();
    md.lookup({kId, Runtime::Containerd});
    CHECK(settle(md, kId) == Metadata::State::Failed);
    CHECK(md.stats().failures[size_t(Failure::Absent)].load() >= 1);
  }
  SUBCASE("garbage") {
    OddSocket s(OddSocket::Garbage);
    Metadata md(containerd_only(s.path()));
    md.start();
    md.lookup({kId, Runtime::Cri});
    CHECK(settle(md, kId) == Metadata::State::Failed);
    auto bad = md.stats().failures[size_t(Failure::BadResponse)].load() +
               md.stats().failures[size_t(Failure::Timeout)].load();
    CHECK(bad >= 1);
  }
  SUBCASE("silent: the hold ends at its bound, the request at its timeout") {
    OddSocket s(OddSocket::Silent);
    Metadata md(containerd_only(s.path()));
    md.start();
    auto t0 = std::chrono::steady_clock::now();
    md.lookup({kId, Runtime::Containerd});
    std::this_thread::sleep_for(350ms);
    CHECK(md.lookup({kId, Runtime::Containerd}) == Metadata::State::Late);
    CHECK(settle(md, kId) == Metadata::State::Failed);
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    CHECK(md.stats().failures[size_t(Failure::Timeout)].load() >= 1);
  }
  SUBCASE("watchers of a dead socket stop promptly") {
    Options o = containerd_only("/nonexistent/pg-containerd.sock");
    o.watch_events = true;
    auto t0 = std::chrono::steady_clock::now();
    {
      Metadata md(o);
      md.start();
      std::this_thread::sleep_for(100ms);
    }
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  }
}

TEST_CASE("container engines take Falco's container plugin keys") {
  auto c = pg::user::config::parse_config(R"(container:
  engines:
    docker: {enabled: false}
    podman: {enabled: true, sockets: [/run/podman/podman.sock, /run/user/1000/podman/podman.sock]}
    containerd: {enabled: true, sockets: [/run/k3s/containerd/containerd.sock]}
    cri: {enabled: true, sockets: [/run/crio/crio.sock]}
  containerd_namespaces: [k8s.io, moby-test]
  disk_metadata: false
  runc_state_dirs: [/run/runc]
  containers_storage: /srv/storage
)",
                                          "t.yaml");
  REQUIRE(c);
  const auto& k = c->container;
  CHECK(!k.docker_engine.enabled);
  CHECK(k.podman_engine.sockets.size() == 2);
  CHECK(k.containerd_engine.sockets_set);
  CHECK(k.containerd_engine.sockets ==
        std::vector<std::string>{"/run/k3s/containerd/containerd.sock"});
  CHECK(k.cri_engine.sockets == std::vector<std::string>{"/run/crio/crio.sock"});
  CHECK(k.containerd_namespaces == std::vector<std::string>{"k8s.io", "moby-test"});
  CHECK(!k.disk_metadata);
  CHECK(k.containers_storage == "/srv/storage");

  auto bad = pg::user::config::parse_config(
      "container:\n  engines:\n    containerd: {sockets: {a: 1}}\n", "t.yaml");
  REQUIRE(!bad);
  CHECK(bad.error().key == "container.engines.containerd.sockets");
  auto typo =
      pg::user::config::parse_config("container:\n  engines:\n    containerdd: {}\n", "t.yaml");
  CHECK(!typo);
}
