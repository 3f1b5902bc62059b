// The lint precision corpus: published libvirt domain XMLs
// (tests/lint/corpus, sources in its README) and the seven of
// tests/lint/realdata, each finding read by hand. tests/lint/corpus/expected.json
// holds, per file, the findings that are right ("L021@158", or
// "L014@31:error" to pin the severity), the rule ids that must never fire
// there, and the known gaps ("known_wrong": findings today's lint gets wrong,
// tolerated and counted until the rule is fixed). Linted without a host.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vfioctl/lint/lint.h"

namespace vfioctl::lint {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(VFIOCTL_SOURCE_DIR) / "tests/lint/corpus";

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// As lint prints it.
std::string lint_severity(Severity s) {
  switch (s) {
    case Severity::fail: return "error";
    case Severity::warn: return "warning";
    case Severity::info: return "info";
    default: return "other";
  }
}

// "L014@31:error" -> key "L014@31", severity "error" (empty when not pinned).
std::pair<std::string, std::string> split_entry(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos) return {s, ""};
  return {s.substr(0, colon), s.substr(colon + 1)};
}

struct Totals {
  int files = 0;
  int findings = 0;
  int expected = 0;
  int unexpected = 0;
  int missed = 0;
  int known_wrong = 0;
};

TEST(LintCorpus, EveryFindingAsReadByHand) {
  std::ifstream in(kCorpus / "expected.json");
  ASSERT_TRUE(in) << "cannot read " << (kCorpus / "expected.json");
  nlohmann::json manifest = nlohmann::json::parse(in);
  ASSERT_TRUE(manifest.is_array());

  Totals t;
  std::vector<std::string> gaps;       // known_wrong still wrong
  std::vector<std::string> gaps_gone;  // known_wrong lint now gets right
  std::set<std::string> listed;
  for (const auto& entry : manifest) {
    const std::string file = entry.at("file").get<std::string>();
    listed.insert(fs::path(file).filename().string());
    SCOPED_TRACE(file);
    const fs::path path = kCorpus / file;
    ASSERT_TRUE(fs::is_regular_file(path)) << path;
    FileReport r = lint_text(file, slurp(path), nullptr, {});
    ASSERT_TRUE(r.ok) << file << ": " << r.error;
    ++t.files;
    t.findings += static_cast<int>(r.findings.size());

    std::map<std::string, int> expect;          // key -> how many
    std::map<std::string, std::string> pinned;  // key -> severity
    for (const auto& e : entry.at("expect")) {
      auto [key, sev] = split_entry(e.get<std::string>());
      ++expect[key];
      if (!sev.empty()) pinned[key] = sev;
      ++t.expected;
    }
    std::set<std::string> must_not;
    for (const auto& m : entry.at("must_not")) must_not.insert(m.get<std::string>());
    std::set<std::string> known;
    if (entry.contains("known_wrong")) {
      for (const auto& k : entry.at("known_wrong")) known.insert(split_entry(k.get<std::string>()).first);
    }
    std::set<std::string> known_hit;

    std::map<std::string, int> seen;
    for (const auto& f : r.findings) {
      const std::string key = f.finding.id + "@" + std::to_string(f.line);
      const std::string sev = lint_severity(f.finding.severity);
      const std::string what =
          file + ":" + std::to_string(f.line) + ": " + sev + ": " + f.finding.message + " [" + f.finding.id + "]";
      if (must_not.count(f.finding.id) != 0 && known.count(key) == 0) {
        ADD_FAILURE() << "must not fire here: " << what;
      }
      if (seen[key] < expect[key]) {
        ++seen[key];
        auto pin = pinned.find(key);
        if (pin != pinned.end() && pin->second != sev) {
          if (known.count(key) != 0) {
            known_hit.insert(key);
            gaps.push_back(what + " (should be " + pin->second + ")");
          } else {
            ADD_FAILURE() << "wrong severity, expected " << pin->second << ": " << what;
          }
        }
        continue;
      }
      if (known.count(key) != 0) {
        known_hit.insert(key);
        gaps.push_back(what + " (should not fire)");
        continue;
      }
      ++t.unexpected;
      ADD_FAILURE() << "unexpected: " << what;
    }
    for (const auto& [key, n] : expect) {
      if (seen[key] >= n) continue;
      if (known.count(key) != 0) {
        known_hit.insert(key);
        gaps.push_back(file + ": " + key + " (missing)");
        continue;
      }
      t.missed += n - seen[key];
      ADD_FAILURE() << "missed: " << file << ": " << key << " is expected and did not fire";
    }
    for (const auto& k : known) {
      if (known_hit.count(k) == 0) gaps_gone.push_back(file + ": " + k);
    }
  }
  t.known_wrong = static_cast<int>(gaps.size());

  // Every corpus file is in the manifest.
  for (const auto& f : fs::directory_iterator(kCorpus)) {
    if (f.path().extension() != ".xml") continue;
    EXPECT_EQ(listed.count(f.path().filename().string()), 1U) << f.path().filename() << " is not in expected.json";
  }

  std::cout << "lint corpus: " << t.files << " files, " << t.findings << " findings, " << t.expected << " expected, "
            << t.unexpected << " unexpected, " << t.missed << " missed, " << t.known_wrong << " known wrong\n";
  for (const auto& g : gaps) std::cout << "  known wrong: " << g << "\n";
  for (const auto& g : gaps_gone) {
    std::cout << "  known wrong no longer seen, remove it from known_wrong: " << g << "\n";
  }
}

}  // namespace
}  // namespace vfioctl::lint
