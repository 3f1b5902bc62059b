// lint/report: text like a compiler's, JSON, and SARIF 2.1.0 with every
// field the standard requires (and the ones code-scanning tools read).
#include "vfioctl/lint/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace vfioctl::lint {
namespace {

using nlohmann::json;

const char* kGuest =
    "<domain type='kvm'>\n"
    "  <vcpu>4</vcpu>\n"
    "  <cputune>\n"
    "    <vcpupin vcpu='0' cpuset='0'/>\n"
    "    <vcpupin vcpu='1' cpuset='1'/>\n"
    "    <vcpupin vcpu='2' cpuset='2'/>\n"
    "    <vcpupin vcpu='3' cpuset='3'/>\n"
    "    <emulatorpin cpuset='0-3'/>\n"
    "  </cputune>\n"
    "  <cpu mode='host-passthrough'><topology sockets='1' cores='4' threads='2'/></cpu>\n"
    "</domain>\n";

std::vector<FileReport> reports() {
  std::vector<FileReport> r;
  r.push_back(lint_text("dir/win 10.xml", kGuest, nullptr, {}));
  r.push_back(unreadable("gone.xml", "cannot read: No such file or directory"));
  FileReport bad = lint_text("bad.xml", "<domain>\n<vcpu>\n</domain>", nullptr, {});
  r.push_back(bad);
  return r;
}

TEST(LintReport, TextLikeACompiler) {
  std::ostringstream out;
  write_text(out, reports(), {});
  std::string s = out.str();
  EXPECT_NE(s.find("dir/win 10.xml:8: warning: emulatorpin 0-3 overlaps vCPUs 0-3 (host CPUs 0-3) [L002]\n"
                   "    why: "),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("dir/win 10.xml:10: error: topology sockets=1 cores=4 threads=2 makes 8 vCPUs, but <vcpu> is 4 "
                   "[L006]\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("\n    fix: "), std::string::npos);
  EXPECT_NE(s.find("3 files checked: 1 error, 1 warning (2 could not be read)"), std::string::npos) << s;
  EXPECT_NE(s.find("Host rules (L101-L111) not run"), std::string::npos);
  EXPECT_EQ(s.find("\033["), std::string::npos);  // no colour unless asked
  std::ostringstream colored;
  write_text(colored, reports(), {.host_rules = true, .color = true});
  EXPECT_NE(colored.str().find("\033[1;31merror:\033[0m"), std::string::npos);
  EXPECT_EQ(colored.str().find("Host rules"), std::string::npos);
}

TEST(LintReport, FileErrorNamesFileAndLine) {
  auto r = reports();
  EXPECT_EQ(file_error(r[1]), "gone.xml: cannot read: No such file or directory");
  EXPECT_EQ(file_error(r[2]).rfind("bad.xml:3: not well-formed XML", 0), 0u) << file_error(r[2]);
}

TEST(LintReport, Json) {
  std::ostringstream out;
  write_json(out, reports(), {});
  json doc = json::parse(out.str());
  ASSERT_EQ(doc["files"].size(), 3u);
  EXPECT_EQ(doc["files"][0]["ok"], true);
  EXPECT_TRUE(doc["files"][0]["error"].is_null());
  EXPECT_EQ(doc["files"][1]["ok"], false);
  EXPECT_TRUE(doc["files"][1]["line"].is_null());
  EXPECT_EQ(doc["files"][2]["line"], 3);
  ASSERT_EQ(doc["findings"].size(), 2u);
  for (const auto& f : doc["findings"]) {
    for (const char* k : {"id", "title", "severity", "file", "line", "message", "why", "fix", "fixable"}) {
      EXPECT_TRUE(f.contains(k)) << k;
    }
    EXPECT_TRUE(f["fixable"].is_boolean());
  }
  for (const auto& f : doc["files"]) EXPECT_TRUE(f["fixed"].is_null());  // not a --fix run
  EXPECT_EQ(doc["findings"][0]["id"], "L002");
  EXPECT_EQ(doc["findings"][0]["severity"], "warning");
  EXPECT_EQ(doc["findings"][0]["line"], 8);
  EXPECT_EQ(doc["findings"][1]["severity"], "error");
  EXPECT_EQ(doc["summary"]["error"], 1);
  EXPECT_EQ(doc["summary"]["unreadable"], 2);
  EXPECT_EQ(doc["host_rules"], false);
}

TEST(LintReport, SarifCarriesEveryRequiredField) {
  std::ostringstream out;
  write_sarif(out, reports(), {});
  json doc = json::parse(out.str());
  // sarifLog: version and $schema; runs.
  EXPECT_EQ(doc["version"], "2.1.0");
  EXPECT_EQ(doc["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
  ASSERT_TRUE(doc["runs"].is_array());
  ASSERT_EQ(doc["runs"].size(), 1u);
  const json& run = doc["runs"][0];
  // run.tool.driver: name (required), informationUri, rules.
  const json& driver = run["tool"]["driver"];
  EXPECT_EQ(driver["name"], "vfioctl");
  ASSERT_TRUE(driver["informationUri"].is_string());
  EXPECT_EQ(driver["informationUri"].get<std::string>().rfind("https://", 0), 0u);
  ASSERT_TRUE(driver["rules"].is_array());
  std::set<std::string> rule_ids;
  for (const auto& r : driver["rules"]) {
    ASSERT_TRUE(r["id"].is_string());
    rule_ids.insert(r["id"].get<std::string>());
    EXPECT_FALSE(r["shortDescription"]["text"].get<std::string>().empty()) << r["id"];
    EXPECT_FALSE(r["fullDescription"]["text"].get<std::string>().empty()) << r["id"];
    EXPECT_FALSE(r["help"]["text"].get<std::string>().empty()) << r["id"];
    std::string level = r["defaultConfiguration"]["level"];
    EXPECT_TRUE(level == "error" || level == "warning" || level == "note") << level;
  }
  // Every guest rule, no host rule (they did not run).
  std::set<std::string> guest_rules;
  for (const auto& r : rules())
    if (!r.needs_host) guest_rules.insert(std::string(r.id));
  EXPECT_EQ(rule_ids, guest_rules);
  EXPECT_TRUE(rule_ids.count("L001"));
  EXPECT_FALSE(rule_ids.count("L101"));
  // results: ruleId, ruleIndex pointing at it, level, message.text, a physical
  // location with a URI and a start line.
  ASSERT_EQ(run["results"].size(), 2u);
  for (const auto& res : run["results"]) {
    std::string id = res["ruleId"];
    ASSERT_TRUE(res["ruleIndex"].is_number_integer());
    EXPECT_EQ(driver["rules"][res["ruleIndex"].get<size_t>()]["id"], id);
    std::string level = res["level"];
    EXPECT_TRUE(level == "error" || level == "warning" || level == "note");
    EXPECT_FALSE(res["message"]["text"].get<std::string>().empty());
    EXPECT_TRUE(res["properties"]["fixable"].is_boolean());
    const json& loc = res["locations"][0]["physicalLocation"];
    EXPECT_EQ(loc["artifactLocation"]["uri"], "dir/win%2010.xml");
    EXPECT_GE(loc["region"]["startLine"].get<int>(), 1);
  }
  EXPECT_EQ(run["results"][0]["ruleId"], "L002");
  EXPECT_EQ(run["results"][0]["level"], "warning");
  EXPECT_EQ(run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"], 8);
  EXPECT_EQ(run["results"][1]["level"], "error");
  // invocations: executionSuccessful (required) and a notification per bad file.
  const json& inv = run["invocations"][0];
  EXPECT_EQ(inv["executionSuccessful"], false);
  ASSERT_EQ(inv["toolExecutionNotifications"].size(), 2u);
  const json& n = inv["toolExecutionNotifications"][1];
  EXPECT_EQ(n["level"], "error");
  EXPECT_EQ(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "bad.xml");
  EXPECT_EQ(n["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
  EXPECT_FALSE(inv["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"].contains("region"));
}

TEST(LintReport, SarifWithHostRulesListsThem) {
  std::ostringstream out;
  write_sarif(out, {lint_text("a.xml", kGuest, nullptr, {})}, {.host_rules = true});
  json doc = json::parse(out.str());
  EXPECT_EQ(doc["runs"][0]["tool"]["driver"]["rules"].size(), rules().size());
  EXPECT_EQ(doc["runs"][0]["invocations"][0]["executionSuccessful"], true);
}

TEST(LintReport, UriEncoding) {
  EXPECT_EQ(path_to_uri("a/b-c_d.e~f.xml"), "a/b-c_d.e~f.xml");
  EXPECT_EQ(path_to_uri("my vm#1.xml"), "my%20vm%231.xml");
  EXPECT_EQ(path_to_uri("/abs/ü.xml"), "/abs/%C3%BC.xml");
}

}  // namespace
}  // namespace vfioctl::lint
