#include "user/container/disk.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "user/container/docker_api.h"
#include "user/container/oci_spec.h"
#include "user/timestamp.h"

namespace pg::user::container {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr std::uintmax_t kMaxFile = 64u << 20;  // containers.json of a busy host: a few MiB

std::optional<std::string> slurp(const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec || size > kMaxFile) return std::nullopt;
  std::ifstream in(p);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string str_at(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void add_source(Info& info, std::string_view s) {
  if (!info.source.empty()) info.source += ',';
  info.source += s;
}

// <root>/<id>/state.json, or <root>/<namespace>/<id>/state.json.
std::optional<fs::path> find_state(const std::string& root, std::string_view id,
                                   bool* under_namespace) {
  std::error_code ec;
  fs::path direct = fs::path(root) / id / "state.json";
  if (fs::exists(direct, ec)) {
    *under_namespace = false;
    return direct;
  }
  for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    fs::path p = it->path() / id / "state.json";
    if (fs::exists(p, ec)) {
      *under_namespace = true;
      return p;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string bundle_from_runc_state(std::string_view state_json) {
  Json j = Json::parse(state_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  auto c = j.find("config");
  if (c == j.end() || !c->is_object()) return {};
  auto labels = c->find("labels");
  if (labels == c->end() || !labels->is_array()) return {};
  for (const auto& l : *labels)
    if (l.is_string()) {
      std::string s = l.get<std::string>();
      if (s.starts_with("bundle=")) return s.substr(7);
    }
  return {};
}

bool apply_containers_storage(std::string_view containers_json, std::string_view images_json,
                              Info& info) {
  Json cs = Json::parse(containers_json, nullptr, false);
  if (cs.is_discarded() || !cs.is_array()) return false;
  const Json* entry = nullptr;
  for (const auto& c : cs)
    if (c.is_object() && str_at(c, "id") == info.id) {
      entry = &c;
      break;
    }
  if (!entry) return false;
  // "metadata" is a JSON document inside a string: podman's
  // {"image-name": ..., "image-id": ..., "name": ..., "created-at": ...}.
  Json md = Json::parse(str_at(*entry, "metadata"), nullptr, false);
  if (!md.is_object()) md = Json::object();
  if (info.name.empty()) {
    info.name = str_at(md, "name");
    if (auto n = entry->find("names"); info.name.empty() && n != entry->end() && n->is_array() &&
                                       !n->empty() && (*n)[0].is_string())
      info.name = (*n)[0].get<std::string>();
  }
  if (info.image.empty()) info.image = str_at(md, "image-name");
  std::string image_id = str_at(*entry, "image");
  if (image_id.empty()) image_id = str_at(md, "image-id");
  if (info.image_id.empty()) info.image_id = image_id;
  if (info.created_ns == 0)
    if (auto t = md.find("created-at"); t != md.end() && t->is_number_integer())
      info.created_ns = seconds_to_ns(t->get<int64_t>()).value_or(0);
  Json is = Json::parse(images_json, nullptr, false);
  if (is.is_array() && !image_id.empty())
    for (const auto& i : is)
      if (i.is_object() && str_at(i, "id") == image_id) {
        if (info.image_digest.empty()) info.image_digest = str_at(i, "digest");
        // An image run by id has no name of its own in containers.json.
        if (auto n = i.find("names"); info.image.empty() && n != i.end() && n->is_array() &&
                                      !n->empty() && (*n)[0].is_string())
          info.image = (*n)[0].get<std::string>();
        break;
      }
  return true;
}

std::optional<Info> read_from_disk(std::string_view id, const DiskOptions& o) {
  if (id.empty() || id.find('/') != std::string_view::npos || id == "." || id == "..")
    return std::nullopt;
  Info info;
  info.id = std::string(id);
  bool found = false, containerd_shim = false;
  for (const auto& root : o.runc_roots) {
    bool under_ns = false;
    auto state_path = find_state(root, id, &under_ns);
    if (!state_path) continue;
    auto state = slurp(*state_path);
    std::string bundle = state ? bundle_from_runc_state(*state) : std::string();
    if (bundle.empty()) continue;
    auto spec = slurp(fs::path(bundle) / "config.json");
    if (spec && apply_oci_spec(*spec, info)) {
      add_source(info, "oci-state");
      found = true;
      containerd_shim = under_ns;
      break;
    }
  }
  if (!o.storage_root.empty()) {
    auto cs = slurp(fs::path(o.storage_root) / "overlay-containers" / "containers.json");
    auto is = slurp(fs::path(o.storage_root) / "overlay-images" / "images.json");
    // Kubernetes' name for the container beats containers-storage's
    // generated one (CRI-O's "k8s_<container>_<pod>_...").
    if (const std::string* n = info.label("io.kubernetes.container.name")) info.name = *n;
    if (cs && apply_containers_storage(*cs, is ? *is : std::string_view(), info)) {
      add_source(info, "containers-storage");
      found = true;
    }
  }
  if (!found) return std::nullopt;
  if (info.name.empty()) {
    if (const std::string* n = info.label("io.kubernetes.container.name"))
      info.name = *n;
    else if (containerd_shim)
      info.name = info.id;  // plain containerd: the id is the name it was given
  }
  auto ref = parse_image_ref(info.image);
  info.image_repository = ref.repository;
  info.image_tag = ref.tag;
  if (info.image_digest.empty()) info.image_digest = ref.digest;
  return info;
}

}  // namespace pg::user::container
