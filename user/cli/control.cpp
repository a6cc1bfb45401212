#include "user/cli/control.h"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "user/control/socket.h"

namespace pg::user {

namespace {

using nlohmann::json;

struct Common {
  std::string socket = control::kDefaultSocket;
  bool json = false;
};

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("--socket", c.socket, "The daemon's control socket")->capture_default_str();
  cmd->add_flag("--json", c.json, "Print the daemon's answer as JSON");
}

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// A plain text table: columns padded to their widest cell.
void print_table(const std::vector<std::string>& head,
                 const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < r.size(); ++i)
      s += i + 1 < r.size() ? fmt::format("{:<{}}  ", r[i], w[i]) : r[i];
    out << s << "\n";
  };
  line(head);
  for (const auto& r : rows) line(r);
}

// Send a request; print errors (with any rules diagnostics) to stderr.
// Throws CLI::RuntimeError(1) on failure so the exit code is 1.
json request(const Common& c, const std::string& command, json args = json::object()) {
  auto r = control::call(c.socket, control::make_request(command, std::move(args)));
  if (!r) {
    std::cerr << "peregrine: " << r.error() << "\n";
    throw CLI::RuntimeError(1);
  }
  if (!(*r)["ok"].get<bool>()) {
    const json& e = (*r)["error"];
    if (c.json) {
      std::cout << r->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    } else {
      if (e.contains("diagnostics"))
        for (const auto& d : e["diagnostics"]) std::cerr << d.value("text", "") << "\n";
      std::cerr << "peregrine: error[" << e.value("code", "?") << "]: " << e.value("message", "")
                << "\n";
    }
    throw CLI::RuntimeError(1);
  }
  return (*r)["result"];
}

void print_json(const json& j) {
  std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

void print_change(const json& r, const std::string& what) {
  std::cout << what << " (generation " << r.value("generation", 0) << ")\n";
  if (r.contains("syscalls_attached")) {
    std::vector<std::string> s = r["syscalls_attached"];
    std::cerr << fmt::format("note: attached the programs the new rules need: {}\n",
                             fmt::join(s, ", "));
  }
  if (r.contains("syscalls_not_attached")) {
    std::vector<std::string> s = r["syscalls_not_attached"];
    std::cerr << fmt::format("warning: rules also watch {}, which have no program attached: {}\n",
                             fmt::join(s, ", "), r.value("syscalls_not_attached_reason", ""));
  }
  if (r.contains("note")) std::cerr << "note: " << r["note"].get<std::string>() << "\n";
  if (r.contains("warnings"))
    for (const auto& d : r["warnings"]) std::cerr << d.value("text", "") << "\n";
}

}  // namespace

void print_policy_list(const json& result, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : result) {
    std::string files;
    for (const auto& f : p["files"]) files += (files.empty() ? "" : ",") + f.get<std::string>();
    rows.push_back({cell(p["name"]), files, cell(p["rules_enabled"]), cell(p["kernel_slots"]),
                    cell(p["kernel_seen"]), cell(p["kernel_passed"]), cell(p["alerts"])});
  }
  print_table({"NAME", "FILES", "RULES", "KERNEL-SLOTS", "KERNEL-SEEN", "KERNEL-PASSED", "ALERTS"},
              rows, out);
}

void print_policy_show(const json& p, std::ostream& out) {
  out << "policy:   " << cell(p["name"]) << "\n";
  for (const auto& f : p["files"]) out << "file:     " << f.get<std::string>() << "\n";
  out << "rules:    " << cell(p["rules_enabled"]) << " enabled of " << cell(p["rules_total"])
      << "\n";
  out << "kernel:   slots " << cell(p["kernel_slots"]) << ", seen " << cell(p["kernel_seen"])
      << ", passed " << cell(p["kernel_passed"]) << "\n";
  out << "alerts:   " << cell(p["alerts"]) << "\n";
  if (!p["warnings"].empty()) out << "warnings: " << p["warnings"].size() << "\n";
  out << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : p["rules"]) {
    std::string tags;
    for (const auto& t : r["tags"]) tags += (tags.empty() ? "" : ",") + t.get<std::string>();
    std::string state = !r["enabled"].get<bool>() ? "disabled"
                        : r["active"].get<bool>() ? "active"
                                                  : "inactive";
    rows.push_back({cell(r["name"]), cell(r["priority"]), cell(r["source"]), state,
                    cell(r["kernel_passed"]), cell(r["matches"]), tags});
  }
  print_table({"RULE", "PRIORITY", "SOURCE", "STATE", "KERNEL-PASSED", "MATCHES", "TAGS"}, rows,
              out);
}

