#include "user/container/containerd_api.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "github.com/containerd/containerd/api/events/container.pb.h"
#include "github.com/containerd/containerd/api/services/containers/v1/containers.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/events/v1/events.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/images/v1/images.grpc.pb.h"
#include "user/container/oci_spec.h"

namespace pg::user::container {

namespace cv1 = containerd::services::containers::v1;
namespace iv1 = containerd::services::images::v1;
namespace ev1 = containerd::services::events::v1;

namespace {

std::unexpected<ApiError> fail(Failure f, std::string msg) {
  return std::unexpected(ApiError{f, std::move(msg)});
}

// gRPC says UNAVAILABLE both for "nobody listens" and for "something
// listens but does not speak HTTP/2"; a plain connect tells them apart.
bool accepts_connections(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

struct ContainerdClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<cv1::Containers::Stub> containers;
  std::unique_ptr<iv1::Images::Stub> images;
  std::unique_ptr<ev1::Events::Stub> events;
  std::mutex mu;
  grpc::ClientContext* watching = nullptr;  // the watch() in progress
  bool cancelled = false;
};

ContainerdClient::ContainerdClient(std::string socket, std::chrono::milliseconds timeout)
    : socket_(std::move(socket)), timeout_(timeout), impl_(std::make_unique<Impl>()) {
  grpc::ChannelArguments args;
  // A restarted containerd is found again within seconds, not gRPC's
  // default two minutes of back-off.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetMaxReceiveMessageSize(16 << 20);
  impl_->channel =
      grpc::CreateCustomChannel("unix://" + socket_, grpc::InsecureChannelCredentials(), args);
  impl_->containers = cv1::Containers::NewStub(impl_->channel);
  impl_->images = iv1::Images::NewStub(impl_->channel);
  impl_->events = ev1::Events::NewStub(impl_->channel);
}

ContainerdClient::~ContainerdClient() = default;

namespace {

void prepare(grpc::ClientContext& ctx, const std::string& ns, std::chrono::milliseconds timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  ctx.AddMetadata("containerd-namespace", ns);
}

ApiError to_error(const grpc::Status& st, const std::string& socket, std::string_view what) {
  std::string msg = fmt::format("{}: {}", what, st.error_message());
  switch (st.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return {Failure::NotFound, msg};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return {Failure::Timeout, fmt::format("{}: no answer in time", what)};
    case grpc::StatusCode::UNAVAILABLE:
      // A peer that accepts and never speaks fails the HTTP/2 handshake
      // by timing out ("... timed out before receiving SETTINGS frame").
      if (st.error_message().find("timed out") != std::string::npos) return {Failure::Timeout, msg};
      return {accepts_connections(socket) ? Failure::BadResponse : Failure::Absent, msg};
    default:
      return {Failure::BadResponse, msg};
  }
}

}  // namespace

std::expected<ContainerdRecord, ApiError> ContainerdClient::get(const std::string& ns,
                                                                const std::string& id) {
  grpc::ClientContext ctx;
  prepare(ctx, ns, timeout_);
  cv1::GetContainerRequest req;
  req.set_id(id);
  cv1::GetContainerResponse resp;
  grpc::Status st = impl_->containers->Get(&ctx, req, &resp);
  if (!st.ok()) return std::unexpected(to_error(st, socket_, "containers.Get"));
  const cv1::Container& c = resp.container();
  if (c.id() != id) return fail(Failure::BadResponse, "containers.Get answered another container");
  ContainerdRecord r;
  r.id = c.id();
  r.ns = ns;
  r.image = c.image();
  for (const auto& [k, v] : c.labels()) r.labels.emplace_back(k, v);
  std::sort(r.labels.begin(), r.labels.end());
  if (c.has_spec()) r.spec_json = c.spec().value();
  if (c.has_created_at())
    r.created_ns = c.created_at().seconds() * 1'000'000'000 + c.created_at().nanos();
  return r;
}

std::expected<std::string, ApiError> ContainerdClient::image_digest(const std::string& ns,
                                                                    const std::string& name) {
  grpc::ClientContext ctx;
  prepare(ctx, ns, timeout_);
  iv1::GetImageRequest req;
  req.set_name(name);
  iv1::GetImageResponse resp;
  grpc::Status st = impl_->images->Get(&ctx, req, &resp);
  if (!st.ok()) return std::unexpected(to_error(st, socket_, "images.Get"));
  return resp.image().target().digest();
}

std::expected<std::vector<std::string>, ApiError> ContainerdClient::list(const std::string& ns) {
  grpc::ClientContext ctx;
  prepare(ctx, ns, timeout_);
  cv1::ListContainersRequest req;
  cv1::ListContainersResponse resp;
  grpc::Status st = impl_->containers->List(&ctx, req, &resp);
  if (!st.ok()) return std::unexpected(to_error(st, socket_, "containers.List"));
  std::vector<std::string> ids;
  for (const auto& c : resp.containers()) ids.push_back(c.id());
  return ids;
}

std::expected<void, ApiError> ContainerdClient::watch(
    const std::function<void(const std::string& ns, const RuntimeEvent&)>& on_event) {
  grpc::ClientContext ctx;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->cancelled) return {};
    impl_->watching = &ctx;
  }
  struct Clear {
    Impl* impl;
    ~Clear() {
      std::lock_guard lock(impl->mu);
      impl->watching = nullptr;
    }
  } clear{impl_.get()};
  ev1::SubscribeRequest req;
  req.add_filters("topic~=\"^/containers/\"");
  auto reader = impl_->events->Subscribe(&ctx, req);
  ev1::Envelope env;
  while (reader->Read(&env)) {
    std::string_view topic = env.topic();
    if (!topic.starts_with("/containers/")) continue;
    // ContainerCreate, ContainerUpdate and ContainerDelete all carry the
    // id as field 1; the smallest of them reads it from any.
    containerd::events::ContainerDelete ev;
    if (!ev.ParseFromString(env.event().value()) || ev.id().empty()) continue;
    on_event(env.namespace_(), RuntimeEvent{ev.id(), std::string(topic.substr(12))});
  }
  grpc::Status st = reader->Finish();
  if (st.ok() || st.error_code() == grpc::StatusCode::CANCELLED) return {};
  return std::unexpected(to_error(st, socket_, "events.Subscribe"));
}

void ContainerdClient::cancel() {
  std::lock_guard lock(impl_->mu);
  impl_->cancelled = true;
  if (impl_->watching) impl_->watching->TryCancel();
}

Info info_from_containerd(const ContainerdRecord& r) {
  Info info;
  info.id = r.id;
  info.image = r.image;
  info.labels = r.labels;
  info.created_ns = r.created_ns;
  if (!r.spec_json.empty()) apply_oci_spec(r.spec_json, info);
  // kubelet names the container in a label; nerdctl keeps its --name in
  // one; a container made with `ctr run` is known by its id.
  if (const std::string* n = info.label("io.kubernetes.container.name"))
    info.name = *n;
  else if (const std::string* n = info.label("nerdctl/name"))
    info.name = *n;
  else
    info.name = r.id;
  auto ref = parse_image_ref(info.image);
  info.image_repository = ref.repository;
  info.image_tag = ref.tag;
  info.image_digest = ref.digest;
  return info;
}

}  // namespace pg::user::container
