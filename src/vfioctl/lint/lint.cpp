#include "vfioctl/lint/lint.h"

#include <algorithm>
#include <iterator>
#include <map>

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

namespace {

// The edits accepted in one pass, by place, so that a new edit is checked
// against its neighbours only: accepted edits never collide, so their
// replaced ranges are disjoint and only those starting at or next before the
// new edit's range can touch it. Thousands of findings on one line cost
// n log n, not n squared.
class AcceptedEdits {
 public:
  bool collides(const TextEdit& e) const {
    auto it = m_by_begin.lower_bound(e.begin);
    if (it != m_by_begin.begin()) {
      // Every edit at the nearest place before e.begin.
      size_t before = std::prev(it)->first;
      for (auto b = m_by_begin.lower_bound(before); b != it; ++b) {
        if (collide(b->second, e)) return true;
      }
    }
    for (; it != m_by_begin.end() && it->first <= e.end; ++it) {
      if (collide(it->second, e)) return true;
    }
    return false;
  }
  void add(const TextEdit& e) { m_by_begin.emplace(e.begin, TextEdit{e.begin, e.end, {}}); }

 private:
  std::multimap<size_t, TextEdit> m_by_begin;
};

}  // namespace

FixResult fix_text(const std::string& file, std::string text, const Host* host, const LintOptions& opt) {
  constexpr int kPasses = 8;
  FixResult out;
  out.report = lint_text(file, text, host, opt);
  for (int pass = 0; pass < kPasses && out.report.ok; ++pass) {
    // Moves first (they decide where other fixes land), then by line.
    std::vector<const LintFinding*> todo;
    for (const auto& f : out.report.findings) {
      if (f.fixable()) todo.push_back(&f);
    }
    std::stable_partition(todo.begin(), todo.end(), [](const LintFinding* f) { return f->finding.id == "L019"; });
    std::vector<TextEdit> accepted;
    AcceptedEdits index;
    std::vector<std::string> ids;
    for (const LintFinding* f : todo) {
      bool clear = std::none_of(f->edits.begin(), f->edits.end(), [&](const TextEdit& e) { return index.collides(e); });
      if (!clear) continue;  // the next pass, after this one's edits
      for (const TextEdit& e : f->edits) index.add(e);
      accepted.insert(accepted.end(), f->edits.begin(), f->edits.end());
      ids.push_back(f->finding.id);
    }
    if (ids.empty()) break;
    std::string next = apply_edits(text, accepted);
    FileReport again = lint_text(file, next, host, opt);
    if (!again.ok || next == text) break;  // a fix that breaks the file is not made
    text = std::move(next);
    out.report = std::move(again);
    out.fixed.insert(out.fixed.end(), ids.begin(), ids.end());
  }
  out.text = std::move(text);
  return out;
}

}  // namespace vfioctl::lint
