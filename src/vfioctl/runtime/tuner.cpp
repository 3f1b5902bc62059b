#include "vfioctl/runtime/tuner.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <sstream>

#include "vfioctl/runtime/tuner_impl.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/json_input.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/time.h"

namespace vfioctl::runtime {

using nlohmann::json;

std::string format_cpumask(const std::vector<int>& cpus) {
  int top = cpus.empty() ? 0 : *std::max_element(cpus.begin(), cpus.end());
  std::vector<unsigned> words(static_cast<size_t>(top / 32 + 1), 0);
  for (int c : cpus)
    if (c >= 0) words[static_cast<size_t>(c / 32)] |= 1u << (c % 32);
  std::string s = fmt::format("{:x}", words.back());
  for (size_t i = words.size() - 1; i-- > 0;) s += fmt::format(",{:08x}", words[i]);
  return s;
}

namespace tuner_detail {

std::vector<int> minus(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> r;
  for (int c : a)
    if (std::find(b.begin(), b.end(), c) == b.end()) r.push_back(c);
  return r;
}

std::string state_path(const std::string& domain) { return std::string(kGuestStateDir) + "/" + domain + ".json"; }

std::optional<long long> read_int(HostIo& io, const std::string& path) {
  auto s = io.read(path);
  if (!s) return std::nullopt;
  return parse_int(*s);
}

std::optional<ProcInfo> proc_info(HostIo& io, const std::string& pid) {
  auto stat = io.read("/proc/" + pid + "/stat");
  if (!stat) return std::nullopt;
  auto close = stat->rfind(')');
  auto open = stat->find('(');
  if (close == std::string::npos || open == std::string::npos) return std::nullopt;
  ProcInfo p;
  p.comm = stat->substr(open + 1, close - open - 1);
  auto fields = split_ws(std::string_view(*stat).substr(close + 1));
  // fields[0] is the state (field 3), so field N is fields[N - 3].
  if (fields.size() < 20) return std::nullopt;
  p.state = std::string(fields[0]);
  p.ppid = parse_int(fields[1]).value_or(-1);
  p.start = std::string(fields[19]);
  return p;
}

}  // namespace tuner_detail

using tuner_detail::proc_info;
using tuner_detail::state_path;

// ---- one hook call ----

Tuner::Impl::Impl(HostIo& i, std::ostream& o, const TunerOptions& op) : io(i), out(o), opt(op) {
  boot = std::string(trim(io.read("/proc/sys/kernel/random/boot_id").value_or("")));
  host = load(kHostState);
  // Kept across a reboot (a /run that is not a tmpfs): the settings it
  // records are gone; acting on it would take from the new boot's pool.
  if (stale(host)) host = json::object();
}

bool Tuner::Impl::stale(const json& j) const {
  return j.is_object() && j.contains("boot") && !boot.empty() && j.value("boot", "") != boot;
}

// --- logging -----------------------------------------------------------
void Tuner::Impl::log(const std::string& message) {
  std::string line = std::string(opt.libvirt_log ? "vfioctl hook: " : "vfioctl tune: ") +
                     (domain.empty() ? "" : domain + ": ") + message;
  out << line << "\n";
  out.flush();
  if (opt.libvirt_log && !domain.empty() && io.exists("/var/log/libvirt/qemu"))
    io.append("/var/log/libvirt/qemu/" + domain + ".log", utc_now() + " " + line);
}

void Tuner::Impl::over_budget(const std::string& action, double took, double budget, const std::string& advice) {
  if (took > budget)
    log(fmt::format("{} took {:.1f} s, over its {:.0f} s budget{}", action, took, budget,
                    advice.empty() ? "" : ": " + advice));
}

void Tuner::Impl::checkpoint(const std::string& name) {
  if (opt.pause_at != name) return;
  out << "vfioctl hook: paused at " << name << " (pid " << ::getpid() << ")" << std::endl;
  for (;;) ::pause();
}

// --- state files -------------------------------------------------------
namespace {

// The shape of the records the hook writes: every field the code reads,
// with its type, so a damaged or crafted record is set aside whole instead
// of failing (or misleading) the code that reads one field of it.
enum class Kind { string, number, boolean, strings, any };

bool is(const json& v, Kind k) {
  switch (k) {
    case Kind::string: return v.is_string();
    case Kind::number: return v.is_number();
    case Kind::boolean: return v.is_boolean();
    case Kind::strings:
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
    case Kind::any: return true;
  }
  return false;
}

// Fields of `j` named in `fields` have their kind (absent is fine; null is
// fine where the code writes null).
bool fields_ok(const json& j, std::initializer_list<std::pair<const char*, Kind>> fields) {
  if (!j.is_object()) return false;
  for (const auto& [key, kind] : fields) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_null() && !is(*it, kind)) return false;
  }
  return true;
}

