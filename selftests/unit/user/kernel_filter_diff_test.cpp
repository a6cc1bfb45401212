// The differential test of the kernel filter's soundness (DESIGN.md
// invariant 1): random and adversarial events go through the kernel filter
// (kern/api/filter_eval.h compiled natively, with tables made by the real
// lowering) and through the full engine. Every alert the engine raises
// without the filter must also be raised when the engine only sees what
// the filter let through, with the slots it carried.
//
// PG_FUZZ_CASES sets the number of events (default 1,000,000; `make fuzz`
// runs more), PG_FUZZ_SEED the seed.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "policy/filter_tables.h"
#include "policy/pathop_args.h"
#include "policy/ruleset.h"
#include "selftests/common/falco_files.h"
#include "selftests/unit/user/kernel_filter_diff_rules.h"
#include "selftests/unit/user/kernel_filter_rig.h"
#include "selftests/unit/user/native_filter.h"
#include "selftests/unit/user/record_builder.h"
#include "user/cgroup.h"
#include "user/config/config.h"
#include "user/engine/engine.h"
#include "user/engine/extract.h"
#include "user/path.h"
#include "user/process.h"
#include "user/syscalls/decode.h"

using namespace pg;
using namespace pg::user;
using pg::user::test::RecordBuilder;

namespace {

using pg::test::kAdversarial;
using pg::test::read_files;
using pg::test::Rig;

struct Corpus {
  std::vector<std::string> comms, paths, suffixes, words;
  std::vector<uint32_t> uids{0, 1, 33, 1000, 65534};
  std::vector<uint16_t> ports{0, 22, 53, 80, 443, 4444, 6379};

  void collect(const policy::Node& n) {
    for (const auto& c : n.children) collect(c);
    if (n.kind != policy::NodeKind::Compare) return;
    const std::string& f = n.field.name;
    for (const auto& v : n.values) {
      const std::string& s = v.text;
      words.push_back(s);
      if (f == "proc.name" || f == "proc.pname" || f == "proc.aname") comms.push_back(s);
      if (f == "fd.name" || f == "fd.directory" || f == "fd.nameraw" || f == "evt.arg") {
        if (n.op == policy::Op::EndsWith || n.op == policy::Op::Contains)
          suffixes.push_back(s);
        else
          paths.push_back(s);
      }
      if (f == "fd.filename") suffixes.push_back(s);
      if (f == "user.uid")
        if (auto u = std::strtoul(s.c_str(), nullptr, 10); u < 100000) uids.push_back(uint32_t(u));
      if (f == "fd.sport" || f == "fd.rport" || f == "fd.port")
        if (auto p = std::strtoul(s.c_str(), nullptr, 10); p < 65536) ports.push_back(uint16_t(p));
    }
  }
};

class Gen {
 public:
  Gen(const Corpus& c, uint64_t seed) : c_(c), rng_(seed) {}

