// Pinning a running plain-QEMU guest's threads (what libvirt's <cputune>
// does, for `vfioctl pin`): vCPU i to the i-th CPU asked, the iothreads to
// theirs, every other thread of the process to the emulator's CPUs. The
// vCPU and iothread thread ids come from QMP (runtime/qmp.h); the process's
// other threads from /proc/PID/task, read through HostIo so tests can put a
// model of the kernel underneath.
#pragma once

#include <string>
#include <vector>

#include "vfioctl/runtime/host_io.h"
#include "vfioctl/runtime/qmp.h"

namespace vfioctl::runtime {

// The CPUs asked for each kind of thread; emulator and iothread may be empty
// (those threads are left alone).
struct PinRequest {
  std::vector<int> vcpus;  // one per vCPU, in vCPU order
  std::vector<int> emulator;
  std::vector<int> iothread;
};

// One pinned thread, for the report.
struct PinnedThread {
  std::string role;  // "vcpu", "iothread", "emulator"
  std::string name;  // vCPU index, iothread id, or the thread's comm
  int tid = 0;
  std::vector<int> cpus;
};

// Error(bad_input) naming `option` when a CPU of `cpus` is not in `online`
// (an empty `online` is unknown: the kernel judges at pinning).
void check_online(const std::string& option, const std::vector<int>& cpus, const std::vector<int>& online);

// The thread group (process) thread `tid` belongs to (/proc/TID/status);
// 0 when it is gone.
int thread_group(HostIo& io, int tid);

// A process's thread ids (/proc/PID/task), ascending.
std::vector<int> process_threads(HostIo& io, int pid);

// The QEMU process behind the QMP socket `socket`: the one its vCPU threads
// belong to, else `given` (--pid), else the socket's peer (0 when none
// says). Error(bad_input) when `given` is another process.
int qemu_process(HostIo& io, const std::vector<QmpVcpu>& vcpus, int given, int peer, const std::string& socket);

// Error(refused) naming `socket` when process `pid` does not run here.
void require_process(HostIo& io, int pid, const std::string& socket);

// Pins the threads of process `pid`: every other thread first (threads QEMU
// starts later inherit the main thread's affinity), then the iothreads, then
// vCPU i to request.vcpus[i] (`vcpus` sorted by index, as many as
// request.vcpus). An emulator thread that ends meanwhile is skipped; a vCPU
// or iothread that ended is Error(refused). A CPU the thread may not use is
// Error(bad_input); any other refusal Error(refused) with the reason.
std::vector<PinnedThread> pin_threads(HostIo& io, int pid, const std::vector<QmpVcpu>& vcpus,
                                      const std::vector<QmpIothread>& iothreads, const PinRequest& request);

}  // namespace vfioctl::runtime
