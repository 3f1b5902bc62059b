// vfioctl tune: what the libvirt hook does for a libvirt guest, for a guest
// that plain QEMU runs (the script `vfioctl new --qemu-script` writes calls
// it): `start` before QEMU starts, `stop --after QEMU_PID` once it runs.
// Same tuner (runtime/tuner.h), same state in /run/vfioctl, so `hook status`
// and `hook recover` see these guests too.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.h"
#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/runtime/host_io.h"
#include "vfioctl/runtime/tune_checks.h"
#include "vfioctl/runtime/tuner.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/json_writer.h"
#include "vfioctl/util/names.h"
#include "vfioctl/util/process.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/units.h"

namespace vfioctl::cli {

namespace {

using namespace vfioctl::runtime;

struct StartOptions {
  runtime::TuneRequest request;
  int node = -1;
  int pid = 0;
  bool apply = false;
};

struct StopOptions {
  std::string name, log;
  int after = 0;
  bool apply = false, force = false;
};

std::optional<StateSummary> state_of(Tuner& t, const std::string& name) {
  for (const auto& s : t.states())
    if (s.domain == name) return s;
  return std::nullopt;
}

// What start does, one line an action.
std::vector<std::string> start_lines(const DomainTune& d, pid_t pid) {
  std::vector<std::string> r;
  std::string cpus = format_cpulist(d.vcpu_cpus);
  if (d.wants("hugepages")) {
    long long kib = *d.hugepage_kib;
    std::string size = kib == 0 ? std::string("default-size") : size_text_kib(kib, {.spelled = true});
    r.push_back(fmt::format("hugepages: the pool grows by what it lacks for {} MiB of {} pages{}", d.memory_kib / 1024,
                            size, d.node ? fmt::format(" on node {}", *d.node) : ""));
  }
  if (d.wants("isolate"))
    r.push_back(
        fmt::format("isolate: host processes kept off CPUs {}; process {} (and the QEMU it starts) in a "
                    "cgroup of the guest's own",
                    cpus, pid));
  if (d.wants("governor")) r.push_back(fmt::format("governor: performance on CPUs {}", cpus));
  if (d.wants("irq")) r.push_back(fmt::format("irq: IRQ affinity off CPUs {}", cpus));
  return r;
}

void print_start_json(const DomainTune& d, bool applied) {
  JsonWriter w(std::cout);
  w.begin_object();
  w.field("applied", applied);
  w.field("domain", d.name);
  w.field("actions", d.actions);
  w.field("cpus", format_cpulist(d.vcpu_cpus));
  w.field("pid", static_cast<long long>(d.process));
  w.end_object();
  w.finish();
}

void run_start(const GlobalOptions& g, StartOptions o) {
  if (o.node >= 0) o.request.node = o.node;
  DomainTune d = tune_request(o.request);
  d.process = o.pid > 0 ? o.pid : ::getppid();
  Root root = open_root(g);
  auto io = live_io(root.dir().string());
  check_tune_host(*io, d, o.request.hugepages);
  std::ostringstream quiet;
  Tuner probe(*io, quiet);
  if (auto s = state_of(probe, d.name); s && s->running)
    throw Error(ExitCode::refused,
                fmt::format("'{}' is tuned already and its {} runs: 'vfioctl tune stop {} --apply' first", d.name,
                            s->pid ? fmt::format("process {}", s->pid) : std::string("QEMU"), d.name));
  auto lines = start_lines(d, d.process);
  if (!o.apply) {
    if (g.json) return print_start_json(d, false);
    std::cout << "would tune " << d.name << ":\n";
    for (const auto& l : lines) std::cout << "  " << l << "\n";
    std::cout << "\nOnce QEMU runs, 'vfioctl tune stop " << d.name
              << " --after QEMU_PID --apply' gives it all back when QEMU ends.\n"
                 "Dry run: nothing was changed. Add --apply to do it.\n";
    return;
  }
  require_root_user(root, "tune start --apply");
  TunerOptions opt;
  opt.self = ::getpid();
  opt.libvirt_log = false;
  Tuner t(*io, std::cerr, opt);
  t.start(d);
  if (g.json) return print_start_json(d, true);
  std::cout << d.name << ": tuned (" << join(d.actions, ", ") << ").\n";
}

void run_stop(const GlobalOptions& g, const StopOptions& o) {
  if (auto problem = guest_name_problem(o.name)) throw input_error(fmt::format("tune stop: {}", *problem));
  Root root = open_root(g);
  auto io = live_io(root.dir().string());
  std::ostringstream quiet;
  Tuner probe(*io, quiet);
  auto s = state_of(probe, o.name);
  if (!s) {
    std::vector<std::string> known;
    for (const auto& st : probe.states()) known.push_back(st.domain);
    throw input_error(fmt::format("no tuning state for '{}' in {}; guests with state: {}", o.name, kStateDir,
                                  known.empty() ? "none" : join(known, ", ")));
  }
  if (o.after > 0) {
    if (!root.is_live())
      throw input_error(
          fmt::format("--after {}: a watcher waits for a process of this host; not with --root", o.after));
    if (!root.exists("/proc/" + std::to_string(o.after) + "/stat"))
      throw input_error(fmt::format("--after {}: no such process (is QEMU running?)", o.after));
  } else if (s->running && !o.force) {
    throw Error(ExitCode::refused,
                fmt::format("'{}' is running ({}): its tuning is in use; stop QEMU first, or give back now with "
                            "--force, or have it given back when QEMU ends with --after QEMU_PID",
                            o.name, s->pid ? fmt::format("process {}", s->pid) : std::string("its QEMU")));
  }
  std::string log = o.log.empty() ? std::string(kGuestStateDir) + "/" + o.name + ".log" : o.log;
  if (!o.apply) {
    if (g.json) {
      JsonWriter w(std::cout);
      w.begin_object();
      w.field("applied", false);
      w.field("domain", o.name);
      w.field("after", o.after > 0 ? std::optional<long long>(o.after) : std::nullopt);
      w.end_object();
      w.finish();
      return;
    }
    std::cout << (o.after > 0 ? fmt::format("would give back what {} holds once process {} ends", o.name, o.after)
                              : fmt::format("would give back what {} holds now", o.name))
              << "\n\nDry run: nothing was changed. Add --apply to do it.\n";
    return;
  }
  require_root_user(root, "tune stop --apply");
  TunerOptions opt;
  opt.self = ::getpid();
  opt.libvirt_log = false;
  if (o.after > 0) {
    Tuner t(*io, std::cerr, opt);
    t.follow(o.name, o.after);
    std::string log_path = root.is_live() ? log : (root.dir() / log.substr(1)).string();
    std::string name = o.name;
    pid_t qemu = o.after;
    std::shared_ptr<HostIo> shared(std::move(io));
    pid_t watcher = spawn_detached(
        [shared, opt, name, qemu] {
          Tuner w(*shared, std::cerr, opt);
          w.release_when_gone(name, qemu);
          return 0;
        },
        log_path);
    if (g.json) {
      JsonWriter w(std::cout);
      w.begin_object();
      w.field("applied", true);
      w.field("domain", o.name);
      w.field("after", static_cast<long long>(o.after));
      w.field("watcher", static_cast<long long>(watcher));
      w.field("log", log);
      w.end_object();
      w.finish();
      return;
    }
    std::cout << fmt::format("{}: given back when process {} ends (watched by process {}; log {}).\n", o.name, o.after,
                             watcher, log);
    return;
  }
  Tuner t(*io, std::cerr, opt);
  t.release(o.name);
  if (g.json) {
    JsonWriter w(std::cout);
    w.begin_object();
    w.field("applied", true);
    w.field("domain", o.name);
    w.end_object();
    w.finish();
    return;
  }
  std::cout << "Released " << o.name << ".\n";
}

}  // namespace

void add_tune(CLI::App& app, GlobalOptions& g) {
  CLI::App* cmd = app.add_subcommand("tune", "tune the host for a plain-QEMU guest (what the libvirt hook does)");
  cmd->description(
      "Tunes the host while a guest that plain QEMU runs is up, as 'vfioctl hook' does for libvirt guests,\n"
      "through the same code and state (/run/vfioctl): 'vfioctl hook status' and 'vfioctl hook recover'\n"
      "see these guests too. The script 'vfioctl new --qemu-script' writes calls it; by hand:\n"
      "  1. tune start NAME ... --apply      before QEMU starts (the calling shell is placed outside\n"
      "                                      the host confinement, so the QEMU it starts keeps every CPU)\n"
      "  2. start QEMU (-daemonize -pidfile F), pin it ('vfioctl pin')\n"
      "  3. tune stop NAME --after $(cat F) --apply\n"
      "                                      a detached watcher gives it all back when QEMU ends");
  cmd->require_subcommand(1);
  cmd->footer(
      "\nExamples:\n"
      "  sudo vfioctl tune start win11 --actions hugepages,isolate,governor,irq --cpus 2-7 \\\n"
      "       --memory 16G --hugepages 2M --apply\n"
      "  sudo vfioctl tune stop win11 --after \"$(cat /run/vfioctl/qemu/win11/qemu.pid)\" --apply\n"
      "  sudo vfioctl hook recover --apply      # after a crash: give back what ended guests held\n");

  auto so = std::make_shared<StartOptions>();
  CLI::App* start = cmd->add_subcommand("start",
                                        "reserve hugepages, keep host processes off the guest's CPUs, "
                                        "performance governor, IRQs moved (dry run without --apply)");
  start->add_option("name", so->request.name, "the guest's name (names its state file)")->required();
  start->add_option("--actions", so->request.actions, "hugepages,isolate,governor,irq (any of them)")
      ->default_str("hugepages,isolate,governor,irq");
  so->request.actions = "hugepages,isolate,governor,irq";
  start->add_option("--cpus", so->request.cpus, "the host CPUs the vCPUs are pinned to (2-7)");
  start->add_option("--memory", so->request.memory, "the guest's memory (16G), for hugepages");
  start->add_option("--hugepages", so->request.hugepages, "its page size: 2M, 1G or default");
  start->add_option("--node", so->node, "the NUMA node the memory is bound to");
  start->add_option("--pid", so->pid, "the process that goes on to start QEMU (default: the shell that runs vfioctl)");
  start->add_flag("--apply", so->apply, "do it (without: say what would be done)");
  start->callback([&g, so] { run_start(g, *so); });

  auto sto = std::make_shared<StopOptions>();
  CLI::App* stop = cmd->add_subcommand("stop", "give back what a guest holds, now or when its QEMU ends");
  stop->add_option("name", sto->name, "the guest's name")->required();
  stop->add_option("--after", sto->after,
                   "QEMU's pid: wait (detached) for it to end, then give back; it also tells 'hook recover' "
                   "whether the guest still runs");
  stop->add_option("--log", sto->log, "the watcher's log (default /run/vfioctl/guests/NAME.log)");
  stop->add_flag("--apply", sto->apply, "do it (without: say what would be done)");
  stop->add_flag("--force", sto->force, "give back now although the guest's process still runs");
  stop->callback([&g, sto] { run_stop(g, *sto); });
}

}  // namespace vfioctl::cli
