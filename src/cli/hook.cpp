// vfioctl hook: the libvirt hook that tunes the host while a guest runs
// (runtime/tuner.h), and the commands around it: install, uninstall,
// status, recover.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli.h"
#include "vfioctl/host/access.h"
#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/runtime/host_io.h"
#include "vfioctl/runtime/tuner.h"
#include "vfioctl/setup/libvirt_hook.h"
#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/diff.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/json_writer.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/names.h"
#include "vfioctl/util/shell.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

using namespace vfioctl::runtime;

constexpr const char* kHookFile = kLibvirtHookFile;

std::string self_binary() {
  std::string p = self_executable();
  return p.empty() ? std::string("/usr/local/bin/vfioctl") : p;
}

struct InstallOptions {
  bool apply = false;
  std::string binary;
};

void print_change(const setup::FileChange& c, bool json, bool applied, const std::vector<std::string>& notes,
                  const std::optional<setup::JournalEntry>& entry) {
  if (json) {
    JsonWriter w(std::cout);
    w.begin_object();
    w.field("path", c.path);
    w.field("changed", c.before != c.after);
    w.field("applied", applied);
    w.field("journal", entry ? std::optional<std::string>(entry->id) : std::nullopt);
    w.field("diff", unified_diff(c.path, c.before, c.after));
    w.field("notes", notes);
    w.end_object();
    w.finish();
    return;
  }
  if (c.before == c.after) {
    std::cout << c.path << " is already as wanted: nothing to do.\n";
  } else if (!applied) {
    std::cout << unified_diff(c.path, c.before, c.after);
  } else {
    std::cout << (c.after ? "wrote " : "removed ") << c.path << (entry ? " (journal entry " + entry->id + ")" : "")
              << "\n";
  }
  if (!notes.empty() && c.before != c.after) std::cout << "\n";
  for (const auto& n : notes) std::cout << n << "\n";
  if (!applied && c.before != c.after) std::cout << "\nDry run: nothing was written. Add --apply to do it.\n";
}

void run_install(const GlobalOptions& g, const InstallOptions& o, bool install) {
  Root root = open_root(g);
  auto binary = install ? std::optional<std::string>(o.binary.empty() ? self_binary() : o.binary) : std::nullopt;
  auto [c, notes] = setup::plan_libvirt_hook(root, binary);
  if (!install) {
    if (!c.before) {
      if (g.json)
        print_change(c, true, false, {}, std::nullopt);
      else
        std::cout << kHookFile << " is not installed: nothing to do.\n";
      return;
    }
    auto io = live_io(root.dir().string());
    std::ostringstream ignore;
    Tuner t(*io, ignore);
    auto st = t.states();
    if (!st.empty()) {
      std::vector<std::string> names;
      for (const auto& s : st) names.push_back(s.domain);
      notes.push_back(
          fmt::format("warning: tuning is in force for {}; without the hook its release will not run: after they "
                      "stop, run 'vfioctl hook recover --apply'.",
                      join(names, ", ")));
    }
    notes.push_back("Restart libvirtd (or virtqemud) so that it stops calling the hook.");
  }
  if (!o.apply || c.before == c.after) {
    print_change(c, g.json, false, notes, std::nullopt);
    return;
  }
  require_root_user(root, install ? "hook install --apply" : "hook uninstall --apply");
  setup::Plan plan;
  plan.files.push_back(c);
  auto entry = setup::apply(root, real_fs(), plan, typed_command_line());
  if (install && setup::libvirtd_running(root))
    notes.insert(notes.begin(), "libvirtd is running and has not seen the hook yet: restart it.");
  print_change(c, g.json, true, notes, entry);
}

// --- run ---------------------------------------------------------------------

struct RunOptions {
  std::string domain, operation, sub_operation, extra;
};

void run_hook(GlobalOptions& g, const RunOptions& o) {
  std::string xml = read_input_file("-", "the domain XML on stdin", limits::kDomainXmlBytes);
  if (trim(xml).empty())
    throw input_error(
        fmt::format("hook run {} {}: no domain XML on stdin (libvirt passes it; to try by hand: "
                    "virsh dumpxml {} | vfioctl hook run {} {} {} -)",
                    o.domain, o.operation, o.domain, o.domain, o.operation, o.sub_operation));
  DomainTune d = parse_domain_tune(xml);
  if (!d.opted_in) return;  // the common case: not ours, nothing read or written
  if (!o.domain.empty()) d.name = o.domain;
  if (auto problem = guest_name_problem(d.name))
    throw input_error(fmt::format("hook run {}: {}: rename the guest ('virsh domrename OLD NEW') to have it tuned",
                                  o.operation, *problem));
  Root root = open_root(g);
  auto io = live_io(root.dir().string());
  TunerOptions opt;
  opt.self = ::getpid();
  if (const char* p = std::getenv("VFIOCTL_HOOK_PAUSE")) opt.pause_at = p;
  Tuner t(*io, std::cerr, opt);
  g.exit_code = t.run(o.operation, o.sub_operation, d);
}

