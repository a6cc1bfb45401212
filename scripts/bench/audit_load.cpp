// Webhook load for `make bench`: POST audit EventLists to a Peregrine
// webhook at a fixed event rate, the way a kube-apiserver's batching
// webhook backend does, and report what was sent and acknowledged.
//
//   bench-audit-load PORT RATE SECONDS [BATCH] [THREADS]
//
// Events are a realistic mix: mostly benign reads, 1 in 100 a privileged
// pod creation (which fires "Create Privileged Pod"). Each thread keeps one
// connection alive and sends its share of the batches on a fixed schedule;
// a request that falls behind is sent at once (no catch-up burst is
// skipped), so the achieved rate shows whether the receiver kept up.
// Prints one line of key=value pairs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "user/output/httplib_config.h"

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

Json make_event(uint64_t n) {
  const bool attack = n % 100 == 0;
  Json e = {
      {"auditID", "bench-" + std::to_string(n)},
      {"stage", "ResponseComplete"},
      {"level", "RequestResponse"},
      {"verb", attack ? "create" : "get"},
      {"requestURI", attack ? "/api/v1/namespaces/default/pods"
                            : "/api/v1/namespaces/default/pods/web-" + std::to_string(n % 50)},
      {"user", {{"username", "kubernetes-admin"}, {"groups", {"system:masters"}}}},
      {"sourceIPs", {"10.0.0.7"}},
      {"userAgent", "kubectl/v1.29.2"},
      {"objectRef",
       {{"resource", "pods"}, {"namespace", "default"}, {"name", "web-" + std::to_string(n % 50)}}},
      {"responseStatus", {{"code", attack ? 201 : 200}}},
      {"stageTimestamp", "2026-11-28T10:00:00.123456Z"},
      {"annotations", {{"authorization.k8s.io/decision", "allow"}}},
  };
  if (attack)
    e["requestObject"] = {{"kind", "Pod"},
                          {"spec",
                           {{"containers",
                             {{{"name", "c"},
                               {"image", "nginx:1.25"},
                               {"securityContext", {{"privileged", true}}}}}}}}};
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s PORT RATE SECONDS [BATCH] [THREADS]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const double rate = std::atof(argv[2]);
  const double seconds = std::atof(argv[3]);
  const int batch = argc > 4 ? std::atoi(argv[4]) : 50;
  const int threads = argc > 5 ? std::atoi(argv[5]) : 2;
  const uint64_t total_batches = uint64_t(rate * seconds / batch);
  const auto interval = std::chrono::duration<double>(double(batch) / rate);

  std::atomic<uint64_t> next_batch{0}, sent{0}, acked{0}, failed{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(threads));
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);  // as Go's net/http (the API server) does
      c.set_read_timeout(std::chrono::seconds(30));
      while (true) {
        const uint64_t b = next_batch.fetch_add(1);
        if (b >= total_batches) break;
        Json list = {
            {"kind", "EventList"}, {"apiVersion", "audit.k8s.io/v1"}, {"items", Json::array()}};
        for (int i = 0; i < batch; ++i)
          list["items"].push_back(make_event(b * uint64_t(batch) + uint64_t(i)));
        const std::string body = list.dump();
        std::this_thread::sleep_until(
            start + std::chrono::duration_cast<Clock::duration>(interval * double(b)));
        const auto t0 = Clock::now();
        auto r = c.Post("/k8s-audit", body, "application/json");
        latencies[size_t(t)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        sent += uint64_t(batch);
        if (r && r->status == 200)
          acked += uint64_t(batch);
        else
          ++failed;
      }
    });
  }
  for (auto& th : pool) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, size_t(p * double(all.size())))];
  };
  std::printf(
      "sent=%llu acked=%llu failed_requests=%llu seconds=%.2f rate=%.0f batch=%d "
      "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
      (unsigned long long)sent.load(), (unsigned long long)acked.load(),
      (unsigned long long)failed.load(), elapsed, double(sent.load()) / elapsed, batch, pct(0.5),
      pct(0.99), all.empty() ? 0.0 : all.back());
  return failed.load() == 0 ? 0 : 1;
}
