#include "user/cli/rules.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "policy/lowering.h"
#include "policy/ruleset.h"
#include "user/config/config.h"
#include "user/syscalls/bpf_loader.h"

namespace pg::user {
namespace {

using nlohmann::json;
namespace pp = pg::policy;

json to_json(const pp::Diagnostic& d) {
  json j{{"code", pp::code_name(d.code)},
         {"severity", d.is_error() ? "error" : "warning"},
         {"item_type", pp::item_type_name(d.item_type)},
         {"item_name", d.item_name},
         {"file", d.loc.file},
         {"line", d.loc.line},
         {"column", d.loc.col},
         {"message", d.message}};
  if (!d.excerpt.empty()) j["excerpt"] = d.excerpt;
  return j;
}

void print_diagnostics(const pp::LoadResult& r, std::ostream& err) {
  for (const auto& d : r.diagnostics.all()) err << pp::render_text(d) << "\n";
}

std::vector<std::string> default_rules_files() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("rules", ec))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml")
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

json rule_json(const pp::Rule& r) {
  return json{{"name", r.name},
              {"priority", pp::priority_name(r.priority)},
              {"source", pp::source_name(r.source)},
              {"enabled", r.enabled},
              {"tags", r.tags}};
}

std::string arg_form(const pp::FieldInfo& f) {
  switch (f.arg) {
    case pp::ArgKind::None:
      return "";
    case pp::ArgKind::Index:
      return f.arg_required ? "[N]" : "[N]?";
    case pp::ArgKind::Key:
      return f.arg_required ? "[KEY]" : "[KEY]?";
    case pp::ArgKind::IndexOrKey:
      return f.arg_required ? "[N|NAME]" : "[N|NAME]?";
  }
  return "";
}

std::string sources_of(const pp::FieldInfo& f) {
  std::vector<std::string> s;
  if (f.sources & pp::kSrcSyscall) s.emplace_back("syscall");
  if (f.sources & pp::kSrcK8sAudit) s.emplace_back("k8s_audit");
  return join(s, ",");
}

// The kernel fields the lowering judges a comparison on `f` with (empty:
// userspace only), by name; "image" when userspace judges it once per exec
// for the kernel.
std::vector<std::string> kernel_fields(const pp::FieldInfo& f) {
  std::vector<std::string> out;
  for (int k : pp::kernel_fields_of(f.name)) out.emplace_back(pp::kernel_field_name(k));
  if (f.image) out.emplace_back(pp::kernel_field_name(PG_FF_IMAGE));
  return out;
}

void throw_if_failed(int code) {
  if (code != 0) throw CLI::RuntimeError(code);
}

}  // namespace

// Files and directories expand as `run` expands them (*.yaml and *.yml of
// a directory, in name order); nullopt after reporting a missing path.
std::optional<std::vector<std::string>> expand_or_report(const std::vector<std::string>& paths,
                                                         std::ostream& err) {
  auto files = config::expand_rules_paths(paths);
  if (!files) {
    err << files.error().to_string() << "\n";
    return std::nullopt;
  }
  if (files->empty()) {
    err << "no rules files (*.yaml, *.yml) in " << join(paths, ", ") << "\n";
    return std::nullopt;
  }
  return std::move(*files);
}

std::optional<pp::LoadResult> load_rules_or_report(std::vector<std::string> paths,
                                                   std::ostream& err) {
  if (paths.empty()) paths = default_rules_files();
  if (paths.empty()) {
    err << "no rules files given (use -r FILE) and none found in rules/\n";
    return std::nullopt;
  }
  auto files = expand_or_report(paths, err);
  if (!files) return std::nullopt;
  auto r = pp::load_rules(*files, rules_load_options());
  if (!r.ok()) {
    print_diagnostics(r, err);
    err << "rules did not load: " << r.diagnostics.error_count() << " error(s)\n";
    return std::nullopt;
  }
  return r;
}

