// /metrics: the Prometheus text format (0.0.4), checked by a strict parser
// of that format rather than by comparing strings.
#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "user/metrics/exposition.h"

using namespace pg::user::metrics;

namespace {

struct Parsed {
  std::map<std::string, std::string> type;                           // family → type
  std::map<std::string, double> series;                              // name{k="v",...} → value
  std::map<std::string, std::map<std::string, std::string>> labels;  // series → labels
  std::vector<std::string> errors;
};

bool valid_metric_name(const std::string& s) {
  static const std::regex re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  return std::regex_match(s, re);
}
bool valid_label_name(const std::string& s) {
  static const std::regex re("[a-zA-Z_][a-zA-Z0-9_]*");
  return std::regex_match(s, re) && !s.starts_with("__");
}

// Parses the exposition format; every violation is recorded in `errors`.
Parsed parse(const std::string& text) {
  Parsed p;
  auto err = [&](size_t line, const std::string& m) {
    p.errors.push_back("line " + std::to_string(line) + ": " + m);
  };
  if (text.empty() || text.back() != '\n') p.errors.push_back("text must end with a newline");
  std::istringstream in(text);
  std::string line, current;  // current: the family whose lines we are in
  std::set<std::string> closed, helped;
  size_t n = 0;
  auto enter = [&](const std::string& fam, size_t ln) {
    if (fam == current) return;
    if (closed.count(fam)) err(ln, "family " + fam + " is split");
    if (!current.empty()) closed.insert(current);
    current = fam;
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) {
      err(n, "empty line");
      continue;
    }
    if (line[0] == '#') {
      std::istringstream ls(line);
      std::string hash, kw, name;
      ls >> hash >> kw >> name;
      if (kw != "HELP" && kw != "TYPE") continue;  // plain comment
      if (!valid_metric_name(name)) err(n, "bad metric name in " + kw + ": " + name);
      enter(name, n);
      std::string rest;
      std::getline(ls, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (kw == "TYPE") {
        static const std::set<std::string> types = {"counter", "gauge", "histogram", "summary",
                                                    "untyped"};
        if (!types.count(rest)) err(n, "bad type " + rest);
        if (p.type.count(name)) err(n, "second TYPE for " + name);
        for (const auto& [s, _] : p.series)
          if (s == name || s.starts_with(name + "{")) err(n, "TYPE after samples of " + name);
        p.type[name] = rest;
      } else {
        if (helped.count(name)) err(n, "second HELP for " + name);
        helped.insert(name);
        for (size_t i = 0; i + 1 < rest.size(); ++i)
          if (rest[i] == '\\' && rest[i + 1] != '\\' && rest[i + 1] != 'n')
            err(n, "bad escape in HELP");
      }
      continue;
    }
    // name{label="value",...} value [timestamp]
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    std::string name = line.substr(0, i);
    if (!valid_metric_name(name)) err(n, "bad metric name " + name);
    enter(name, n);
    std::map<std::string, std::string> lab;
    std::string key = name;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          err(n, "label without '='");
          break;
        }
        std::string ln = line.substr(i, eq - i);
        if (!valid_label_name(ln)) err(n, "bad label name " + ln);
        if (lab.count(ln)) err(n, "duplicate label " + ln);
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          err(n, "label value not quoted");
          break;
        }
        ++i;
        std::string v;
        bool closed_quote = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed_quote = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            char e = line[i++];
            if (e == 'n')
              v += '\n';
            else if (e == '\\' || e == '"')
              v += e;
            else
              err(n, "bad escape \\" + std::string(1, e));
          } else {
            v += c;
          }
        }
        if (!closed_quote) err(n, "unterminated label value");
        lab[ln] = v;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') err(n, "unterminated label set");
      ++i;
      // The series key lists labels sorted by name, whatever their order.
      key += '{';
      for (const auto& [k, v] : lab) key += k + "=" + v + ",";
      key += '}';
    }
    if (i >= line.size() || line[i] != ' ') {
      err(n, "no value");
      continue;
    }
    std::istringstream vs(line.substr(i + 1));
    std::string value, ts, extra;
    vs >> value >> ts >> extra;
    if (!extra.empty()) err(n, "trailing text");
    double v = 0;
    if (value == "NaN")
      v = NAN;
    else if (value == "+Inf")
      v = INFINITY;
    else if (value == "-Inf")
      v = -INFINITY;
    else {
      size_t used = 0;
      try {
        v = std::stod(value, &used);
      } catch (...) {
        used = 0;
      }
      if (used != value.size() || value.empty()) err(n, "bad value " + value);
    }
    if (!ts.empty() && !std::all_of(ts.begin(), ts.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) || c == '-';
        }))
      err(n, "bad timestamp " + ts);
    if (!p.type.count(name)) err(n, "sample of " + name + " before its TYPE");
    if (p.type[name] == "counter" && v < 0) err(n, "negative counter");
    if (p.series.count(key)) err(n, "duplicate series " + key);
    p.series[key] = v;
    p.labels[key] = lab;
  }
  return p;
}

