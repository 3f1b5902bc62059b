#include "vfioctl/lint/lint.h"

#include <algorithm>

#include "vfioctl/lint/domain.h"

namespace vfioctl::lint {

namespace {

int rank(Severity s) {
  switch (s) {
    case Severity::fail: return 3;
    case Severity::warn: return 2;
    case Severity::info: return 1;
    case Severity::pass:
    case Severity::skip: break;
  }
  return 0;
}

}  // namespace

bool at_least(Severity s, Severity min) { return rank(s) >= rank(min); }

FileReport unreadable(const std::string& file, const std::string& reason) {
  FileReport r;
  r.file = file;
  r.ok = false;
  r.error = reason;
  return r;
}

FileReport lint_text(const std::string& file, std::string text, const Host* host, const LintOptions& opt) {
  FileReport r;
  r.file = file;
  ParseResult parsed = parse_domain(std::move(text));
  if (!parsed.domain) {
    r.ok = false;
    r.error = parsed.error;
    r.error_line = parsed.line;
    return r;
  }
  const Domain& d = *parsed.domain;
  for (const Rule& rule : rules()) {
    if (rule.needs_host && !host) continue;
    if (opt.disabled.count(std::string(rule.id))) continue;
    std::vector<LintFinding> found;
    Emitter out(rule, d, found);
    rule.check(d, host, out);
    for (auto& f : found) {
      if (!at_least(f.finding.severity, opt.min_severity)) continue;
      f.file = file;
      f.finding.where = file + ":" + std::to_string(f.line);
      r.findings.push_back(std::move(f));
    }
  }
  std::stable_sort(r.findings.begin(), r.findings.end(), [](const LintFinding& a, const LintFinding& b) {
    if (a.line != b.line) return a.line < b.line;
    return a.finding.id < b.finding.id;
  });
  return r;
}

}  // namespace vfioctl::lint
