// Which CommandRunner runs the commands of setup, undo and bind: the tests
// record them (VFIOCTL_COMMAND_LOG, docs/setup.md) and make chosen ones fail
// (VFIOCTL_COMMAND_FAIL); otherwise they run on the host, chrooted into a
// --root tree.
#include <cstdlib>

#include "vfioctl/setup/transaction.h"

namespace vfioctl::setup {

bool commands_recorded() {
  const char* log = std::getenv("VFIOCTL_COMMAND_LOG");
  return log && *log;
}

std::unique_ptr<CommandRunner> command_runner(const Root& root) {
  if (commands_recorded()) {
    const char* fail = std::getenv("VFIOCTL_COMMAND_FAIL");
    return recording_runner(std::getenv("VFIOCTL_COMMAND_LOG"), fail ? fail : "");
  }
  return real_runner(root);
}

}  // namespace vfioctl::setup
