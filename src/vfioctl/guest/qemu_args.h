// Internal to the QEMU script writer (qemu_script.cpp, qemu_devices.cpp):
// the command line as blocks of arguments with a comment each, and the
// device blocks that follow the plan's day-one choices.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/guest/qemu_script.h"

namespace vfioctl::qemu {

// Doubles commas, the way QEMU's option parser reads a literal comma.
std::string qesc(std::string_view value);

// The QEMU command line, in blocks with a comment each.
struct ArgBlock {
  std::vector<std::string> comment;
  std::vector<std::vector<std::string>> lines;
};

class Args {
 public:
  ArgBlock& block(std::vector<std::string> comment) {
    m_blocks.push_back({std::move(comment), {}});
    return m_blocks.back();
  }
  const std::vector<ArgBlock>& blocks() const { return m_blocks; }
  ArgBlock& blocks_back() { return m_blocks.back(); }

 private:
  std::vector<ArgBlock> m_blocks;
};

inline void add(ArgBlock& b, std::vector<std::string> words) { b.lines.push_back(std::move(words)); }

// The -cpu value: host passthrough with the host's caches under KVM (AMD
// needs topoext for SMT, vmx/svm when nested), Hyper-V enlightenments for
// Windows; an Intel model under TCG (the only kind that shows SMT threads).
std::string cpu_value(const GuestPlan& plan, const QemuOptions& opt);

// Disks and install media, in the plan's order with its boot indexes.
void disks(Args& args, const GuestPlan& plan);

// The guest's MAC: the spec's, or one made from the name (52:54:00 is
// QEMU's prefix) so that a macvtap device can be created with it.
std::string script_mac(const GuestPlan& plan);

// The macvtap interface the script makes: at most 15 characters.
std::string macvtap_name(const GuestPlan& plan);

// The NIC for the plan's network mode.
void network(Args& args, const GuestPlan& plan, const QemuOptions& opt);

}  // namespace vfioctl::qemu