// An object whose keys are numbers (CPUs, IRQs) and whose values are strings.
bool numbered_strings(const json& j) {
  if (j.is_null()) return true;
  if (!j.is_object()) return false;
  for (const auto& [key, value] : j.items()) {
    auto n = parse_int(key);
    if (!n || *n < 0 || *n > std::numeric_limits<int>::max() || std::to_string(*n) != key || !value.is_string())
      return false;
  }
  return true;
}

bool objects_of(const json& j, const std::function<bool(const json&)>& ok) {
  if (j.is_null()) return true;
  if (!j.is_object()) return false;
  return std::all_of(j.begin(), j.end(), ok);
}

bool host_record_ok(const json& j) {
  using K = Kind;
  if (!fields_ok(j, {{"version", K::number}, {"updated", K::string}, {"boot", K::string}, {"irq_default", K::string}}))
    return false;
  if (!objects_of(j.value("holders", json()), [](const json& h) {
        return fields_ok(h, {{"cpus", K::string}, {"actions", K::strings}});
      }))
    return false;
  if (json iso = j.value("isolate", json()); !iso.is_null()) {
    if (!fields_ok(iso, {{"mechanism", K::string},
                         {"parent", K::string},
                         {"cgroup", K::string},
                         {"created", K::boolean},
                         {"enabled_cpuset", K::boolean},
                         {"leftover", K::boolean},
                         {"moved", K::number}}))
      return false;
    if (!objects_of(iso.value("units", json()), [](const json& u) { return u.is_string(); })) return false;
    if (!objects_of(iso.value("affinity", json()), [](const json& a) {
          return fields_ok(a, {{"start", K::string}, {"cpus", K::string}});
        }))
      return false;
  }
  return numbered_strings(j.value("governor", json())) && numbered_strings(j.value("irq", json()));
}

bool guest_record_ok(const json& j) {
  using K = Kind;
  if (!fields_ok(j, {{"version", K::number},
                     {"domain", K::string},
                     {"uuid", K::string},
                     {"actions", K::strings},
                     {"phase", K::string},
                     {"updated", K::string},
                     {"boot", K::string},
                     {"cpus", K::string},
                     {"via", K::string}}))
    return false;
  if (json p = j.value("process", json()); !p.is_null() && !fields_ok(p, {{"pid", K::number}, {"start", K::string}}))
    return false;
  if (json c = j.value("cgroup", json());
      !c.is_null() &&
      !fields_ok(c, {{"mechanism", K::string}, {"path", K::string}, {"parent", K::string}, {"unit", K::string}}))
    return false;
  json hp = j.value("hugepages", json());
  return hp.is_null() || fields_ok(hp, {{"size_kib", K::number},
                                        {"node", K::number},
                                        {"pool", K::string},
                                        {"need", K::number},
                                        {"before", K::number},
                                        {"target", K::number},
                                        {"added", K::number}});
}

}  // namespace

json Tuner::Impl::load(const std::string& path) {
  auto text = io.read(path);
  if (!text) return json::object();
  try {
    auto j = parse_json(*text);
    if (j.is_object() && (path == kHostState ? host_record_ok(j) : guest_record_ok(j))) return j;
  } catch (const json::exception&) {
  }
  log(
      fmt::format("{} is not a record this hook wrote (not JSON, or a field of the wrong kind): starting from an "
                  "empty record (the file is left as {}.bad)",
                  path, path));
  io.save(path + ".bad", *text);
  return json::object();
}

std::vector<std::pair<std::string, std::string>> Tuner::Impl::state_files() {
  std::vector<std::pair<std::string, std::string>> r;
  std::set<std::string> seen;
  for (const char* dir : {kGuestStateDir, kStateDir}) {
    for (const auto& f : io.list(dir).value_or(std::vector<std::string>{})) {
      if (!ends_with(f, ".json") || (std::string_view(dir) == kStateDir && f == "host.json")) continue;
      std::string dom = f.substr(0, f.size() - 5);
      if (seen.insert(dom).second) r.emplace_back(dom, std::string(dir) + "/" + f);
    }
  }
  return r;
}