void print_status(const json& s, std::ostream& out) {
  out << fmt::format("peregrine {} (pid {}), up {:.0f} s\n", cell(s["version"]), cell(s["pid"]),
                     s["uptime_s"].get<double>());
  std::string progs;
  for (const auto& p : s["programs_attached"]) progs += (progs.empty() ? "" : ", ") + cell(p);
  out << "programs: " << s["programs_attached"].size() << " attached (" << progs << ")\n";
  std::string maps;
  for (const auto& m : s["maps"])
    maps += fmt::format("{}{} ({}, {})", maps.empty() ? "" : ", ", cell(m["name"]), cell(m["type"]),
                        cell(m["max_entries"]));
  out << "maps:     " << maps << "\n";
  const auto& e = s["events"];
  out << fmt::format(
      "events:   {} received ({:.1f}/s), {} waiting in the ring buffer, {} decoded, {} "
      "malformed, {} matched\n",
      cell(e["received"]), e["per_s"].get<double>(), cell(e.value("queued", json(0))),
      cell(e["decoded"]), cell(e["malformed"]), cell(e["matched"]));
  std::string drops;
  for (const auto& [k, v] : s["kernel_drops"].items())
    drops += fmt::format("{}{}={}", drops.empty() ? "" : ", ", k, cell(v));
  out << "drops:    " << cell(s["kernel_drops_total"]) << " in the kernel (" << drops << "), "
      << cell(s["outputs"]["lost"]) << " alerts lost in outputs\n";
  const auto& o = s["outputs"];
  out << fmt::format("outputs:  {} alerts queued ({:.1f}/s), queue {}/{}, {} queue drops\n",
                     cell(o["enqueued"]), s["alerts_per_s"].get<double>(), cell(o["queue_depth"]),
                     cell(o["queue_capacity"]), cell(o["queue_drops"]));
  for (const auto& k : o["sinks"])
    out << fmt::format("          {}: {} delivered, {} failed, {} dropped, queue {}/{}\n",
                       cell(k["name"]), cell(k["delivered"]), cell(k["failed"]), cell(k["dropped"]),
                       cell(k["queue_depth"]), cell(k["queue_capacity"]));
  out << fmt::format("policies: {} loaded, {} rules active, generation {}, {} load errors\n",
                     cell(s["policies"]), cell(s["rules_active"]), cell(s["generation"]),
                     cell(s["rule_load_errors"]));
  if (!s["metrics"].get<std::string>().empty()) out << "metrics:  " << cell(s["metrics"]) << "\n";
  // Which rules the kernel filter lets events through for (and how many of
  // those they then matched): the rules that make it leak.
  if (s.contains("kernel_crossings") && !s["kernel_crossings"].empty()) {
    out << "crossings: rules the kernel filter passed the most events for\n";
    for (const auto& c : s["kernel_crossings"])
      out << fmt::format("          {} passed, {} matched: {} ({})\n", cell(c["kernel_passed"]),
                         cell(c["matches"]), cell(c["rule"]), cell(c["policy"]));
  }
}