int run_rules_validate(const ValidateOptions& o, std::ostream& out, std::ostream& err) {
  auto expanded = expand_or_report(o.files, err);
  if (!expanded) return 1;
  const std::vector<std::string>& files = *expanded;
  auto r = pp::load_rules(files, rules_load_options());
  bool failed = !r.ok() || (o.strict && r.diagnostics.warning_count() > 0);
  if (o.json) {
    json diags = json::array();
    for (const auto& d : r.diagnostics.all()) diags.push_back(to_json(d));
    out << json{{"files", files},
                {"ok", !failed},
                {"strict", o.strict},
                {"errors", r.diagnostics.error_count()},
                {"warnings", r.diagnostics.warning_count()},
                {"rules", r.ruleset.rules.size()},
                {"macros", r.ruleset.macros.size()},
                {"lists", r.ruleset.lists.size()},
                {"diagnostics", diags}}
               .dump(2)
        << "\n";
  } else {
    print_diagnostics(r, err);
    out << (failed ? "FAILED" : "OK") << ": " << files.size() << " file(s), "
        << r.ruleset.rules.size() << " rules, " << r.ruleset.macros.size() << " macros, "
        << r.ruleset.lists.size() << " lists; " << r.diagnostics.error_count() << " error(s), "
        << r.diagnostics.warning_count() << " warning(s)"
        << (o.strict && r.ok() && failed ? " (warnings fail with --strict)" : "") << "\n";
  }
  return failed ? 1 : 0;
}

int run_rules_list(const ListOptions& o, std::ostream& out, std::ostream& err) {
  auto r = load_rules_or_report(o.files, err);
  if (!r) return 1;
  if (o.json) {
    json rules = json::array();
    for (const auto& x : r->ruleset.rules) rules.push_back(rule_json(x));
    out << rules.dump(2) << "\n";
    return 0;
  }
  std::size_t w = 4;
  for (const auto& x : r->ruleset.rules) w = std::max(w, x.name.size());
  auto pad = [](std::string s, std::size_t n) {
    s.resize(std::max(n, s.size()), ' ');
    return s;
  };
  out << pad("NAME", w) << "  " << pad("PRIORITY", 13) << "  " << pad("SOURCE", 9) << "  "
      << pad("ENABLED", 7) << "  TAGS\n";
  for (const auto& x : r->ruleset.rules)
    out << pad(x.name, w) << "  " << pad(std::string(pp::priority_name(x.priority)), 13) << "  "
        << pad(std::string(pp::source_name(x.source)), 9) << "  "
        << pad(x.enabled ? "yes" : "no", 7) << "  " << join(x.tags, ",") << "\n";
  return 0;
}

