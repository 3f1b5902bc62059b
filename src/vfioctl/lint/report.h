// Lint output: text like a compiler's, JSON (docs/json.md), and SARIF 2.1.0
// for code-scanning tools. JSON forms are streamed through JsonWriter.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "vfioctl/lint/lint.h"

namespace vfioctl::lint {

struct ReportContext {
  bool host_rules = false;  // the rules needing host facts ran
  bool color = false;       // text only
};

// FILE:LINE: SEVERITY: MESSAGE [ID], then indented "why:" and "fix:" lines,
// then a summary line. Unreadable files are counted here; the caller prints
// their errors to stderr.
void write_text(std::ostream& out, const std::vector<FileReport>& files, const ReportContext& ctx);

// {"files":[...],"findings":[...],"summary":{...},"host_rules":bool}
void write_json(std::ostream& out, const std::vector<FileReport>& files, const ReportContext& ctx);

// One SARIF 2.1.0 run: the rule table (every rule that could run), one
// result per finding, and an invocation whose notifications name the files
// that could not be read or parsed.
void write_sarif(std::ostream& out, const std::vector<FileReport>& files, const ReportContext& ctx);

// A file path as a URI reference (RFC 3986): reserved characters
// percent-encoded, "/" kept.
std::string path_to_uri(const std::string& path);

// The message of an unreadable file: "FILE:LINE: ERROR" (no line when unknown).
std::string file_error(const FileReport& f);

}  // namespace vfioctl::lint