void Tuner::Impl::adopt_legacy() {
  for (const auto& [dom, path] : state_files()) {
    if (path == state_path(dom)) continue;
    if (auto text = io.read(path)) io.save(state_path(dom), *text);
    io.remove(path);
    out << "vfioctl hook: moved " << path << " to " << state_path(dom) << "\n";
  }
}

void Tuner::Impl::save_host() {
  bool empty = true;
  for (const char* k : {"holders", "isolate", "governor", "irq", "irq_default"})
    if (host.contains(k) && !host[k].empty()) empty = false;
  if (empty) {
    if (!m_saved.empty() || io.exists(kHostState)) io.remove(kHostState);
    m_saved.clear();
    return;
  }
  host["version"] = 1;
  if (!boot.empty()) host["boot"] = boot;
  json record = host;
  record.erase("updated");
  std::string text = record.dump();
  if (text == m_saved) return;  // nothing changed since the last write
  host["updated"] = utc_now();
  io.save(kHostState, host.dump(2) + "\n");
  m_saved = text;
}

std::vector<int> Tuner::Impl::online() {
  auto text = io.read("/sys/devices/system/cpu/online");
  if (auto cpus = text ? parse_cpulist(*text) : std::nullopt; cpus && !cpus->empty()) return *cpus;
  throw Error(ExitCode::refused, "/sys/devices/system/cpu/online cannot be read: is /sys mounted?");
}

// Union of the holders' CPUs for one action.
std::vector<int> Tuner::Impl::held(const std::string& action) {
  std::set<int> u;
  json holders = host.value("holders", json::object());
  for (const auto& [dom, h] : holders.items()) {
    auto actions = h.value("actions", std::vector<std::string>{});
    if (std::find(actions.begin(), actions.end(), action) == actions.end()) continue;
    if (auto c = parse_cpulist(h.value("cpus", ""))) u.insert(c->begin(), c->end());
  }
  return {u.begin(), u.end()};
}

// --- shared settings -------------------------------------------------------
void Tuner::Impl::reconcile() {
  double t0 = io.now();
  apply_isolate(held("isolate"));
  over_budget("CPU isolation", io.now() - t0, opt.budgets.isolate, "");
  t0 = io.now();
  apply_governor(held("governor"));
  over_budget("the governor change", io.now() - t0, opt.budgets.governor, "");
  t0 = io.now();
  apply_irq(held("irq"));
  over_budget("the IRQ affinity change", io.now() - t0, opt.budgets.irq, "");
  save_host();
}

bool Tuner::Impl::follows_live(const json& st) {
  json p = st.value("process", json());
  if (!p.is_object() || !p.value("pid", json()).is_number_integer()) return false;
  long long pid = p["pid"].get<long long>();
  if (pid <= 0) return false;
  auto info = proc_info(io, std::to_string(pid));
  return info && info->start == p.value("start", "") && info->state != "Z" && info->state != "X";
}

bool Tuner::Impl::running(const std::string& dom) {
  json st = io.exists(state_path(dom)) ? load(state_path(dom)) : json::object();
  if (st.contains("process")) return follows_live(st);
  auto pid = io.read("/run/libvirt/qemu/" + dom + ".pid");
  if (!pid) return false;
  auto p = parse_int(*pid);
  return p && io.exists("/proc/" + std::to_string(*p) + "/stat");
}

Tuner::Tuner(HostIo& io, std::ostream& log, TunerOptions options) : m_io(io), m_log(log), m_opt(std::move(options)) {}

int Tuner::run(const std::string& operation, const std::string& sub_operation, const DomainTune& d) {
  (void)sub_operation;
  if (!d.opted_in || d.actions.empty()) return 0;
  try {
    if (operation == "prepare")
      prepare(d);
    else if (operation == "started")
      started(d);
    else if (operation == "release")
      release(d.name);
    return 0;
  } catch (const Error& e) {
    m_log << "vfioctl hook: " << d.name << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    // A host file that cannot be written: before the guest starts, it must
    // not start half-prepared; afterwards the guest runs untuned (the
    // record says what was done) and `hook recover` can finish the work.
    m_log << "vfioctl hook: " << d.name << ": " << operation << ": " << e.what() << "\n";
    return operation == "prepare" ? 1 : 0;
  }
}