Snapshot sample_snapshot() {
  Snapshot s;
  s.version = "0.1.0";
  s.uptime_s = 12.5;
  s.records = 1000;
  s.decode_errors = 2;
  s.decoded = 998;
  s.matched = 7;
  s.kernel_drops = {{"ring_buffer_full", 5}, {"no_scratch_buffer", 0}};
  s.programs_attached = 4;
  s.rules = {{"default", "Read \"sensitive\" file\\path\nnext", "Warning", 3},
             {"web", "Shell in container", "Notice", 4}};
  s.policies = {{"default", 1, 20, 3, std::nullopt, std::nullopt, std::nullopt},
                {"web", 2, 1, 4, 6, 100, 9}};
  s.policy_generation = 3;
  s.rule_load_errors = 1;
  s.alerts_enqueued = 7;
  s.queue_drops = 0;
  s.queue_depth = 1;
  s.queue_capacity = 8192;
  s.sinks = {{"stdout", 7, 0, 0, 0, 1024}, {"http", 5, 2, 1, 3, 1024}};
  s.drop_alerts = 1;
  return s;
}

}  // namespace

TEST_CASE("the format checker itself rejects broken exposition text") {
  CHECK(parse("# TYPE a counter\na 1\n").errors.empty());
  CHECK_FALSE(parse("a 1\n").errors.empty());                                       // no TYPE
  CHECK_FALSE(parse("# TYPE a counter\na{x=\"1} 1\n").errors.empty());              // unterminated
  CHECK_FALSE(parse("# TYPE a counter\na{x=\"\\q\"} 1\n").errors.empty());          // bad escape
  CHECK_FALSE(parse("# TYPE a counter\na one\n").errors.empty());                   // bad value
  CHECK_FALSE(parse("# TYPE a counter\na 1\na 2\n").errors.empty());                // duplicate
  CHECK_FALSE(parse("# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n").errors.empty());  // split
  CHECK_FALSE(parse("# TYPE 1a gauge\n").errors.empty());                           // bad name
  CHECK_FALSE(parse("# TYPE a counter\na -1\n").errors.empty());  // negative counter
  CHECK_FALSE(parse("# TYPE a counter\na 1").errors.empty());     // no final newline
}

TEST_CASE("/metrics output is valid Prometheus text and carries the snapshot's values") {
  const Snapshot s = sample_snapshot();
  const std::string text = render(s);
  Parsed p = parse(text);
  for (const auto& e : p.errors) MESSAGE(e);
  REQUIRE(p.errors.empty());

  CHECK(p.type["peregrine_events_total"] == "counter");
  CHECK(p.type["peregrine_output_queue_depth"] == "gauge");
  CHECK(p.series["peregrine_build_info{version=0.1.0,}"] == 1);
  CHECK(p.series["peregrine_events_total{stage=received,}"] == 1000);
  CHECK(p.series["peregrine_events_total{stage=decoded,}"] == 998);
  CHECK(p.series["peregrine_events_total{stage=matched,}"] == 7);
  CHECK(p.series["peregrine_events_dropped_total{reason=ring_buffer_full,stage=kernel,}"] == 5);
  CHECK(p.series["peregrine_events_dropped_total{reason=malformed,stage=decode,}"] == 2);
  // A rule name with a quote, a backslash and a newline survives escaping.
  CHECK(p.series["peregrine_rule_matches_total{policy=default,priority=Warning,rule=Read "
                 "\"sensitive\" file\\path\nnext,}"] == 3);
  CHECK(p.series["peregrine_rule_matches_total{policy=web,priority=Notice,rule=Shell in "
                 "container,}"] == 4);
  CHECK(p.series["peregrine_output_alerts_total{output=http,result=failed,}"] == 2);
  CHECK(p.series["peregrine_output_queue_depth{queue=http,}"] == 3);
  CHECK(p.series["peregrine_rule_load_errors_total"] == 1);
  CHECK(p.series["peregrine_policy_alerts_total{policy=web,}"] == 4);
  // Kernel counters appear for the policies that have them, and in the totals.
  CHECK(p.series["peregrine_policy_kernel_slots{policy=web,}"] == 6);
  CHECK(p.series.count("peregrine_policy_kernel_slots{policy=default,}") == 0);
  CHECK(p.series["peregrine_policy_kernel_events_total{policy=web,stage=passed,}"] == 9);
}

TEST_CASE("without kernel counters, no kernel series are invented") {
  Snapshot s = sample_snapshot();
  s.policies[1].kernel_slots.reset();
  s.policies[1].kernel_seen.reset();
  s.policies[1].kernel_passed.reset();
  Parsed p = parse(render(s));
  REQUIRE(p.errors.empty());
  for (const auto& [k, _] : p.series) {
    CHECK(k.find("kernel_seen") == std::string::npos);
    CHECK(k.find("peregrine_policy_kernel") == std::string::npos);
  }
  // The empty snapshot is valid too.
  CHECK(parse(render(Snapshot{})).errors.empty());
}

TEST_CASE("label values escape backslash, quote and newline") {
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  CHECK(escape_label_value("plain") == "plain");
}
