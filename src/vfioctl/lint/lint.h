// lint: find the mistakes in libvirt domain XMLs. Pure: the caller reads
// the files and (for --host) the host; this judges text and facts.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "vfioctl/lint/rule.h"

namespace vfioctl {
struct Host;
}

namespace vfioctl::lint {

struct LintOptions {
  std::set<std::string> disabled;        // rule ids, upper case ("L002")
  Severity min_severity = Severity::info;  // info < warn < fail
};

// The result for one file.
struct FileReport {
  std::string file;                   // as given
  bool ok = true;                     // read and parsed
  std::string error;                  // why not
  int error_line = 0;                 // where, when known
  std::vector<LintFinding> findings;  // by line, then rule id
};

// Lints one domain XML. `host` non-null runs the rules that need host
// facts too.
FileReport lint_text(const std::string& file, std::string text, const Host* host, const LintOptions& opt);

// A file that could not be read: a report that says so.
FileReport unreadable(const std::string& file, const std::string& reason);

// Whether severity `s` is shown under the options (info < warn < fail).
bool at_least(Severity s, Severity min);

}  // namespace vfioctl::lint
