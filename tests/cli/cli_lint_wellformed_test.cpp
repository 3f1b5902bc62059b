// lint refuses (exit 2, "not well-formed XML") exactly the files libvirt's
// parser refuses. Each real domain XML of tests/lint/realdata is mutated in
// ways a hand edit, a bad copy and paste or a wrong encoding produce; the
// oracle is xmllint, libxml2's own command, which parses as libvirt does.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "run.h"

namespace {

namespace fs = std::filesystem;
using vfioctl::test::quote;
using vfioctl::test::Result;
using vfioctl::test::shell;
using vfioctl::test::vfioctl;

struct Mutation {
  const char* name;
  bool malformed;  // what the mutation is meant to make (xmllint has the last word)
  std::function<std::string(const std::string&)> apply;
};

// Inserts `what` just after the first occurrence of `after`.
std::string after(const std::string& text, const std::string& mark, const std::string& what) {
  size_t at = text.find(mark);
  if (at == std::string::npos) return text;
  std::string r = text;
  r.insert(at + mark.size(), what);
  return r;
}

const std::vector<Mutation>& mutations() {
  static const std::vector<Mutation> m = {
      {"invalid UTF-8 byte", true, [](const std::string& t) { return after(t, "<name>", "\xff"); }},
      {"truncated UTF-8 sequence", true, [](const std::string& t) { return after(t, "<name>", "\xc3("); }},
      {"overlong UTF-8", true, [](const std::string& t) { return after(t, "<name>", "\xc0\xaf"); }},
      {"UTF-8 surrogate", true, [](const std::string& t) { return after(t, "<name>", "\xed\xa0\x80"); }},
      {"undefined entity in text", true, [](const std::string& t) { return after(t, "<name>", "&nbsp;"); }},
      {"undefined entity in attribute", true, [](const std::string& t) { return after(t, "<domain type='", "&x;"); }},
      {"control character in text", true, [](const std::string& t) { return after(t, "<name>", "\x01"); }},
      {"escape character in attribute", true, [](const std::string& t) { return after(t, "<domain type='", "\x1b"); }},
      {"NUL byte", true, [](const std::string& t) { return after(t, "<name>", std::string(1, '\0')); }},
      {"reference to a control character", true, [](const std::string& t) { return after(t, "<name>", "&#1;"); }},
      {"'<' in an attribute", true, [](const std::string& t) { return after(t, "<domain type='", "<"); }},
      {"duplicate attribute", true, [](const std::string& t) { return after(t, "<domain", " type='kvm'"); }},
      {"bare ampersand", true, [](const std::string& t) { return after(t, "<name>", "R&D "); }},
      {"'--' in a comment", true, [](const std::string& t) { return after(t, "<devices>", "<!-- a -- b -->"); }},
      {"text after the root", true, [](const std::string& t) { return t + "trailing text\n"; }},
      {"a second root", true, [](const std::string& t) { return t + "<domain/>\n"; }},
      {"mismatched end tag", true, [](const std::string& t) { return after(t, "<devices>", "<disk></disks>"); }},
      {"declaration not at the start", true, [](const std::string& t) { return "\n<?xml version='1.0'?>" + t; }},
      {"unquoted attribute", true, [](const std::string& t) { return after(t, "<domain", " id=1"); }},
      {"nested 300 deep", true,
       [](const std::string& t) {
         std::string deep;
         for (int i = 0; i < 300; ++i) deep += "<a>";
         for (int i = 0; i < 300; ++i) deep += "</a>";
         return after(t, "<devices>", deep);
       }},
      // Well-formed edits: lint must read these.
      {"character reference", false, [](const std::string& t) { return after(t, "<name>", "&#233;"); }},
      {"CDATA section", false, [](const std::string& t) { return after(t, "<description>", "<![CDATA[a < b]]>"); }},
      {"UTF-8 text", false, [](const std::string& t) { return after(t, "<name>", "\xc3\xa9t\xc3\xa9"); }},
      {"entity a DTD declares", false,
       [](const std::string& t) {
         std::string body = after(t, "<name>", "&nm;");
         size_t root = body.find("<domain");
         return root == std::string::npos ? t : body.insert(root, "<!DOCTYPE domain [<!ENTITY nm \"x\">]>\n");
       }},
  };
  return m;
}

class LintWellFormed : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vfioctl-wellformed-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(LintWellFormed, LintRefusesExactlyWhatLibvirtsParserRefuses) {
  if (shell("command -v xmllint").rc != 0) {
    if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true") FAIL() << "xmllint is missing";
    GTEST_SKIP() << "xmllint (libxml2-utils) is not installed";
  }
  fs::path realdata = fs::path(VFIOCTL_SOURCE_DIR) / "tests/lint/realdata";
  int mutants = 0, refused = 0, agreed = 0;
  for (const auto& entry : fs::directory_iterator(realdata)) {
    if (entry.path().extension() != ".xml") continue;
    std::string text = vfioctl::test::slurp(entry.path());
    for (const auto& m : mutations()) {
      std::string mutant = m.apply(text);
      if (mutant == text) continue;  // the mark is not in this file
      fs::path file = dir_ / (entry.path().stem().string() + "." + std::to_string(mutants) + ".xml");
      std::ofstream(file, std::ios::binary) << mutant;
      ++mutants;
      bool libvirt_refuses = shell("xmllint --noout " + quote(file.string()) + " 2>/dev/null").rc != 0;
      EXPECT_EQ(libvirt_refuses, m.malformed) << m.name << " in " << entry.path().filename() << ": xmllint disagrees";
      Result r = vfioctl({"lint", file.string()});
      bool lint_refuses = r.rc == 2 && r.err.find("not well-formed XML") != std::string::npos;
      EXPECT_EQ(lint_refuses, libvirt_refuses) << m.name << " in " << entry.path().filename() << "\n" << r.err;
      if (lint_refuses) {
        ++refused;
        EXPECT_NE(r.err.find(file.string() + ":"), std::string::npos) << "names the file and line: " << r.err;
      }
      if (lint_refuses == libvirt_refuses) ++agreed;
    }
  }
  EXPECT_GE(mutants, 150) << "7 files, most mutations apply to each";
  EXPECT_EQ(agreed, mutants);
  std::cout << mutants << " mutants, " << refused << " refused by lint, " << agreed << " as xmllint judges\n";
}

}  // namespace
