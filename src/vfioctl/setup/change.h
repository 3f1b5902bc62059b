// Change: one planned edit of one host file, or one command to run after
// the edits. A setup plan is a list of them; it prints as a unified diff
// (dry run) and a Transaction applies it (journal, atomic writes, rollback).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vfioctl/util/atomic_file.h"

namespace vfioctl::setup {

struct FileChange {
  std::string path;                   // host path ("/etc/default/grub")
  std::optional<std::string> before;  // content now; nullopt: absent
  std::optional<std::string> after;   // content wanted; nullopt: remove
  FileMode mode;                      // for a new file; a rewrite keeps the old mode
  std::string why;                    // one line: what the edit is for
};

struct Command {
  std::vector<std::string> argv;  // run without a shell
  std::string why;                // "regenerate grub.cfg"
  std::string str() const;        // shell-quoted, for display
};

// Kernel arguments changed by a command instead of a file edit: on
// image-based hosts (ostree) `rpm-ostree kargs` writes a new deployment
// with them. Journaled, so that undo takes back exactly what was changed.
struct KargsChange {
  std::vector<std::string> append;  // --append-if-missing=WORD
  std::vector<std::string> remove;  // --delete-if-present=WORD
  bool empty() const { return append.empty() && remove.empty(); }
  Command command() const;      // rpm-ostree kargs --delete-if-present=... --append-if-missing=...
  KargsChange inverse() const;  // what undoes it
};

struct Plan {
  std::vector<FileChange> files;         // in the order they are written
  std::vector<Command> commands;         // run after the files, with --regenerate
  KargsChange kargs;                     // run after the files, with --apply (ostree)
  std::vector<std::string> kernel_args;  // the arguments the boot entries get
  std::vector<std::string> warnings;     // printed before the diff
  std::vector<std::string> notes;        // what was decided and why

  // Files whose content changes; the rest are already as wanted.
  std::vector<const FileChange*> changed() const;
};

}  // namespace vfioctl::setup
