// containerd's own API: gRPC on its Unix socket, the client generated at
// build time from the .proto files containerd ships (see
// scripts/gen-containerd-api.sh). Kubernetes' CRI plugin keeps its
// containers there too (namespace k8s.io), with the pod in their labels and
// in the OCI spec's annotations, so one client serves `ctr`, nerdctl and
// kubelet's containers alike.
//
// Every call is bounded by the client's timeout; failures are ApiErrors of
// the same kinds the Docker API client reports, so they are counted and
// warned about the same way. gRPC stays inside the .cpp: this header is
// cheap to include.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "user/container/docker_api.h"
#include "user/container/info.h"

namespace pg::user::container {

// What containerd's API says about one container, before it becomes an
// Info (kept apart so tests can build one without a containerd).
struct ContainerdRecord {
  std::string id;
  std::string ns;  // the containerd namespace it lives in
  std::string image;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by key
  std::string spec_json;  // the OCI spec containerd stores (JSON), "" if none
  int64_t created_ns = 0;
};

// The Info for a record: name from the CRI label (else nerdctl's, else the
// id), image split into repository/tag/digest, labels, and what the spec
// adds (oci_spec.h).
Info info_from_containerd(const ContainerdRecord& r);

class ContainerdClient {
 public:
  ContainerdClient(std::string socket, std::chrono::milliseconds timeout);
  ~ContainerdClient();
  ContainerdClient(const ContainerdClient&) = delete;
  ContainerdClient& operator=(const ContainerdClient&) = delete;

  const std::string& socket() const { return socket_; }

  // The container `id` in namespace `ns`; Failure::NotFound when it is not
  // there.
  std::expected<ContainerdRecord, ApiError> get(const std::string& ns, const std::string& id);
  // The digest of the image named `name` in `ns` ("sha256:…").
  std::expected<std::string, ApiError> image_digest(const std::string& ns, const std::string& name);
  // The ids of every container in `ns`.
  std::expected<std::vector<std::string>, ApiError> list(const std::string& ns);

  // Follow containerd's container events (every namespace) and call
  // `on_event` for each: action "create", "update" or "delete". Returns
  // when the stream ends, on an error, or after cancel().
  std::expected<void, ApiError> watch(
      const std::function<void(const std::string& ns, const RuntimeEvent&)>& on_event);
  // Ends a watch() in progress (from another thread).
  void cancel();

 private:
  struct Impl;
  std::string socket_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pg::user::container