// --- status and recover --------------------------------------------------------

void write_state(JsonWriter& w, const StateSummary& s) {
  w.begin_object();
  w.field("domain", s.domain);
  w.field("phase", s.phase);
  w.field("running", s.running);
  w.field("via", s.via);
  w.field("pid", s.pid > 0 ? std::optional<long long>(s.pid) : std::nullopt);
  w.field("actions", s.actions);
  w.field("cpus", s.cpus);
  w.key("hugepages");
  if (s.hugepage_kib) {
    w.begin_object();
    w.field("size_kib", *s.hugepage_kib);
    w.field("added", s.pages_added >= 0 ? std::optional<long long>(s.pages_added) : std::nullopt);
    w.field("pool", s.pool);
    w.end_object();
  } else {
    w.value(nullptr);
  }
  w.end_object();
}

std::string describe(const StateSummary& s) {
  std::string r = fmt::format("{} ({}{}{}):", s.domain, s.phase.empty() ? "no phase" : s.phase,
                              s.via == "script" ? fmt::format(", plain QEMU, process {}", s.pid) : "",
                              s.running ? ", running" : ", not running");
  if (s.hugepage_kib)
    r += s.pages_added >= 0 ? fmt::format(" {} {} kB pages added to {};", s.pages_added, *s.hugepage_kib, s.pool)
                            : fmt::format(" {} kB pages being added to {} (interrupted);", *s.hugepage_kib, s.pool);
  if (!s.cpus.empty()) r += fmt::format(" CPUs {} kept for it ({});", s.cpus, join(s.actions, ", "));
  if (r.back() == ':')
    r += " nothing in force";
  else
    r.pop_back();
  return r;
}

void run_status(const GlobalOptions& g) {
  Root root = open_root(g);
  auto io = live_io(root.dir().string());
  std::ostringstream quiet;
  Tuner t(*io, quiet);
  auto states = t.states();
  bool installed = setup::libvirt_hook_installed(root);
  std::string host = t.host_state_json();
  if (g.json) {
    JsonWriter w(std::cout);
    w.begin_object();
    w.field("installed", installed);
    w.field("hook", std::string(kHookFile));
    w.key("guests");
    w.begin_array();
    for (const auto& s : states) write_state(w, s);
    w.end_array();
    w.key("host");
    // host.json as recorded (docs/hook.md); null when nothing shared is in force.
    w.raw(host.empty() ? "null" : std::string(trim(host)));
    w.end_object();
    w.finish();
    return;
  }
  std::cout << "hook: " << (installed ? std::string(kHookFile) : "not installed ('vfioctl hook install')") << "\n";
  if (states.empty() && host.empty()) {
    std::cout << "No tuning in force.\n";
    return;
  }
  for (const auto& s : states) std::cout << "  " << describe(s) << "\n";
  if (!host.empty()) std::cout << "Shared settings and their originals (" << kHostState << "):\n" << host;
  if (auto cg = t.leftover_cgroup())
    std::cout << fmt::format(
        "\n{} could not be removed when the last tuned guest stopped (processes kept forking into it); it has "
        "every CPU, so nothing in it is confined. 'vfioctl hook recover --apply' removes it.\n",
        *cg);
  auto stale = t.stale_domains();
  if (!stale.empty())
    std::cout << fmt::format("\n{} not running: 'vfioctl hook recover --apply' gives back what they hold.\n",
                             join(stale, ", "));
}

struct RecoverOptions {
  std::vector<std::string> domains;
  bool apply = false, force = false;
};