void Tuner::prepare(const DomainTune& d) {
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.adopt_legacy();
  impl.domain = d.name;
  // State left by a run that never reached release (a crash) goes first.
  if (m_io.exists(state_path(d.name))) {
    impl.log("prepare: state of an earlier run that was never released: releasing it first");
    lock.reset();
    release(d.name);
    lock = m_io.lock();
    impl.host = impl.load(kHostState);
  }
  json st = {{"version", 1},        {"domain", d.name},     {"uuid", d.uuid},   {"actions", d.actions},
             {"phase", "prepared"}, {"updated", utc_now()}, {"boot", impl.boot}};
  if (d.process > 0) {
    st["via"] = "script";
    auto p = proc_info(m_io, std::to_string(d.process));
    if (!p) throw Error(ExitCode::bad_input, fmt::format("prepare: no process {} to follow", d.process));
    st["process"] = {{"pid", d.process}, {"start", p->start}};
  }
  m_io.save(state_path(d.name), st.dump(2) + "\n");
  if (d.wants("hugepages")) impl.prepare(d, st);
}

void Tuner::started(const DomainTune& d) {
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.adopt_legacy();
  impl.domain = d.name;
  json st = impl.load(state_path(d.name));
  if (st.empty() || impl.stale(st)) st = {{"version", 1}, {"domain", d.name}, {"uuid", d.uuid}, {"actions", d.actions}};
  st["boot"] = impl.boot;
  st["phase"] = "started";
  st["updated"] = utc_now();
  std::vector<std::string> shared;
  for (const auto& a : d.actions)
    if (a != "hugepages") shared.push_back(a);
  if (shared.empty()) {
    m_io.save(state_path(d.name), st.dump(2) + "\n");
    return;
  }
  if (d.vcpu_cpus.empty()) {
    m_io.save(state_path(d.name), st.dump(2) + "\n");
    impl.log(
        "started: the vCPUs are not pinned (<cputune><vcpupin>): no CPUs to isolate, governor and IRQs left alone");
    return;
  }
  std::string cpus = format_cpulist(d.vcpu_cpus);
  st["cpus"] = cpus;
  m_io.save(state_path(d.name), st.dump(2) + "\n");
  impl.host["holders"][d.name] = {{"cpus", cpus}, {"actions", shared}};
  impl.save_host();
  impl.reconcile();
}

void Tuner::release(const std::string& domain) {
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.adopt_legacy();
  impl.domain = domain;
  json st = impl.load(state_path(domain));
  if (impl.stale(st)) {
    impl.log("release: the record is from before a reboot, whose settings are gone: dropped without touching the host");
    m_io.remove(state_path(domain));
    st = json::object();
  }
  bool held = impl.host.contains("holders") && impl.host["holders"].contains(domain);
  if (st.empty() && !held) return;
  impl.give_back_pages(st);
  if (st.contains("hugepages")) {
    m_io.save(state_path(domain), st.dump(2) + "\n");
    throw Error(ExitCode::refused,
                "release: the hugepages could not be given back; 'vfioctl hook recover' tries again");
  }
  if (held) {
    impl.host["holders"].erase(domain);
    impl.save_host();
  }
  impl.reconcile();
  impl.remove_guest_cgroup(st);
  m_io.remove(state_path(domain));
}

void Tuner::start(const DomainTune& d) {
  try {
    prepare(d);
    if (d.wants("isolate")) place(d.name, d.process);
    started(d);
  } catch (...) {
    try {
      release(d.name);
    } catch (const std::exception& e) {
      m_log << "vfioctl tune: " << d.name << ": giving back failed too: " << e.what()
            << "; 'vfioctl hook recover --apply' tries again\n";
    }
    throw;
  }
}

void Tuner::place(const std::string& domain, pid_t pid) {
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.domain = domain;
  json st = impl.load(state_path(domain));
  if (st.empty()) throw Error(ExitCode::refused, fmt::format("place: no tuning state for '{}'", domain));
  impl.place_cgroup(st, pid);
}

