// Real containers for end-to-end tests: Debian's podman with runc and the
// cgroupfs manager, a busybox image imported from busybox-static (built
// once per machine), and `podman system service` as the Docker-API
// endpoint Peregrine asks for names and images.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "harness.h"

namespace pg::e2e::podman {

inline const std::string kImage = "localhost/pg-e2e-busybox";
inline const std::string kPodman = "podman --runtime runc --cgroup-manager=cgroupfs";
// `podman run -d` with no network and the ulimits runc can set here.
inline const std::string kRun = kPodman +
                                " run -d --network none --ulimit nofile=1024:1024 "
                                "--ulimit nproc=1024:1024 ";

// kImage from busybox-static and its applet links, as a one-layer image.
void ensure_busybox_image();

// `podman system service` on a socket of our own; stopped and removed by
// the destructor, with every container started through start().
struct Api {
  Api();
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;
  // Start a container that sleeps, with more `podman run` flags; its full id.
  std::string start(const std::string& name, const std::string& flags = "");

  TempDir dir;
  std::string socket;
  pid_t pid = -1;
  std::vector<std::string> names;
};

}  // namespace pg::e2e::podman
