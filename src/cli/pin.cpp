// vfioctl pin: pins a running plain-QEMU guest's threads (what libvirt's
// <cputune> does): vCPU i to the i-th CPU of --vcpus, the iothreads to
// --iothread, every other thread of the process to --emulator. Thread ids
// come from QMP (query-cpus-fast, query-iothreads); the rest from
// /proc/PID/task (a process's runtime state, not a host fact).
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli.h"
#include "vfioctl/host/host.h"
#include "vfioctl/runtime/host_io.h"
#include "vfioctl/runtime/pin.h"
#include "vfioctl/runtime/qmp.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/json_writer.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

using namespace vfioctl::runtime;

struct PinOptions {
  std::string qmp;
  std::string vcpus, emulator, iothread;
  int pid = 0;
  bool resume = false;
};

// "3,1,2-4": order kept (vCPU i goes to the i-th CPU), each item through the
// kernel cpulist parser.
std::vector<int> ordered_cpus(const std::string& option, const std::string& text) {
  std::vector<int> out;
  for (auto item : split(text, ',')) {
    auto part = parse_cpulist(item);
    if (trim(item).empty() || !part || part->empty()) {
      throw input_error(fmt::format("{} '{}': not a CPU list; write CPUs like 2,3,8-9", option, text));
    }
    out.insert(out.end(), part->begin(), part->end());
  }
  if (out.empty()) throw input_error(fmt::format("{} is empty; give host CPUs like 2,3,8-9", option));
  return out;
}

std::vector<int> cpu_set(const std::string& option, const std::string& text) {
  auto cpus = parse_cpulist(text);
  if (!cpus || cpus->empty()) {
    throw input_error(fmt::format("{} '{}': not a CPU list; write CPUs like 0-1,6", option, text));
  }
  return *cpus;
}

void print_report(const std::vector<PinnedThread>& pinned, int pid, bool resumed, bool json) {
  if (json) {
    JsonWriter w(std::cout);
    w.begin_object();
    w.field("pid", pid);
    w.key("threads");
    w.begin_array();
    for (const auto& p : pinned) {
      w.begin_object();
      w.field("role", p.role);
      w.field("name", p.name);
      w.field("tid", p.tid);
      w.field("cpus", p.cpus);
      w.end_object();
    }
    w.end_array();
    w.field("resumed", resumed);
    w.end_object();
    w.finish();
    return;
  }
  std::cout << fmt::format("QEMU pid {}: {} threads pinned\n", pid, pinned.size());
  for (const auto& p : pinned) {
    std::string what = p.role == "vcpu"       ? "vCPU " + p.name
                       : p.role == "iothread" ? "iothread " + p.name
                                              : "emulator (" + p.name + ")";
    std::cout << fmt::format("  {:<28} thread {:<8} -> CPUs {}\n", what, p.tid, format_cpulist(p.cpus));
  }
  if (resumed) std::cout << "guest resumed\n";
}

