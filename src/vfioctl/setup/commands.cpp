// Which CommandRunner runs the commands of setup, undo and bind: the tests
// record them (VFIOCTL_COMMAND_LOG, docs/setup.md) and make chosen ones fail
// (VFIOCTL_COMMAND_FAIL); otherwise they run on the host, chrooted into a
// --root tree. And running a list of them, stopping at the first failure.
#include <fmt/format.h>

#include <cstdlib>

#include "vfioctl/setup/transaction.h"
#include "vfioctl/util/error.h"

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

void run_commands(CommandRunner& runner, const std::vector<Command>& commands, const std::function<void()>& on_failure,
                  std::ostream& log) {
  for (const auto& c : commands) {
    log << "vfioctl: running " << c.str() << "\n";
    auto r = runner.run(c);
    if (r.exit_code != 0) {
      log << r.output;
      on_failure();
      throw Error(ExitCode::refused, fmt::format("'{}' failed (exit {}); the files were restored and the boot files "
                                                 "regenerated from them; fix the cause and run setup again",
                                                 c.str(), r.exit_code));
    }
  }
}

}  // namespace vfioctl::setup
