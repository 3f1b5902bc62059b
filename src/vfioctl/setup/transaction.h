// Transaction: applies a setup plan to a root so that it can always be
// taken back. Before the first file changes, a journal entry records every
// file's content, mode and owner (write-ahead); each file is then replaced
// atomically; a failure at any write restores the files already written and
// drops the entry, leaving the tree as it was. `undo` restores an applied
// entry byte for byte. The journal lives in /var/lib/vfioctl/journal/ of the
// root (inside --root for scratch roots).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "vfioctl/host/root.h"
#include "vfioctl/setup/change.h"
#include "vfioctl/util/atomic_file.h"
#include "vfioctl/util/process.h"

namespace vfioctl::setup {

struct JournalFile {
  std::string path;                   // host path
  std::optional<std::string> before;  // nullopt: did not exist
  std::optional<std::string> after;   // nullopt: removed
  FileMode mode;                      // of the file before (or as created)
  std::vector<std::string> new_dirs;  // parent directories the write created, outermost first
};

struct JournalEntry {
  std::string id;       // "1", "2", ... in order of application
  std::string created;  // "2026-11-23T10:15:00Z"
  std::string command;  // the command line that made it
  std::string state;    // "applied" or "undone"
  std::vector<JournalFile> files;
  std::vector<Command> commands;  // regenerate commands; run again after undo
  KargsChange kargs;              // rpm-ostree kargs this entry ran; undo runs its inverse
};

// One writer at a time. setup, undo, bind and unbind (and the hook's
// install) change the host only while they hold an exclusive flock(2) on
// /var/lib/vfioctl/lock of the root; a second command refuses at once
// (Error refused, exit 3) naming the process that holds it. The lock file
// stays (it holds the holder's pid and command line). Nested holders in one
// process share the lock: apply() and undo() take it themselves when the
// caller did not.
class HostLock {
 public:
  HostLock(const Root& root, const std::string& command);
  ~HostLock();
  HostLock(const HostLock&) = delete;
  HostLock& operator=(const HostLock&) = delete;

 private:
  std::string m_path;
};

class Journal {
 public:
  Journal(const Root& root, FileSystem& fs);
  // Entries, oldest first; entries that cannot be read are skipped with a
  // note in `problems`.
  std::vector<JournalEntry> list(std::vector<std::string>* problems = nullptr) const;
  // One entry; Error(bad_input) naming the known ids when absent.
  JournalEntry load(const std::string& id) const;
  std::string next_id() const;
  // Removes entries without entry.json (an apply killed before it changed
  // anything). Only under the host lock.
  void drop_incomplete();
  // Writes the entry (contents first, then entry.json last).
  void save(const JournalEntry& e);
  // Writes entry.json only (a state change).
  void save_state(const JournalEntry& e);
  // Removes an entry's files and directory.
  void remove(const std::string& id);
  std::string dir() const;  // real path of the journal directory

 private:
  std::string entry_dir(const std::string& id) const;
  const Root& m_root;
  FileSystem& m_fs;
};

// Runs the regenerate commands. The real one runs them on the live host (or
// chrooted into a root); tests record them.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual ProcessResult run(const Command& c) = 0;
};
std::unique_ptr<CommandRunner> real_runner(const Root& root);
// Appends each command line to `log` and succeeds, except commands whose
// text contains `fail` (when not empty), which exit 1.
std::unique_ptr<CommandRunner> recording_runner(std::string log, std::string fail);
// The runner the environment asks for (setup/commands.cpp): with
// VFIOCTL_COMMAND_LOG=FILE set, recording_runner(FILE,
// $VFIOCTL_COMMAND_FAIL); otherwise real_runner(root).
std::unique_ptr<CommandRunner> command_runner(const Root& root);
// Whether command_runner records the commands instead of running them.
bool commands_recorded();
// Runs `commands` in order through `runner`, each announced on `log`
// ("vfioctl: running ..."). At the first that fails, its output goes to
// `log`, `on_failure` runs, and Error(refused) names the command and its
// exit status.
void run_commands(CommandRunner& runner, const std::vector<Command>& commands, const std::function<void()>& on_failure,
                  std::ostream& log);

// Real path of a host path under the root, every link in it resolved inside
// the root (RootDir::real): a link in a --root tree never leads a read or a
// write outside it. The live root's paths are used as they are.
std::string real_path(const Root& root, const std::string& path);

// Applies the changed files of `plan`; returns the journal entry, or nullopt
// when nothing changes. The entry records plan.kargs; running that command
// is the caller's (it goes through a CommandRunner). Throws Error(refused) after rolling back when a
// write fails or a file changed since it was planned.
std::optional<JournalEntry> apply(const Root& root, FileSystem& fs, const Plan& plan, const std::string& command);

// Restores an applied entry's files. Without `force`, refuses (Error
// refused) when a file no longer holds what the entry wrote. Rolls back on a
// failed write. The entry is marked undone.
void undo(const Root& root, FileSystem& fs, JournalEntry& entry, bool force);

// Files an undo would restore, as changes (current content -> before).
std::vector<FileChange> undo_changes(const Root& root, const JournalEntry& entry);

}  // namespace vfioctl::setup