void Tuner::follow(const std::string& domain, pid_t pid) {
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.domain = domain;
  json st = impl.load(state_path(domain));
  if (st.empty()) throw Error(ExitCode::refused, fmt::format("no tuning state for '{}'", domain));
  auto p = proc_info(m_io, std::to_string(pid));
  if (!p || p->state == "Z") throw Error(ExitCode::bad_input, fmt::format("no running process {} to follow", pid));
  st["via"] = "script";
  st["process"] = {{"pid", pid}, {"start", p->start}};
  st["updated"] = utc_now();
  m_io.save(state_path(domain), st.dump(2) + "\n");
  impl.log(fmt::format("following process {} ({}): released when it ends", pid, p->comm));
}

bool Tuner::release_when_gone(const std::string& domain, pid_t pid) {
  std::ostringstream quiet;
  json followed;
  for (;;) {
    Impl impl(m_io, quiet, m_opt);
    json st = impl.load(state_path(domain));
    json p = st.value("process", json());
    if (!p.is_object()) return false;
    if (followed.is_null()) {
      if (p.value("pid", 0LL) != pid) return false;
      followed = p;  // with its start time: a pid reused later is another process
    }
    if (p != followed) return false;
    if (!impl.follows_live(st)) break;
    m_io.wait_exit(static_cast<pid_t>(p.value("pid", 0LL)), 60.0);
  }
  {
    Impl impl(m_io, m_log, m_opt);
    impl.domain = domain;
    impl.log(fmt::format("process {} ended: releasing", followed.value("pid", 0LL)));
  }
  release(domain);
  return true;
}

std::vector<StateSummary> Tuner::states() {
  Impl impl(m_io, m_log, m_opt);
  std::vector<StateSummary> r;
  for (const auto& [dom, path] : impl.state_files()) {
    json st = impl.load(path);
    if (impl.stale(st)) continue;  // from before a reboot: recover drops it
    StateSummary s;
    s.domain = st.value("domain", dom);
    s.phase = st.value("phase", "");
    // The record just read says whom it follows (the libvirt pid file otherwise).
    s.running = st.contains("process") ? impl.follows_live(st) : impl.running(dom);
    s.via = st.value("via", "libvirt");
    if (st.value("process", json()).is_object()) s.pid = static_cast<pid_t>(st["process"].value("pid", 0LL));
    s.cpus = st.value("cpus", "");
    s.actions = st.value("actions", std::vector<std::string>{});
    if (st.contains("hugepages")) {
      s.hugepage_kib = st["hugepages"].value("size_kib", 0LL);
      s.pages_added = st["hugepages"]["added"].is_number() ? st["hugepages"]["added"].get<long long>() : -1;
      s.pool = st["hugepages"].value("pool", "");
    }
    r.push_back(s);
  }
  return r;
}

std::vector<std::string> Tuner::stale_domains() {
  Impl impl(m_io, m_log, m_opt);
  std::set<std::string> doms;
  for (const auto& s : states())
    if (!s.running) doms.insert(s.domain);
  json holders = impl.host.value("holders", json::object());
  for (const auto& [dom, h] : holders.items())
    if (!impl.running(dom)) doms.insert(dom);
  return {doms.begin(), doms.end()};
}

std::vector<std::string> Tuner::recover(const std::vector<std::string>& domains) {
  {
    auto lock = m_io.lock();
    Impl impl(m_io, m_log, m_opt);
    impl.adopt_legacy();
    for (const auto& [dom, path] : impl.state_files()) {
      if (impl.stale(impl.load(path))) {
        m_log << "vfioctl hook: " << path << " is from before a reboot: dropped\n";
        m_io.remove(path);
      }
    }
  }
  std::vector<std::string> done;
  for (const auto& d : domains) {
    release(d);
    done.push_back(d);
  }
  // Shared settings whose holders are all gone (or a crash in the middle
  // of a restore) come back to their originals here.
  auto lock = m_io.lock();
  Impl impl(m_io, m_log, m_opt);
  impl.reconcile();
  return done;
}

std::string Tuner::host_state_json() {
  auto text = m_io.read(kHostState);
  if (!text) return "";
  try {
    return parse_json(*text).dump(2) + "\n";
  } catch (const json::exception&) {
    return "";  // unreadable: the next hook call sets it aside as host.json.bad
  }
}

std::optional<std::string> Tuner::leftover_cgroup() {
  std::ostringstream quiet;
  Impl impl(m_io, quiet, m_opt);
  json iso = impl.host.value("isolate", json::object());
  if (!iso.is_object() || !iso.value("leftover", false)) return std::nullopt;
  return iso.value("cgroup", std::string());
}

}  // namespace vfioctl::runtime
