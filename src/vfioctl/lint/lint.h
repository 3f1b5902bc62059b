// lint: find the mistakes in libvirt domain XMLs. Pure: the caller reads
// the files and (for --host) the host; this judges text and facts.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vfioctl/lint/rule.h"

namespace vfioctl {
struct Host;
}

namespace vfioctl::lint {

struct LintOptions {
  std::set<std::string> disabled;          // rule ids, upper case ("L002")
  Severity min_severity = Severity::info;  // info < warn < fail
};

// The result for one file.
struct FileReport {
  std::string file;                   // as given
  bool ok = true;                     // read and parsed
  std::string error;                  // why not
  int error_line = 0;                 // where, when known
  std::vector<LintFinding> findings;  // by line, then rule id
  // With --fix: the rule id of each finding fixed (empty when nothing was).
  std::optional<std::vector<std::string>> fixed;
};

// Lints one domain XML. `host` non-null runs the rules that need host
// facts too.
FileReport lint_text(const std::string& file, std::string text, const Host* host, const LintOptions& opt);

// What --fix did to one file.
struct FixResult {
  std::string text;                // the fixed text; the input when nothing was fixed
  std::vector<std::string> fixed;  // rule id of each finding fixed, in the order fixed
  FileReport report;               // the findings of the fixed text
  bool changed() const { return !fixed.empty(); }
};

// Fixes the findings of one domain XML that carry edits, among those the
// options show, and lints the result again; repeats while a pass fixes
// something that an earlier fix stood in the way of (a few passes at most).
// A file that does not parse is returned unchanged with its error.
FixResult fix_text(const std::string& file, std::string text, const Host* host, const LintOptions& opt);

// A file that could not be read: a report that says so.
FileReport unreadable(const std::string& file, const std::string& reason);

// Whether severity `s` is shown under the options (info < warn < fail).
bool at_least(Severity s, Severity min);

}  // namespace vfioctl::lint