void add_control_commands(CLI::App& app, CLI::App* rules) {
  // `policy explain` (cli/policy) shares the group, whichever registers first.
  CLI::App* policy = nullptr;
  for (auto* sub : app.get_subcommands({}))
    if (sub->get_name() == "policy") policy = sub;
  if (!policy) {
    policy = app.add_subcommand("policy", "Manage the running daemon's policies; explain rules");
    policy->require_subcommand(1);
  }

  {
    struct Opts : Common {
      std::string name;
      std::vector<std::string> files;
      bool strict = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = policy->add_subcommand(
        "load", "Load rules files as policy NAME (replacing a policy of that name atomically)");
    cmd->add_option("name", o->name, "Policy name")->required();
    cmd->add_option("files", o->files, "Rules files or directories")->required();
    cmd->add_flag("--strict", o->strict,
                  "refuse the load on warnings too (e.g. an uncaptured event type)");
    add_common(cmd, *o);
    cmd->callback([o] {
      std::vector<std::string> abs;
      for (const auto& f : o->files) abs.push_back(std::filesystem::absolute(f).lexically_normal());
      json args{{"name", o->name}, {"files", abs}};
      if (o->strict) args["strict"] = true;
      auto r = request(*o, "policy.load", args);
      if (o->json) return print_json(r);
      print_change(r, fmt::format("policy '{}' {}", o->name,
                                  r.value("replaced", false) ? "replaced" : "loaded"));
    });
  }
  {
    auto o = std::make_shared<Common>();
    auto* cmd = policy->add_subcommand("list", "List the loaded policies");
    add_common(cmd, *o);
    cmd->callback([o] {
      auto r = request(*o, "policy.list");
      if (o->json) return print_json(r);
      print_policy_list(r, std::cout);
    });
  }
  {
    struct Opts : Common {
      std::string name;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = policy->add_subcommand("show", "Show one policy: files, rules, counters");
    cmd->add_option("name", o->name, "Policy name")->required();
    add_common(cmd, *o);
    cmd->callback([o] {
      auto r = request(*o, "policy.show", {{"name", o->name}});
      if (o->json) return print_json(r);
      print_policy_show(r, std::cout);
    });
  }
  {
    struct Opts : Common {
      std::string name;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = policy->add_subcommand("unload", "Unload a policy");
    cmd->add_option("name", o->name, "Policy name")->required();
    add_common(cmd, *o);
    cmd->callback([o] {
      auto r = request(*o, "policy.unload", {{"name", o->name}});
      if (o->json) return print_json(r);
      print_change(r, fmt::format("policy '{}' unloaded", o->name));
    });
  }
  {
    struct Opts : Common {
      std::string name;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = policy->add_subcommand(
        "reload", "Re-read a policy's rules files (every policy's without NAME), atomically");
    cmd->add_option("name", o->name, "Policy name");
    add_common(cmd, *o);
    cmd->callback([o] {
      json args = json::object();
      if (!o->name.empty()) args["name"] = o->name;
      auto r = request(*o, "policy.reload", args);
      if (o->json) return print_json(r);
      print_change(r, o->name.empty() ? std::string("every policy reloaded")
                                      : fmt::format("policy '{}' reloaded", o->name));
    });
  }
  {
    auto o = std::make_shared<Common>();
    auto* cmd = app.add_subcommand(
        "status", "The running daemon: programs, maps, events, drops, outputs, policies");
    add_common(cmd, *o);
    cmd->callback([o] {
      auto r = request(*o, "status");
      if (o->json) return print_json(r);
      print_status(r, std::cout);
    });
  }
  for (bool enable : {true, false}) {
    struct Opts : Common {
      std::string rule, tag;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = rules->add_subcommand(enable ? "enable" : "disable",
                                      enable ? "Enable a rule (or every rule with --tag) in the "
                                               "running daemon"
                                             : "Disable a rule (or every rule with --tag) in the "
                                               "running daemon");
    auto* rule = cmd->add_option("rule", o->rule, "Rule name");
    auto* tag = cmd->add_option("--tag", o->tag, "Every rule carrying this tag");
    rule->excludes(tag);
    tag->excludes(rule);
    add_common(cmd, *o);
    cmd->callback([o, enable] {
      if (o->rule.empty() && o->tag.empty()) {
        std::cerr << "peregrine: name a rule, or a tag with --tag\n";
        throw CLI::RuntimeError(2);
      }
      json args = o->tag.empty() ? json{{"rule", o->rule}} : json{{"tag", o->tag}};
      auto r = request(*o, enable ? "rules.enable" : "rules.disable", args);
      if (o->json) return print_json(r);
      print_change(r, fmt::format("{} {} '{}'; {} rules active", enable ? "enabled" : "disabled",
                                  o->tag.empty() ? "rule" : "rules tagged",
                                  o->tag.empty() ? o->rule : o->tag, cell(r["rules_active"])));
    });
  }
}

}  // namespace pg::user