  size_t below(size_t n) { return n ? std::uniform_int_distribution<size_t>(0, n - 1)(rng_) : 0; }
  bool chance(int percent) { return int(below(100)) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

  // A comm as the kernel keeps it: at most 15 characters.
  std::string comm() {
    std::string s;
    switch (below(4)) {
      case 0:
        s = pick(kNames);
        break;
      case 1:
        s = std::string(14 + below(4), char('a' + below(3)));
        break;
      default:
        s = pick(c_.comms);
    }
    if (s.size() > 15) s.resize(15);
    return s;
  }

  std::string path() {
    std::string p;
    switch (below(6)) {
      case 0:
        p = pick(kDirs) + "/" + pick(c_.words);
        break;
      case 1:
        p = pick(kDirs) + "/" + (c_.suffixes.empty() ? "x" : pick(c_.suffixes));
        break;
      default:
        p = pick(c_.paths);
    }
    if (chance(30)) p += "/" + pick(kLeaves);
    if (chance(10)) p += pick(c_.suffixes.empty() ? kLeaves : c_.suffixes);
    // Adversarial forms: the kernel must pass (not judge) these.
    switch (below(12)) {
      case 0:
        insert_at_slash(p, "/");  // "//"
        break;
      case 1:
        insert_at_slash(p, "/./");
        break;
      case 2:
        insert_at_slash(p, "/../" + pick(kLeaves) + "/");
        break;
      case 3:
        p += "/";
        break;
      case 4:
        if (!p.empty() && p[0] == '/') p.erase(0, 1);  // relative
        break;
      case 5:
        p = "../" + p;
        break;
      case 6:  // around the kernel's key length and the capture buffer
        p += "/" + std::string(240 + below(30), 'l');
        break;
      case 7:
        p = std::string(1 + below(3) * 100, '/') + p;
        break;
      default:
        break;
    }
    return p;
  }

  // argv as an exec leaves it in the process's memory: NUL-terminated
  // strings. argv[0] and the arguments come from rule values (so prefixes
  // and exact values of proc.exe and proc.args hit), around the kernel's
  // PG_PROC_STR cut, empty, or relative.
  std::string argv_area(const std::string& comm) {
    auto part = [&]() -> std::string {
      switch (below(6)) {
        case 0:
          return "";
        case 1:
          return pick(c_.words) + std::string(PG_PROC_STR - 8 + below(16), 'x');
        case 2:
          return "./" + pick(c_.words);
        case 3:
          return pick(c_.words) + "/" + pick(kLeaves);
        default:
          return pick(c_.words);
      }
    };
    std::string area = (chance(40) ? comm : part()) + '\0';
    for (size_t i = below(4); i > 0; --i) area += (chance(20) ? "-c" : part()) + '\0';
    return area;
  }

  // The environment as an exec leaves it: NUL-terminated entries, from
  // rule values (so proc.env conditions hit) and plain ones.
  std::string env_area() {
    std::string area;
    for (size_t i = below(5); i > 0; --i) {
      switch (below(3)) {
        case 0:
          area += pick(c_.words) + "=" + pick(c_.words);
          break;
        case 1:
          area += pick(c_.words);
          break;
        default:
          area += "HOME=/root";
      }
      area += '\0';
    }
    return area;
  }

  uint64_t flags() {
    static const uint64_t bits[] = {O_CREAT,    O_TRUNC,    O_APPEND,    O_DIRECTORY,
                                    O_PATH,     O_CLOEXEC,  O_EXCL,      O_NOCTTY,
                                    O_NONBLOCK, O_NOFOLLOW, __O_TMPFILE, O_LARGEFILE};
    uint64_t f = below(4);
    for (uint64_t b : bits)
      if (chance(15)) f |= b;
    return f;
  }

 private:
  void insert_at_slash(std::string& p, const std::string& what) {
    std::vector<size_t> at;
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i] == '/') at.push_back(i);
    if (at.empty()) return;
    size_t i = pick(at);
    p.replace(i, 1, what);
  }

  const Corpus& c_;
  std::mt19937_64 rng_;
  const std::vector<std::string> kNames{"cat", "bash", "sshd", "python3", "nginx", "vi", "", "ssh"};
  const std::vector<std::string> kDirs{"/etc",     "/tmp",    "/root", "/home/u", "/usr/bin",
                                       "/var/log", "/proc/1", "/dev",  "/"};
  const std::vector<std::string> kLeaves{"shadow", "passwd", "id_rsa",        "x.key",          "a",
                                         "..",     ".",      "release_agent", "authorized_keys"};
};

std::vector<std::string> syscall_rule_files() {
  std::vector<std::string> files;
  for (const char* f :
       {"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml"})
    files.push_back(pg::test::falco_file(f));
  return files;
}

