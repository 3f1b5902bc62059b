// Helpers for end-to-end tests: bring tests/e2e/env.sh up, run virsh, look at a
// running guest's QEMU process (threads, affinity, hugepages) and its serial log.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vfioctl::e2e {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

struct Result {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

// Runs a shell command; output goes through a file, never a pipe, so a daemon
// the command starts cannot hold the caller up.
inline Result sh(const std::string& cmd) {
  static int counter = 0;
  auto file =
      fs::temp_directory_path() / ("vfioctl-e2e-out-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::string full = "(" + cmd + ") >" + quote(file.string()) + " 2>&1 </dev/null";
  int status = std::system(full.c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(file);
  fs::remove(file);
  return r;
}

inline bool ci() {
  const char* v = std::getenv("CI");
  return v != nullptr && std::string(v) == "true";
}

// A bounded forking load beside a test, standing for a busy host: a
// process that forks short-lived children (each lives 1-8 ms; at most
// `width` at once) until it is stopped or `limit` has passed. It runs as a
// host process, so the hook moves it (and whatever it forked last) between
// cgroups while it forks. The destructor kills it and its children by
// process group and waits for it.
class ForkLoad {
 public:
  explicit ForkLoad(int width = 4, std::chrono::seconds limit = std::chrono::seconds(300)) {
    m_pid = ::fork();
    if (m_pid != 0) return;
    ::setpgid(0, 0);
    struct timespec start {};
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    int alive = 0;
    unsigned seed = static_cast<unsigned>(::getpid());
    for (;;) {
      struct timespec now {};
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      if (now.tv_sec - start.tv_sec > limit.count()) ::_exit(0);
      while (::waitpid(-1, nullptr, WNOHANG) > 0) --alive;
      if (alive < width) {
        seed = seed * 1103515245u + 12345u;
        long ms = 1 + static_cast<long>((seed >> 16) % 8);
        pid_t c = ::fork();
        if (c == 0) {
          struct timespec t {
            0, ms * 1000000L
          };
          ::nanosleep(&t, nullptr);
          ::_exit(0);
        }
        if (c > 0) ++alive;
      }
      struct timespec pause {
        0, 500000L
      };  // 0.5 ms
      ::nanosleep(&pause, nullptr);
    }
  }
  ForkLoad(const ForkLoad&) = delete;
  ForkLoad& operator=(const ForkLoad&) = delete;
  ~ForkLoad() {
    if (m_pid <= 0) return;
    ::kill(-m_pid, SIGKILL);
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
};

// What `env.sh up` wrote to $VFIOCTL_E2E_STATE/env.
struct Env {
  std::string uri, kernel, initrd, state;
  long hugepage_kib = 0;
  std::string skipped;  // set when the environment is unavailable outside CI
  std::string error;    // set when bringing it up failed
};

inline std::string env_script() { return std::string(VFIOCTL_SOURCE_DIR) + "/tests/e2e/env.sh"; }

// Runs `env.sh up` (idempotent: cheap when already up) and reads its env file.
inline Env up() {
  Env e;
  Result r = sh(quote(env_script()) + " up");
  if (r.rc == 77 && !ci()) {
    e.skipped = trim(r.out);
    return e;
  }
  if (r.rc != 0) {
    e.error = "env.sh up exited " + std::to_string(r.rc) + ":\n" + r.out;
    return e;
  }
  const char* s = std::getenv("VFIOCTL_E2E_STATE");
  std::ifstream f(fs::path(s != nullptr ? s : "/run/vfioctl-e2e") / "env");
  std::map<std::string, std::string> kv;
  for (std::string line; std::getline(f, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  e.uri = kv["VFIOCTL_E2E_URI"];
  e.kernel = kv["VFIOCTL_E2E_KERNEL"];
  e.initrd = kv["VFIOCTL_E2E_INITRD"];
  e.state = kv["VFIOCTL_E2E_STATE"];
  e.hugepage_kib = kv.count("VFIOCTL_E2E_HUGEPAGE_KIB") ? std::stol(kv["VFIOCTL_E2E_HUGEPAGE_KIB"]) : 0;
  if (e.uri.empty() || e.kernel.empty() || e.initrd.empty() || e.state.empty())
    e.error = "env.sh up left no complete env file";
  return e;
}

inline Result virsh(const Env& e, const std::string& args) { return sh("virsh -q -c " + quote(e.uri) + " " + args); }

// Polls pred every 100 ms until it holds or the timeout passes.
inline bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// A field of /proc/meminfo (kB, or pages for HugePages_*); -1 when absent.
inline long meminfo(const std::string& key) {
  std::ifstream f("/proc/meminfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

// The QEMU process libvirt runs for a domain; 0 when there is none.
inline int qemu_pid(const std::string& domain) {
  std::string s = trim(slurp("/run/libvirt/qemu/" + domain + ".pid"));
  if (s.empty()) return 0;
  int pid = std::stoi(s);
  return fs::exists("/proc/" + std::to_string(pid)) ? pid : 0;
}

struct Thread {
  int tid = 0;
  std::string comm;          // "CPU 0/TCG", "IO iothread1", "qemu-system-x86", ...
  std::string cpus_allowed;  // Cpus_allowed_list, e.g. "0-1"
  int last_cpu = -1;         // the CPU it last ran on (field 39 of stat)
};

inline std::vector<Thread> threads(int pid) {
  std::vector<Thread> out;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    Thread th;
    th.tid = std::stoi(t.path().filename().string());
    th.comm = trim(slurp(t.path() / "comm"));
    std::istringstream status(slurp(t.path() / "status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Cpus_allowed_list:", 0) == 0) th.cpus_allowed = trim(line.substr(18));
    }
    // stat: "tid (comm) state ...": fields counted from 3 after the closing parenthesis.
    std::string stat = slurp(t.path() / "stat");
    auto paren = stat.rfind(')');
    if (paren != std::string::npos) {
      std::istringstream fields(stat.substr(paren + 1));
      std::string f;
      for (int i = 3; i <= 39 && fields >> f; ++i) {
        if (i == 39) th.last_cpu = std::stoi(f);
      }
    }
    if (!th.comm.empty()) out.push_back(th);  // a thread may end while we read
  }
  return out;
}

// kB of hugetlbfs memory mapped into a process (Shared_ + Private_Hugetlb in smaps).
inline long hugetlb_kib(int pid) {
  std::istringstream smaps(slurp("/proc/" + std::to_string(pid) + "/smaps"));
  long sum = 0;
  for (std::string line; std::getline(smaps, line);) {
    if (line.rfind("Shared_Hugetlb:", 0) == 0) sum += std::stol(line.substr(15));
    if (line.rfind("Private_Hugetlb:", 0) == 0) sum += std::stol(line.substr(16));
  }
  return sum;
}

// The key=value fields of the guest's "VFIOCTL-GUEST ..." serial lines.
inline std::map<std::string, std::string> guest_report(const std::string& serial) {
  std::map<std::string, std::string> kv;
  std::istringstream in(serial);
  for (std::string line; std::getline(in, line);) {
    auto at = line.find("VFIOCTL-GUEST ");
    if (at == std::string::npos) continue;
    std::istringstream words(line.substr(at + 14));
    for (std::string w; words >> w;) {
      auto eq = w.find('=');
      if (eq != std::string::npos)
        kv[w.substr(0, eq)] = w.substr(eq + 1);
      else
        kv[w] = "";
    }
  }
  return kv;
}

// ---- cgroups and affinity (the tuner's work, seen from outside) ----

inline std::set<int> cpus(const std::string& list) {
  std::set<int> out;
  std::istringstream in(list);
  for (std::string part; std::getline(in, part, ',');) {
    part = trim(part);
    if (part.empty()) continue;
    auto dash = part.find('-');
    int lo = std::stoi(part.substr(0, dash));
    int hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) out.insert(c);
  }
  return out;
}

inline std::set<int> allowed(const std::string& pid) {
  std::istringstream in(slurp("/proc/" + pid + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Cpus_allowed_list:", 0) == 0) return cpus(line.substr(18));
  return {};
}

inline std::vector<std::string> procs(const fs::path& cgroup) {
  std::vector<std::string> out;
  std::istringstream in(slurp(cgroup / "cgroup.procs"));
  for (std::string p; in >> p;) out.push_back(p);
  return out;
}

inline bool in_cgroup(const fs::path& cgroup, pid_t pid) {
  auto ps = procs(cgroup);
  return std::find(ps.begin(), ps.end(), std::to_string(pid)) != ps.end();
}

// The last `lines` lines of a text.
inline std::string tail(const std::string& text, size_t lines) {
  std::vector<std::string> all;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

}  // namespace vfioctl::e2e
