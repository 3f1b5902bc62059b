// Lint rules: the registry entry of a guest rule (L0xx, L1xx) and the sink
// its check writes findings into. Rule ids are stable; docs/rules.md has a
// section per id.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vfioctl/lint/domain.h"
#include "vfioctl/lint/edit.h"
#include "vfioctl/plan/finding.h"

namespace vfioctl {
struct Host;
}

namespace vfioctl::lint {

// One finding at one place of one file.
struct LintFinding {
  Finding finding;              // id, title, severity, message, why, fix; where = "FILE:LINE"
  std::string file;             // as given
  int line = 0;                 // 1-based; 0 when unknown
  std::vector<TextEdit> edits;  // what --fix changes; empty when it cannot fix this one

  bool fixable() const { return !edits.empty(); }
};

struct Rule;

// Collects one rule's findings on one domain. Severity, title and why come
// from the rule unless a finding says otherwise.
class Emitter {
 public:
  Emitter(const Rule& rule, const Domain& domain, std::vector<LintFinding>& out)
      : m_rule(rule), m_domain(domain), m_out(out) {}

  // A finding at `at` (the <domain> element when null).
  void add(pugi::xml_node at, std::string message, std::string fix);
  // The same with its own severity and, when not empty, its own why.
  void add(pugi::xml_node at, Severity severity, std::string message, std::string fix, std::string why = {});
  // A finding --fix can fix with these edits (none: it cannot, here).
  void add(pugi::xml_node at, std::string message, std::string fix, const EditSet& edits);
  // Gives the finding added last the edits that fix it.
  void with_edits(const EditSet& edits);

 private:
  const Rule& m_rule;
  const Domain& m_domain;
  std::vector<LintFinding>& m_out;
};

// host is null unless the run has host facts (--host); rules that need them
// are not called without.
using CheckFn = void (*)(const Domain& domain, const Host* host, Emitter& out);

struct Rule {
  std::string_view id;     // "L002"
  std::string_view name;   // "emulator-on-vcpu-cpus": a stable slug (SARIF rule name)
  std::string_view title;  // "Emulator or I/O thread on the vCPUs' host CPUs"
  Severity severity;       // the usual level: fail (error), warn (warning) or info
  bool needs_host;         // judged against host facts (--host)
  std::string_view why;    // why it matters, one or two sentences
  CheckFn check;
  bool fixable;  // --fix fixes its findings (those that carry edits)
};

inline constexpr bool kFixable = true;
inline constexpr bool kNoFix = false;

// Every rule, ordered by id.
const std::vector<Rule>& rules();
// The rule with this id (case-insensitive), or null.
const Rule* find_rule(std::string_view id);

// "error", "warning", "info" (text, JSON); "error", "warning", "note" (SARIF).
const char* lint_severity_name(Severity s);
const char* sarif_level(Severity s);

}  // namespace vfioctl::lint