// An absolute path as the kernel's dentry walk sends it: leaf first.
std::string components(const std::string& abs) {
  std::string comps;
  for (size_t end = abs.size(); end > 0;) {
    size_t slash = abs.rfind('/', end - 1);
    size_t start = slash == std::string::npos ? 0 : slash + 1;
    if (end > start) comps += abs.substr(start, end - start) + '\0';
    if (slash == std::string::npos || slash == 0) break;
    end = slash;
  }
  return comps;
}

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : dflt;
}

// What one differential run saw.
struct DiffRun {
  uint64_t cases = 0, violations = 0, plain_alerts = 0, passed = 0;
  uint64_t image_verdicts = 0, image_narrowed = 0;  // verdicts written; of them, not all slots
  std::set<std::string> fired;
};

// A change to the image verdicts userspace writes: none in the real run; a
// wrong one shows that the differential catches it.
using ImageMutation = std::function<void(pg_image_slots&)>;

DiffRun differential(Rig& rig, uint64_t cases, uint64_t seed, const ImageMutation& mutate = {}) {
  policy::NativeFilter native(rig.tables);
  Corpus corpus;
  for (const auto& r : rig.loaded.ruleset.rules) corpus.collect(r.condition);
  DiffRun run;
  run.cases = cases;
  Gen g(corpus, seed);
  ProcessTable procs;
  Clock clock(0);
  Event ev, exec_ev;
  uint64_t& violations = run.violations;
  uint64_t image = 0;  // the kernel's image ids
  // Cgroups as the daemon knows them (no tree to scan): two host cgroups,
  // two containers', and ids it has not resolved, which the kernel judges
  // as unknown.
  CgroupMap cgroups("");
  const std::string cid(64, 'a'), cid2 = "0123456789ab" + std::string(52, 'c');
  cgroups.add(1, "/");
  cgroups.add(2, "/system.slice/sshd.service");
  cgroups.add(3, "/machine.slice/libpod-" + cid + ".scope");
  cgroups.add(4, "/docker/" + cid2);
  auto kernel_container = [&](uint64_t id) -> uint8_t {
    const ContainerRef* c = cgroups.container(id);
    return !c ? PG_CT_UNKNOWN : c->host() ? PG_CT_HOST : PG_CT_CONTAINER;
  };
  std::map<uint32_t, pg_proc_strs> kernel_proc;  // pg_fproc: processes exec'd so far
  std::map<uint32_t, std::string> exec_comm;     // each process's comm at its exec

  for (uint64_t i = 0; i < cases; ++i) {
    const uint32_t pid = 1000 + uint32_t(i % 64);
    // Mostly the comm the process had at its exec (image verdicts hold
    // for it), else any (they do not).
    const auto ec = exec_comm.find(pid);
    const std::string comm = ec != exec_comm.end() && g.chance(60) ? ec->second : g.comm();
    const std::string pcomm = g.chance(10) ? "" : g.comm();
    const uint32_t uid = g.pick(corpus.uids);
    const uint64_t cgroup = 1 + g.below(5);  // 5: unknown

    // Refresh the process now and then, so proc.* fields have values.
    if (i % 8 == 0) {
      RecordBuilder<pg_exec_rec> b;
      b.bytes.reserve(4096);  // rec() references stay valid across add()
      auto& t = b.rec().task;
      t.tgid = t.tid = pid;
      t.ppid = 1;
      t.uid = uid;
      std::strncpy(t.comm, comm.c_str(), sizeof(t.comm) - 1);
      std::strncpy(t.pcomm, pcomm.c_str(), sizeof(t.pcomm) - 1);
      const std::string args = g.argv_area(comm);
      b.rec().args = b.add(args);  // the whole area, final NUL included, as the kernel copies it
      b.rec().exe_flags = g.chance(10) ? PG_EXE_FROM_MEMFD : 0;
      std::string exe = g.path();
      // The exe arrives as a dentry walk: components leaf first.
      std::string comps;
      for (size_t end = exe.size(); end > 0;) {
        size_t slash = exe.rfind('/', end - 1);
        size_t start = slash == std::string::npos ? 0 : slash + 1;
        if (end > start) comps += exe.substr(start, end - start) + '\0';
        if (slash == std::string::npos || slash == 0) break;
        end = slash;
      }
      b.rec().exe = b.add(comps, PG_SF_COMPONENTS);
      b.rec().cwd = b.add(std::string("tmp\0", 4), PG_SF_COMPONENTS);
      b.rec().env = b.add(g.env_area());
      b.rec().image = ++image;
      const uint32_t exe_flags = b.rec().exe_flags;
      if (decode_record(b.finish(PG_REC_EXEC), clock, exec_ev)) {
        procs.update(exec_ev);
        exec_comm[pid] = comm;
        // What userspace judges of the image (pg_fimage), as the daemon does.
        engine::EventView xv{exec_ev, procs, procs.find(pid)};
        if (auto v = rig.gated->image_verdict(xv)) {
          if (mutate) mutate(*v);
          native.note_image(image, *v);
          ++run.image_verdicts;
          if (!std::all_of(std::begin(v->slots.w), std::end(v->slots.w),
                           [](uint64_t w) { return w == ~0ull; }))
            ++run.image_narrowed;
        }
        // What the kernel keeps for the process (pg_fproc), from the same area.
        pg_proc_strs& k = kernel_proc[pid];
        k = {};
        pg_proc_fill f;
        pg_proc_fill_start(&f, &k, args.data(), uint32_t(args.size()), uint32_t(args.size()));
        for (uint32_t at = 0; !pg_proc_fill_step(&f, at); ++at) {
        }
        k.exe_flags = exe_flags;
        k.image = image;
      }
    }
    auto known = kernel_proc.find(pid);
    const pg_proc_strs* kproc = known == kernel_proc.end() ? nullptr : &known->second;

    // The family's part of the filter input comes from the same builders
    // the BPF programs use (pg_fe_*); the task's facts are added after, as
    // pg_filter_task does in the kernel.
    pg_filter_event fe{};
    std::string path, base, kname;
    bool have_path = false;
    bool decoded;
    const size_t what = g.below(100);
    if (what < 55) {
      RecordBuilder<pg_open_rec> b;
      b.bytes.reserve(4096);  // r stays valid across add()
      auto& r = b.rec();
      r.task.tgid = r.task.tid = pid;
      r.task.ppid = 1;
      r.task.uid = uid;
      r.task.cgroup_id = cgroup;
      std::memcpy(r.task.comm, comm.data(), comm.size());
      std::memcpy(r.task.pcomm, pcomm.data(), pcomm.size());
      r.kind = uint16_t(1 + g.below(PG_OPEN__END - 1));
      r.flags = r.kind == PG_OPEN_CREAT ? (O_CREAT | O_WRONLY | O_TRUNC) : g.flags();
      r.ret = g.chance(60) ? int64_t(3 + g.below(100))
                           : -int64_t(g.pick(std::vector<int>{1, 2, 13, 17, 20}));
      r.dirfd = PG_AT_FDCWD;
      path = g.path();
      // An io_uring open has no argument left to read (the kernel freed
      // its copy): the filter gets no path and the file alone names it.
      const bool uring = g.chance(3);
      if (uring) r.hdr.flags |= PG_RF_IO_URING;
      const bool failed_read = uring || g.chance(1);
      if (failed_read) {
        r.path = pg_str{0, 0, PG_SF_FAILED, 0};
      } else {
        r.path = b.add(path);
        have_path = true;
        if (path.empty() || path[0] != '/') {
          // The directory as the kernel walks it (leaf first), or a walk
          // that failed.
          switch (g.below(4)) {
            case 0:
              r.base = b.add(std::string("etc\0", 4), PG_SF_COMPONENTS);
              base = "/etc";
              break;
            case 1:
              r.base = b.add(std::string("u\0home\0", 7), PG_SF_COMPONENTS);
              base = "/home/u";
              break;
            case 2:
              r.base = b.add(std::string(), PG_SF_COMPONENTS);  // the root
              base = "/";
              break;
            default:
              r.base = pg_str{0, 0, PG_SF_COMPONENTS | PG_SF_TRUNCATED, 0};
          }
        }
      }
      // A successful open is named by its file, as the kernel walks it from
      // the descriptor: the file the argument names, another file (a
      // symlink, a bind mount, a rewritten buffer), the root, a name
      // longer than a key, or none (the walk did not reach the root, or
      // the slot no longer holds the file).
      if (r.ret >= 0) {
        const std::string named =
            normalize_path(path.empty() || path[0] != '/' ? "/" + path : path);
        switch (g.below(10)) {
          case 0:
          case 1:
          case 2:
            kname = base.empty() ? named : resolve_path(base, path);
            break;
          case 3:
          case 4:
            kname = normalize_path("/" + g.path());
            break;
          case 5:
            kname = "/";
            break;
          case 6:
            kname = named + "/" + std::string(240 + g.below(30), 'k');
            break;
          case 7:
            r.name = b.add(std::string("pipe:[1]\0", 9), PG_SF_COMPONENTS | PG_SF_TRUNCATED);
            break;
          default:
            break;  // the slot was reused: no name
        }
        if (!kname.empty()) r.name = b.add(components(kname), PG_SF_COMPONENTS);
      }
      fe = pg_fe_open(r.kind, r.ret, r.flags, r.dirfd);
      decoded = bool(decode_record(b.finish(PG_REC_OPEN), clock, ev));
    } else if (what < 75) {
      RecordBuilder<pg_pathop_rec> b;
      b.bytes.reserve(4096);  // r stays valid across add()
      auto& r = b.rec();
      r.task.tgid = r.task.tid = pid;
      r.task.ppid = 1;
      r.task.uid = uid;
      r.task.cgroup_id = cgroup;
      std::memcpy(r.task.comm, comm.data(), comm.size());
      std::memcpy(r.task.pcomm, pcomm.data(), pcomm.size());
      r.kind = uint16_t(PG_PO_SYMLINK + g.below(PG_PO__END - PG_PO_SYMLINK));
      r.ret = g.chance(70) ? 0 : -int64_t(g.pick(std::vector<int>{1, 2, 13, 17, 20}));
      r.dirfd1 = r.dirfd2 = PG_AT_FDCWD;
      r.flags = uint32_t(g.below(8));
      r.mode = uint32_t(g.below(07777));
      const bool as_is = policy::pathop_arg1_as_is(r.kind);
      // A relative first path is judged (and reported) against its
      // directory, as the kernel walks it.
      auto walk = [&](std::string& dir) {
        const bool etc = g.chance(50);
        dir = etc ? "/etc" : "/home/u";
        return etc ? std::string("etc\0", 4) : std::string("u\0home\0", 7);
      };
      std::string unused;
      path = g.path();
      if (g.chance(1)) {
        r.path1 = pg_str{0, 0, PG_SF_FAILED, 0};
      } else {
        r.path1 = b.add(path);
        have_path = true;
        if (!as_is && (path.empty() || path[0] != '/'))
          r.base1 = b.add(walk(base), PG_SF_COMPONENTS);
      }
      const bool two = policy::pathop_arg(r.kind, "newpath") == policy::PathOpArg::Path2 ||
                       policy::pathop_arg(r.kind, "linkpath") == policy::PathOpArg::Path2;
      if (two) {
        std::string p2 = g.path();
        r.path2 = b.add(p2);
        if (p2.empty() || p2[0] != '/') r.base2 = b.add(walk(unused), PG_SF_COMPONENTS);
      }
      fe = pg_fe_pathop(r.kind, r.ret, r.dirfd1);
      decoded = bool(decode_record(b.finish(PG_REC_PATHOP), clock, ev));
    } else if (what < 85) {
      RecordBuilder<pg_args_rec> b;
      b.bytes.reserve(4096);  // r stays valid across add()
      auto& r = b.rec();
      r.task.tgid = r.task.tid = pid;
      r.task.ppid = 1;
      r.task.uid = uid;
      r.task.cgroup_id = cgroup;
      std::memcpy(r.task.comm, comm.data(), comm.size());
      std::memcpy(r.task.pcomm, pcomm.data(), pcomm.size());
      r.kind = uint16_t(1 + g.below(PG_AK__END - 1));
      r.ret = g.pick(std::vector<int64_t>{0, 0, 1, 2, 3, -1, -9});
      static const uint64_t values[] = {0, 1, 2, 10, 16, 17, 0x4206, 0x40000000, 0x10000000, 04755};
      for (auto& a : r.args) a = values[g.below(std::size(values))];
      // The descriptor the kernel resolved: none, not open, a file, a
      // directory, a pipe, or a socket of some family.
      r.fd.num = g.chance(20) ? -1 : int32_t(g.below(6));
      r.fd.mode = g.pick(std::vector<uint32_t>{0, S_IFREG | 0644, S_IFDIR | 0755, S_IFIFO | 0600,
                                               S_IFSOCK | 0777});
      if ((r.fd.mode & S_IFMT) == S_IFSOCK) {
        r.fd.sock_family = g.pick(std::vector<uint16_t>{AF_INET, AF_INET6, AF_UNIX, AF_NETLINK});
        r.fd.sock_type = g.chance(50) ? SOCK_STREAM : SOCK_DGRAM;
        r.fd.local.family = r.fd.remote.family = r.fd.sock_family;
        r.fd.local.port = uint16_t(g.below(65536));
        r.fd.remote.port = g.pick(corpus.ports);
        r.fd.remote.addr[0] = r.fd.local.addr[0] = 127;
        r.fd.remote.addr[3] = r.fd.local.addr[3] = 1;
      } else if (r.fd.mode != 0) {
        r.fd.path =
            b.add(g.chance(50) ? std::string("shadow\0etc\0", 11) : std::string("x\0tmp\0", 6),
                  PG_SF_COMPONENTS);
      }
      // As the kernel does: a send's socket is resolved before judging.
      fe = pg_fe_args(r.kind, r.ret, r.fd.num >= 0 ? &r.fd : nullptr);
      decoded = bool(decode_record(b.finish(PG_REC_ARGS), clock, ev));
    } else {
      RecordBuilder<pg_connect_rec> b;
      b.bytes.reserve(4096);  // r stays valid across add()
      auto& r = b.rec();
      r.task.tgid = r.task.tid = pid;
      r.task.ppid = 1;
      r.task.uid = uid;
      r.task.cgroup_id = cgroup;
      std::memcpy(r.task.comm, comm.data(), comm.size());
      std::memcpy(r.task.pcomm, pcomm.data(), pcomm.size());
      r.ret = g.chance(70) ? 0 : -111;
      r.fd = int32_t(g.below(8));
      r.remote.family = g.pick(std::vector<uint16_t>{AF_UNIX, AF_INET, AF_INET6, 0, AF_NETLINK});
      r.remote.port = g.pick(corpus.ports);
      r.remote.addr[0] = 127;
      r.remote.addr[3] = 1;
      r.local = r.remote;
      if (r.remote.family == AF_UNIX) r.unix_path = b.add(g.path());
      fe = pg_fe_connect(r.remote.family, r.remote.port);
      decoded = bool(decode_record(b.finish(PG_REC_CONNECT), clock, ev));
    }
    REQUIRE(decoded);
    fe.uid = uid;
    fe.container = kernel_container(cgroup);
    fe.cgroup_id = cgroup;  // as the kernel reads it: the task verdict is cached per cgroup
    std::memcpy(fe.comm, comm.data(), comm.size());
    std::memcpy(fe.pcomm, pcomm.data(), pcomm.size());

    pg_slots verdict{};
    const bool pass = native.eval(fe, have_path ? path.c_str() : nullptr, verdict,
                                  base.empty() ? nullptr : base.c_str(), kproc,
                                  kname.empty() ? nullptr : kname.c_str());
    run.passed += pass;

    engine::EventView view{ev, procs, procs.find(pid), i, "host", &cgroups};
    std::vector<std::string> want, got;
    rig.plain->process(view, [&](output::Alert&& a) { want.push_back(a.rule); });
    if (pass) {
      ev.filtered = true;
      ev.filter_gen = 0;
      ev.slots = verdict;
      rig.gated->process(view, [&](output::Alert&& a) { got.push_back(a.rule); });
    }
    run.plain_alerts += want.size();
    for (const auto& r : want) run.fired.insert(r);
    if (want != got) {
      ++violations;
      if (violations <= 5)
        MESSAGE("violation #" << violations << ": " << ev.type_name() << " comm=" << comm
                              << " pcomm=" << pcomm << " uid=" << uid << " cgroup=" << cgroup
                              << " flags=0x" << fmt::format("{:x}", ev.open_flags)
                              << " ret=" << ev.ret << " path='" << path
                              << "' family=" << ev.remote.family << " port=" << ev.remote.port
                              << " expected " << (want.empty() ? "" : want[0]) << " got "
                              << (got.empty() ? "(dropped)" : got[0]));
    }
  }
  return run;
}

