// How doctor's checks are written: a table of small functions over facts,
// one entry per id (H001..., H101..., H201...) with its title, the worst
// level it reports and why it matters, as lint's rule table does for the L
// ids. A check function writes its findings through CheckOut, which fills
// id, title, why and section from the entry; adding a check is one entry and
// one function. docs/rules.md has a section per id; a unit test keeps the
// tables and the document in step.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vfioctl/plan/finding.h"

namespace vfioctl {

// Where one check's findings go.
class CheckOut {
 public:
  CheckOut(std::string_view id, std::string_view title, std::string_view why, std::string_view section,
           std::vector<Finding>& out)
      : m_id(id), m_title(title), m_why(why), m_section(section), m_out(out) {}

  // A finding with the entry's why.
  Finding& add(Severity severity, std::string message, std::string fix = {}, std::string where = {}) {
    return add_why(severity, std::move(message), std::string(m_why), std::move(fix), std::move(where));
  }
  // A finding with its own why (a check whose reason depends on what it
  // found).
  Finding& add_why(Severity severity, std::string message, std::string why, std::string fix = {},
                   std::string where = {}) {
    m_out.push_back({std::string(m_id), std::string(m_title), severity, std::move(message), std::move(why),
                     std::move(fix), std::move(where), std::string(m_section)});
    return m_out.back();
  }
  // The entry's why, for a finding that adds to it.
  std::string_view why() const { return m_why; }

 private:
  std::string_view m_id, m_title, m_why, m_section;
  std::vector<Finding>& m_out;
};

// One check: an id that never changes meaning, the title every finding of
// it carries, the worst level it reports (fail, warn, info or skip; a unit
// test holds the findings to it), why it matters (the findings' why unless
// one gives its own), the function over the facts, and the heading it is
// printed under (empty: the run's, as for a device or a guest).
template <class Facts>
struct CheckDef {
  std::string_view id;
  std::string_view title;
  Severity severity;
  std::string_view why;
  void (*check)(const Facts& facts, CheckOut& out);
  std::string_view section = {};
};

// Runs every check of `table` in order; a finding's section is its entry's,
// else `section`.
template <class Facts>
std::vector<Finding> run_checks(const std::vector<CheckDef<Facts>>& table, const Facts& facts,
                                std::string_view section = {}) {
  std::vector<Finding> out;
  for (const auto& c : table) {
    CheckOut o(c.id, c.title, c.why, c.section.empty() ? section : c.section, out);
    c.check(facts, o);
  }
  return out;
}

}  // namespace vfioctl