int run_rules_describe(const DescribeOptions& o, std::ostream& out, std::ostream& err) {
  auto r = load_rules_or_report(o.files, err);
  if (!r) return 1;
  const pp::Rule* x = r->ruleset.find(o.name);
  if (!x) {
    err << "no rule named '" << o.name << "' in the loaded files (see `peregrine rules list`)\n";
    return 1;
  }
  json exceptions = json::array();
  for (const auto& e : x->exceptions) {
    json values = json::array();
    for (const auto& row : e.values) {
      json t = json::array();
      for (const auto& v : row) t.push_back(v.is_list ? json(v.items) : json(v.items.at(0)));
      values.push_back(e.fields_is_list ? t : t.at(0));
    }
    exceptions.push_back(json{{"name", e.name},
                              {"fields", e.fields_is_list ? json(e.fields) : json(e.fields.at(0))},
                              {"comps", e.comps_is_list   ? json(e.comps)
                                        : e.comps.empty() ? json(nullptr)
                                                          : json(e.comps.at(0))},
                              {"values", values}});
  }
  std::string evttypes = x->source != pp::EventSource::Syscall ? "(not a syscall rule)"
                         : x->event_types.all                  ? "all"
                                                               : join(x->event_types.names, " ");
  if (o.json) {
    json j = rule_json(*x);
    j["desc"] = x->desc;
    j["file"] = x->loc.file;
    j["line"] = x->loc.line;
    j["condition"] = x->condition_text;
    j["expanded_condition"] = pp::to_string(x->condition);
    j["output"] = x->output.text;
    j["exceptions"] = exceptions;
    j["event_types"] = x->event_types.all ? json("all") : json(x->event_types.names);
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "rule:        " << x->name << "\n"
      << "defined at:  " << pp::to_string(x->loc) << "\n"
      << "priority:    " << pp::priority_name(x->priority) << "\n"
      << "source:      " << pp::source_name(x->source) << "\n"
      << "enabled:     " << (x->enabled ? "yes" : "no") << "\n"
      << "tags:        " << join(x->tags, ", ") << "\n"
      << "event types: " << evttypes << "\n"
      << "description: " << x->desc << "\n"
      << "condition:   " << x->condition_text << "\n"
      << "expanded:    " << pp::to_string(x->condition) << "\n"
      << "output:      " << x->output.text << "\n";
  if (!x->exceptions.empty()) {
    out << "exceptions:\n";
    for (const auto& e : exceptions) out << "  " << e.dump() << "\n";
  }
  return 0;
}

int run_fields(const FieldsOptions& o, std::ostream& out, std::ostream& err) {
  std::optional<pp::EventSource> src;
  if (o.source) {
    src = pp::source_from_name(*o.source);
    if (!src) {
      err << "unknown source '" << *o.source << "' (use syscall or k8s_audit)\n";
      return 1;
    }
  }
  json all = json::array();
  const auto& reg = pp::FieldRegistry::instance();
  for (int id = 0; id < int(reg.all().size()); ++id) {
    const auto& f = reg.at(id);
    if (src && !f.in_source(*src)) continue;
    // The sources (of those asked for) this build has no extractor for.
    std::vector<std::string> missing;
    for (auto s : {pp::EventSource::Syscall, pp::EventSource::K8sAudit})
      if (f.in_source(s) && (!src || *src == s) && !reg.extracted(id, s))
        missing.emplace_back(pp::source_name(s));
    if (o.json) {
      all.push_back(json{{"name", f.name},
                         {"type", pp::field_type_name(f.type)},
                         {"arg", arg_form(f)},
                         {"sources", sources_of(f)},
                         {"kernel", kernel_fields(f)},
                         {"extracted", missing.empty()},
                         {"unavailable_for", missing},
                         {"desc", f.desc}});
    } else {
      std::string name = std::string(f.name) + arg_form(f);
      name.resize(std::max<std::size_t>(name.size(), 42), ' ');
      std::string type(pp::field_type_name(f.type));
      type.resize(8, ' ');
      const auto kernel = kernel_fields(f);
      out << name << " " << type << " " << f.desc
          << (kernel.empty() ? "" : " [kernel: " + join(kernel, ", ") + "]")
          << (missing.empty() ? "" : " [no extractor in this build: always <NA>]") << "\n";
    }
  }
  if (o.json) out << all.dump(2) << "\n";
  return 0;
}

CLI::App* add_rules_commands(CLI::App& app) {
  auto* rules = app.add_subcommand(
      "rules",
      "Check, list and describe rules files; enable or disable rules in the running daemon");
  rules->require_subcommand(1);

  auto v = std::make_shared<ValidateOptions>();
  auto* validate = rules->add_subcommand("validate", "Load rules files and report every problem");
  validate
      ->add_option("files", v->files,
                   "rules files or directories (their *.yaml and *.yml, in name order), "
                   "loaded in order")
      ->required();
  validate->add_flag("--strict", v->strict, "fail on warnings too");
  validate->add_flag("--json", v->json, "machine-readable result on stdout");
  validate->callback([v] { throw_if_failed(run_rules_validate(*v, std::cout, std::cerr)); });

  auto l = std::make_shared<ListOptions>();
  auto* list = rules->add_subcommand("list", "List rules: name, priority, source, enabled, tags");
  list->add_option("-r,--rules", l->files,
                   "rules file or directory (repeatable; default rules/*.yaml)");
  list->add_flag("--json", l->json, "JSON output");
  list->callback([l] { throw_if_failed(run_rules_list(*l, std::cout, std::cerr)); });

  auto d = std::make_shared<DescribeOptions>();
  auto* describe =
      rules->add_subcommand("describe", "Show a rule's expanded condition, output and exceptions");
  describe->add_option("name", d->name, "rule name")->required();
  describe->add_option("-r,--rules", d->files,
                       "rules file or directory (repeatable; default rules/*.yaml)");
  describe->add_flag("--json", d->json, "JSON output");
  describe->callback([d] { throw_if_failed(run_rules_describe(*d, std::cout, std::cerr)); });

  auto f = std::make_shared<FieldsOptions>();
  auto* fields = app.add_subcommand("fields", "List the fields conditions and outputs may use");
  fields->add_option("--source", f->source, "syscall or k8s_audit");
  fields->add_flag("--json", f->json, "JSON output");
  fields->callback([f] { throw_if_failed(run_fields(*f, std::cout, std::cerr)); });
  return rules;
}

}  // namespace pg::user