Rig official_rig() {
  auto files = read_files(syscall_rule_files());
  files.push_back({"adversarial.yaml", kAdversarial});
  // The adversarial rules use the official macros (open_read, ...).
  return Rig(files);
}

}  // namespace

TEST_CASE("kernel filter differential: a full match always passes the kernel half" *
          PG_NEEDS_FALCO_FILES) {
  Rig rig = official_rig();
  const DiffRun run =
      differential(rig, env_u64("PG_FUZZ_CASES", 1'000'000), env_u64("PG_FUZZ_SEED", 20261128));
  MESSAGE(run.cases << " cases, " << run.passed << " passed the kernel filter, " << run.plain_alerts
                    << " alerts from " << run.fired.size() << " distinct rules, " << run.violations
                    << " violations; " << run.image_verdicts << " image verdicts, "
                    << run.image_narrowed << " of them narrowing");
  std::string names;
  for (const auto& r : run.fired) names += "\n  " + r;
  MESSAGE("rules that fired:" << names);
  CHECK(run.violations == 0);
  // The run must exercise the filter on both sides, or it proves nothing.
  CHECK(run.passed < run.cases);
  CHECK(run.fired.size() >= 10);
  CHECK(run.image_narrowed > 0);
}

TEST_CASE("kernel filter differential: it catches image verdicts that drop a matching slot" *
          PG_NEEDS_FALCO_FILES) {
  Rig rig = official_rig();
  REQUIRE_FALSE(rig.tables.images.empty());
  // Every image condition judged false: the slots they guard are dropped
  // even where the rule matches.
  const DiffRun run = differential(rig, 100'000, 7, [&](pg_image_slots& v) {
    for (const auto& t : rig.tables.images)
      for (int w = 0; w < PG_SLOT_WORDS; ++w) v.slots.w[w] &= ~t.slots.w[w];
  });
  MESSAGE(run.violations << " violations in " << run.cases << " cases");
  CHECK(run.violations > 0);
}

TEST_CASE("kernel filter differential: it catches a needle search that finds nothing" *
          PG_NEEDS_FALCO_FILES) {
  Rig rig = official_rig();
  REQUIRE(rig.tables.needles.at(PG_FF_PATH_NEEDLE).size() >= 3);
  REQUIRE(rig.tables.needles.at(PG_FF_ARG_NEEDLE).size() >= 3);
  for (auto& [field, table] : rig.tables.needle_tables) table.count = 0;
  const DiffRun run = differential(rig, 100'000, 7);
  MESSAGE(run.violations << " violations in " << run.cases << " cases");
  CHECK(run.violations > 0);
}
