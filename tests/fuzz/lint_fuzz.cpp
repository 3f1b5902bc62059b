// libFuzzer target over vfioctl lint's input: any bytes as a domain XML,
// linted with every rule (alone and against two fixture hosts), reported in
// the three formats, and fixed. Beyond the sanitizers' checks it asserts what
// --fix relies on: every edit lies within the text, a finding's edits do not
// collide, a fix never turns a file that parses into one that does not, and
// fixing the result again is stable.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "../unit/fixture_hosts.h"
#include "vfioctl/lint/lint.h"
#include "vfioctl/lint/report.h"

namespace {

using namespace vfioctl;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_report(const lint::FileReport& r, const std::string& text) {
  for (const auto& f : r.findings) {
    for (size_t i = 0; i < f.edits.size(); ++i) {
      const auto& e = f.edits[i];
      check(e.begin <= e.end && e.end <= text.size());
      for (size_t j = 0; j < i; ++j) check(!lint::collide(e, f.edits[j]));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  const Host* hosts[] = {nullptr, &test::fixture_host("intel-hybrid-13700k"),
                         &test::fixture_host("threadripper-3960x")};
  std::vector<lint::FileReport> reports;
  for (const Host* host : hosts) {
    reports.push_back(lint::lint_text("fuzz.xml", text, host, {}));
    check_report(reports.back(), text);
  }
  lint::ReportContext ctx;
  ctx.host_rules = true;
  std::ostringstream sink;
  lint::write_text(sink, reports, ctx);
  lint::write_json(sink, reports, ctx);
  lint::write_sarif(sink, reports, ctx);

  lint::FixResult fixed = lint::fix_text("fuzz.xml", text, hosts[1], {});
  check(fixed.report.ok == reports[1].ok);
  if (fixed.changed()) {
    check(fixed.text != text);
    lint::FixResult again = lint::fix_text("fuzz.xml", fixed.text, hosts[1], {});
    check(again.report.ok);
  } else {
    check(fixed.text == text);
  }
  return 0;
}
