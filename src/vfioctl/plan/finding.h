// Finding: one result of one check, shared by doctor (H rules) and lint
// (L rules). Rule ids are stable; docs/rules.md has a section per id.
#pragma once

#include <string>

namespace vfioctl {

class JsonWriter;

enum class Severity { pass, info, warn, fail, skip };

// "PASS", "INFO", "WARN", "FAIL", "SKIP".
const char* severity_label(Severity s);
// "pass", "info", "warn", "fail", "skip" (JSON).
const char* severity_name(Severity s);

struct Finding {
  std::string id;     // "H003"
  std::string title;  // "IOMMU enabled"
  Severity severity = Severity::info;
  std::string message;  // what was found, on this host
  std::string why;      // one sentence: why it matters
  std::string fix;      // the exact change for this host; empty when nothing to do
  std::string where;    // file, device or object the finding is about
  std::string section;  // heading it is printed under
};

// One doctor check as `doctor --json` writes it in "checks" (docs/json.md).
void write_json(JsonWriter& w, const Finding& f);

}  // namespace vfioctl
