#include "user/cli/policy.h"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "policy/filter_tables.h"
#include "user/cli/rules.h"
#include "user/control/protocol.h"
#include "user/control/socket.h"
#include "user/engine/extract.h"
#include "user/syscalls/kernel_filter.h"

namespace pg::user {
namespace pp = pg::policy;

namespace {

std::vector<size_t> slots_of(const pg_slots& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < PG_SLOTS; ++i)
    if (pp::slot_test(s, i)) out.push_back(i);
  return out;
}

// Seen per slot: events of the syscalls the slot is interested in.
uint64_t slot_seen(const pp::FilterTables& t, const FilterCounters& c, size_t slot) {
  uint64_t n = 0;
  for (uint32_t k = 0; k < PG_FK__COUNT; ++k)
    if (pp::slot_test(t.kind[k], slot)) n += c.kinds[k].seen;
  return n;
}

std::vector<std::string> kinds_of(const pp::FilterTables& t, size_t slot) {
  std::vector<std::string> out;
  for (uint32_t k = 0; k < PG_FK__COUNT; ++k)
    if (pp::slot_test(t.kind[k], slot)) out.emplace_back(pp::filter_kind_name(k));
  return out;
}

// Per rule name, what a running daemon counted: events its kernel filter
// let through for the rule, and the rule's matches (over every loaded
// policy; a name loaded twice adds up). Empty when no daemon answers.
struct RuleCrossings {
  uint64_t kernel_passed = 0, matches = 0;
};
std::map<std::string, RuleCrossings> daemon_crossings(const std::string& socket) {
  std::map<std::string, RuleCrossings> out;
  if (socket.empty() || !std::filesystem::exists(socket)) return out;
  auto list = control::call(socket, control::make_request("policy.list", nlohmann::json::object()));
  if (!list || !(*list)["ok"].get<bool>()) return out;
  for (const auto& p : (*list)["result"]) {
    auto show = control::call(socket, control::make_request("policy.show", {{"name", p["name"]}}));
    if (!show || !(*show)["ok"].get<bool>()) continue;
    for (const auto& r : (*show)["result"]["rules"]) {
      auto& c = out[r["name"].get<std::string>()];
      c.kernel_passed += r.value("kernel_passed", uint64_t{0});
      c.matches += r.value("matches", uint64_t{0});
    }
  }
  return out;
}

}  // namespace

int run_policy_explain(const ExplainOptions& o, std::ostream& out, std::ostream& err) {
  auto loaded = load_rules_or_report(o.files, err);
  if (!loaded) return 1;
  const auto& rules = loaded->ruleset.rules;
  if (!o.rule.empty() && !loaded->ruleset.find(o.rule)) {
    err << fmt::format(
        "no rule named '{}' in the given files (peregrine rules list -r ... "
        "shows the names)\n",
        o.rule);
    return 1;
  }
  const pp::FilterTables t =
      pp::build_filter_tables(loaded->ruleset, engine::host_lowering_options());
  std::optional<FilterCounters> live;
  if (!o.pin_dir.empty()) {
    auto c = read_pinned_counters(o.pin_dir);
    if (c) live = *c;
  }

  const auto crossings = daemon_crossings(o.socket);

  nlohmann::json all = nlohmann::json::array();
  size_t syscall_rules = 0, sharp = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    const auto& r = rules[i];
    if (r.source != pp::EventSource::Syscall) continue;
    ++syscall_rules;
    const auto& h = t.halves[i];
    if (h.sharper_than_type()) ++sharp;
    if (!o.rule.empty() && r.name != o.rule) continue;

    std::vector<size_t> slots = slots_of(t.rule_slots[i]);
    nlohmann::json jr{{"rule", r.name},
                      {"sharper_than_event_type", h.sharper_than_type()},
                      {"coarsened", h.coarsened},
                      {"residue", h.residue}};
    nlohmann::json jc = nlohmann::json::array();
    for (size_t s : slots) {
      nlohmann::json e{
          {"slot", s}, {"syscalls", kinds_of(t, s)}, {"clause", pp::to_string(t.slots[s].clause)}};
      if (live) {
        e["seen"] = slot_seen(t, *live, s);
        e["passed"] = live->slot_passed[s];
      }
      jc.push_back(e);
    }
    jr["kernel_clauses"] = jc;
    if (auto it = crossings.find(r.name); it != crossings.end()) {
      jr["kernel_passed"] = it->second.kernel_passed;
      jr["matches"] = it->second.matches;
    }
    if (std::find(t.collapsed.begin(), t.collapsed.end(), i) != t.collapsed.end())
      jr["collapsed_to_event_types"] = true;
    if (o.json) {
      all.push_back(jr);
      continue;
    }
    out << "Rule: " << r.name << "\n";
    if (slots.empty()) out << "  kernel: no filtered syscall (judged in userspace only)\n";
    for (const auto& e : jc) {
      out << fmt::format("  slot {:>3} [{}]: {}", e["slot"].get<size_t>(),
                         fmt::join(e["syscalls"].get<std::vector<std::string>>(), ","),
                         e["clause"].get<std::string>());
      if (live)
        out << fmt::format("  (seen {}, passed {})", e["seen"].get<uint64_t>(),
                           e["passed"].get<uint64_t>());
      out << "\n";
    }
    if (jr.contains("kernel_passed"))
      out << fmt::format("  running daemon: the kernel passed {} events for it, {} matched\n",
                         jr["kernel_passed"].get<uint64_t>(), jr["matches"].get<uint64_t>());
    if (h.coarsened) out << "  (the clause budget made this half coarser)\n";
    if (jr.contains("collapsed_to_event_types"))
      out << "  (collapsed to its event types to fit " << PG_SLOTS << " slots)\n";
    out << "  userspace residue:" << (h.residue.empty() ? " none" : "") << "\n";
    for (const auto& s : h.residue) out << "    " << s << "\n";
  }
  if (o.json) {
    out << nlohmann::json{{"rules", all},
                          {"slots_used", t.slots_used()},
                          {"syscall_rules", syscall_rules},
                          {"sharper_than_event_type", sharp},
                          {"live", live.has_value()}}
               .dump(2)
        << "\n";
  } else if (o.rule.empty()) {
    out << fmt::format(
        "{} of {} syscall rules have a kernel half sharper than their event "
        "types; {} of {} slots used{}\n",
        sharp, syscall_rules, t.slots_used(), PG_SLOTS,
        live ? "" : "; no running daemon's counters (none pinned)");
  }
  return 0;
}

CLI::App* policy_command(CLI::App& app) {
  for (auto* sub : app.get_subcommands({}))
    if (sub->get_name() == "policy") return sub;
  auto* policy = app.add_subcommand("policy", "Inspect how rules run in the kernel and userspace");
  policy->require_subcommand(1);
  return policy;
}

void add_policy_explain_command(CLI::App& app) {
  auto o = std::make_shared<ExplainOptions>();
  auto* cmd = policy_command(app)->add_subcommand(
      "explain", "Show each rule's kernel clauses, userspace residue and live kernel counters");
  cmd->add_option("rule", o->rule, "one rule (default: every rule)");
  cmd->add_option("-r,--rules", o->files, "rules file (repeatable; default rules/*.yaml)");
  cmd->add_option("--pin-dir", o->pin_dir, "where a running daemon pinned its filter maps")
      ->capture_default_str();
  cmd->add_option("--socket", o->socket,
                  "a running daemon's control socket, for each rule's crossings (if it answers)")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "JSON output");
  cmd->callback([o] {
    if (int rc = run_policy_explain(*o, std::cout, std::cerr); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pg::user