void run_pin(const PinOptions& o, const GlobalOptions& g) {
  if (g.root != "/") throw input_error("pin works on this host's running QEMU; --root does not apply");
  std::vector<int> vcpus = ordered_cpus("--vcpus", o.vcpus);
  std::vector<int> emulator = o.emulator.empty() ? std::vector<int>{} : cpu_set("--emulator", o.emulator);
  std::vector<int> iothread = o.iothread.empty() ? std::vector<int>{} : cpu_set("--iothread", o.iothread);
  if (o.pid < 0) throw input_error(fmt::format("--pid {}: not a process id", o.pid));
  {
    Host host = read_host(Root("/"), HostPart::cpu);
    std::vector<int> online = host.cpu.online();
    check_online("--vcpus", vcpus, online);
    check_online("--emulator", emulator, online);
    check_online("--iothread", iothread, online);
  }

  QmpClient qmp(o.qmp);
  std::vector<QmpVcpu> guest_vcpus = qmp.query_cpus_fast();
  std::sort(guest_vcpus.begin(), guest_vcpus.end(),
            [](const QmpVcpu& a, const QmpVcpu& b) { return a.index < b.index; });
  if (guest_vcpus.size() != vcpus.size()) {
    throw input_error(fmt::format(
        "--vcpus {} names {} CPU{} but the guest has {} vCPU{}; give one host CPU per vCPU, "
        "in vCPU order",
        o.vcpus, vcpus.size(), vcpus.size() == 1 ? "" : "s", guest_vcpus.size(), guest_vcpus.size() == 1 ? "" : "s"));
  }
  std::vector<QmpIothread> iothreads = qmp.query_iothreads();
  if (!iothread.empty() && iothreads.empty()) {
    throw input_error("--iothread: the guest has no iothreads (QEMU's -object iothread)");
  }

  // The QEMU process: the one its vCPU threads belong to. --pid, and the
  // socket's peer, must agree with it.
  auto io = live_io("/");
  int pid = qemu_process(*io, guest_vcpus, o.pid, qmp.peer_pid(), o.qmp);
  if (g.verbose && qmp.peer_pid() && qmp.peer_pid() != pid) {
    std::cerr << fmt::format("vfioctl: note: the QMP socket's peer is process {}; the vCPUs run in process {}\n",
                             qmp.peer_pid(), pid);
  }
  require_process(*io, pid, o.qmp);
  std::vector<PinnedThread> pinned = pin_threads(*io, pid, guest_vcpus, iothreads, {vcpus, emulator, iothread});
  bool resumed = false;
  if (o.resume && !qmp.running()) {
    qmp.cont();
    resumed = true;
  }
  print_report(pinned, pid, resumed, g.json);
}

}  // namespace

void add_pin(CLI::App& app, GlobalOptions& g) {
  auto o = std::make_shared<PinOptions>();
  CLI::App* cmd = app.add_subcommand("pin", "pin a plain-QEMU guest's vCPU, iothread and emulator threads");
  cmd->description(
      "Pin the threads of a running QEMU (what libvirt's <cputune> does, for guests started without libvirt,\n"
      "e.g. by the script of 'vfioctl new --qemu-script'): vCPU i to the i-th CPU of --vcpus, iothreads to\n"
      "--iothread, every other thread of the process to --emulator. Thread ids come from QMP\n"
      "(query-cpus-fast, query-iothreads); the QEMU process is the one its vCPU threads belong to.");
  cmd->add_option("--qmp", o->qmp, "QEMU's QMP unix socket (-qmp unix:SOCKET,server=on,wait=off)")
      ->required()
      ->type_name("SOCKET");
  cmd->add_option("--vcpus", o->vcpus, "host CPU of each vCPU, in vCPU order: 2,3,8,9")->required()->type_name("LIST");
  cmd->add_option("--emulator", o->emulator, "host CPUs for every other QEMU thread: 0-1")->type_name("LIST");
  cmd->add_option("--iothread", o->iothread, "host CPUs for the iothreads: 0-1")->type_name("LIST");
  cmd->add_option("--pid", o->pid, "QEMU's process id, checked against the vCPU threads' (default: found from them)")
      ->type_name("PID");
  cmd->add_flag("--resume", o->resume, "let a guest started paused (-S) run once pinned");
  cmd->footer(
      "\nExamples:\n  vfioctl pin --qmp /run/vfioctl/qemu/win11/qmp.sock --vcpus 2,8,3,9 --emulator 0,6 --iothread "
      "1,7\n"
      "  vfioctl --json pin --qmp qmp.sock --vcpus 1 --resume\n"
      "Exit codes: 2 for bad CPU lists or a --vcpus count that is not the guest's; 3 when QMP fails.");
  cmd->callback([o, &g]() { run_pin(*o, g); });
}

}  // namespace vfioctl::cli