void run_recover(const GlobalOptions& g, const RecoverOptions& o) {
  Root root = open_root(g);
  auto io = live_io(root.dir().string());
  std::ostringstream quiet;
  Tuner probe(*io, quiet);
  auto states = probe.states();
  std::vector<std::string> targets = o.domains;
  if (targets.empty()) {
    targets = probe.stale_domains();
  } else {
    for (const auto& d : targets) {
      auto it = std::find_if(states.begin(), states.end(), [&](const StateSummary& s) { return s.domain == d; });
      bool held = probe.host_state_json().find("\"" + d + "\"") != std::string::npos;
      if (it == states.end() && !held) {
        std::vector<std::string> known;
        for (const auto& s : states) known.push_back(s.domain);
        throw input_error(fmt::format("no tuning state for '{}' in {}; guests with state: {}", d, kStateDir,
                                      known.empty() ? "none" : join(known, ", ")));
      }
      if (it != states.end() && it->running && !o.force)
        throw Error(ExitCode::refused,
                    fmt::format("'{}' is running: its tuning is in use; stop the guest first (its release "
                                "then gives everything back), or add --force",
                                d));
    }
  }
  if (!o.apply) {
    if (g.json) {
      JsonWriter w(std::cout);
      w.begin_object();
      w.field("applied", false);
      w.field("domains", targets);
      w.end_object();
      w.finish();
      return;
    }
    if (targets.empty() && probe.host_state_json().empty()) {
      std::cout << "No stopped guest holds anything: nothing to do.\n";
      return;
    }
    for (const auto& s : states)
      if (std::find(targets.begin(), targets.end(), s.domain) != targets.end())
        std::cout << "would release " << describe(s) << "\n";
    std::cout << "\nShared settings (CPU isolation, governors, IRQ affinity) are then recomputed for the guests still "
                 "running.\n"
                 "Dry run: nothing was changed. Add --apply to do it.\n";
    return;
  }
  require_root_user(root, "hook recover --apply");
  TunerOptions opt;
  opt.self = ::getpid();
  Tuner t(*io, std::cerr, opt);
  auto done = t.recover(targets);
  if (g.json) {
    JsonWriter w(std::cout);
    w.begin_object();
    w.field("applied", true);
    w.field("domains", done);
    w.end_object();
    w.finish();
    return;
  }
  std::cout << (done.empty() ? std::string("No stopped guest held anything; shared settings checked.")
                             : "Released " + join(done, ", ") + ".")
            << "\n";
}

}  // namespace

void add_hook(CLI::App& app, GlobalOptions& g) {
  CLI::App* cmd = app.add_subcommand("hook", "the libvirt hook that tunes the host while a guest runs");
  cmd->description(
      "The libvirt hook that tunes the host while a guest runs, and gives everything back when it stops.\n"
      "Guests opt in with <vfioctl:tune actions=\"...\"/> in their <metadata> ('vfioctl new' writes it):\n"
      "  hugepages  prepare: reserve the 2 MiB pages the pool lacks (memory compacted first)\n"
      "  isolate    started: host processes kept off the guest's vCPU CPUs (systemd AllowedCPUs,\n"
      "             else a cgroup v2 or v1 cpuset)\n"
      "  governor   started: the performance governor on those CPUs\n"
      "  irq        started: IRQ affinity off those CPUs\n"
      "Every original value is recorded in /run/vfioctl/ before it changes; release restores exactly that.");
  cmd->require_subcommand(1);
  cmd->footer(
      "\nExamples:\n"
      "  sudo vfioctl hook install --apply && sudo systemctl restart libvirtd\n"
      "  vfioctl hook status\n"
      "  sudo vfioctl hook recover --apply      # after a crash: give back what stopped guests held\n");

  auto inst = std::make_shared<InstallOptions>();
  CLI::App* install =
      cmd->add_subcommand("install", "put the hook in /etc/libvirt/hooks/qemu.d/ (dry run without --apply)");
  install->add_flag("--apply", inst->apply, "write it (journaled: 'vfioctl undo' takes it back)");
  install->add_option("--binary", inst->binary, "the vfioctl the hook runs (default: this one)");
  install->callback([&g, inst] { run_install(g, *inst, true); });

  auto uninst = std::make_shared<InstallOptions>();
  CLI::App* uninstall = cmd->add_subcommand("uninstall", "remove the hook (dry run without --apply)");
  uninstall->add_flag("--apply", uninst->apply, "remove it (journaled)");
  uninstall->callback([&g, uninst] { run_install(g, *uninst, false); });

  auto ro = std::make_shared<RunOptions>();
  CLI::App* run =
      cmd->add_subcommand("run", "what libvirt calls: DOMAIN OPERATION SUB-OPERATION, the domain XML on stdin");
  run->add_option("domain", ro->domain, "the guest's name")->required();
  run->add_option("operation", ro->operation, "prepare, start, started, stopped, release, ...")->required();
  run->add_option("sub-operation", ro->sub_operation, "begin, end or -")->required();
  run->add_option("extra", ro->extra, "libvirt's fourth argument (unused)");
  run->callback([&g, ro] { run_hook(g, *ro); });

  CLI::App* status = cmd->add_subcommand("status", "what is in force now, per guest, with the recorded originals");
  status->callback([&g] { run_status(g); });

  auto rec = std::make_shared<RecoverOptions>();
  CLI::App* recover =
      cmd->add_subcommand("recover", "give back what stopped guests still hold (after a crash or a killed libvirtd)");
  recover->add_option("domain", rec->domains, "only these guests (default: every guest whose QEMU is gone)");
  recover->add_flag("--apply", rec->apply, "do it (without: show what would be released)");
  recover->add_flag("--force", rec->force, "also release a named guest that is still running");
  recover->callback([&g, rec] { run_recover(g, *rec); });
}

}  // namespace vfioctl::cli
