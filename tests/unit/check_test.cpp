// The tables of doctor's checks (host H0xx, device H1xx, guest H2xx): ids in
// order and documented, the runner, and every finding of every fixture host
// within its entry (its title, no worse than the entry's level).
#include "vfioctl/plan/check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "vfioctl/host/root.h"
#include "vfioctl/plan/doctor_checks.h"
#include "vfioctl/plan/guest_checks.h"

namespace vfioctl {
namespace {

using doctor_detail::device_check_table;
using doctor_detail::host_check_table;

// pass < skip < info < warn < fail: how bad a result is.
int rank(Severity s) {
  switch (s) {
    case Severity::pass: return 0;
    case Severity::skip: return 1;
    case Severity::info: return 2;
    case Severity::warn: return 3;
    case Severity::fail: return 4;
  }
  return 5;
}

struct Entry {
  std::string title;
  Severity severity;
  bool has_section;
};

template <class Facts>
void collect(const std::vector<CheckDef<Facts>>& table, std::map<std::string, Entry>& out) {
  for (const auto& c : table) out[std::string(c.id)] = {std::string(c.title), c.severity, !c.section.empty()};
}

std::map<std::string, Entry> all_checks() {
  std::map<std::string, Entry> out;
  collect(host_check_table(), out);
  collect(device_check_table(), out);
  collect(guest_check_table(), out);
  return out;
}

template <class Facts>
void expect_well_formed(const std::vector<CheckDef<Facts>>& table, char kind, bool sections) {
  std::string_view last;
  for (const auto& c : table) {
    EXPECT_EQ(c.id.size(), 4u) << c.id;
    EXPECT_EQ(c.id.substr(0, 2), std::string("H") + kind) << c.id;
    EXPECT_LT(last, c.id) << "out of order or twice: " << c.id;
    last = c.id;
    EXPECT_FALSE(c.title.empty()) << c.id;
    EXPECT_FALSE(c.why.empty()) << c.id;
    EXPECT_NE(c.check, nullptr) << c.id;
    EXPECT_NE(c.severity, Severity::pass) << c.id << ": the level is the worst the check reports";
    EXPECT_EQ(!c.section.empty(), sections) << c.id;
  }
}

TEST(CheckTables, IdsInOrderWithTexts) {
  expect_well_formed(host_check_table(), '0', true);
  expect_well_formed(device_check_table(), '1', false);
  expect_well_formed(guest_check_table(), '2', false);
}

// Ids retired from the tables: their sections stay in docs/rules.md.
const std::set<std::string> kRetired = {};

// docs/rules.md has a section per check, headed "### ID ", and names no other
// H id but retired ones.
TEST(CheckTables, EveryCheckIsDocumentedAndNoOther) {
  std::ifstream f(std::string(VFIOCTL_SOURCE_DIR) + "/docs/rules.md");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string doc = ss.str();
  auto checks = all_checks();
  for (const auto& [id, e] : checks) EXPECT_NE(doc.find("\n### " + id + " "), std::string::npos) << id;
  std::regex heading("\n### (H[0-9]{3}) ");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), heading); it != std::sregex_iterator(); ++it) {
    std::string id = (*it)[1].str();
    EXPECT_TRUE(checks.count(id) || kRetired.count(id)) << id << " is documented but no table has it";
  }
}

void expect_within(const std::vector<Finding>& findings, const std::map<std::string, Entry>& checks) {
  for (const auto& f : findings) {
    auto it = checks.find(f.id);
    ASSERT_NE(it, checks.end()) << f.id;
    EXPECT_EQ(f.title, it->second.title) << f.id;
    EXPECT_LE(rank(f.severity), rank(it->second.severity))
        << f.id << " reports " << severity_name(f.severity) << ", above its level "
        << severity_name(it->second.severity);
    EXPECT_FALSE(f.message.empty()) << f.id;
    EXPECT_FALSE(f.why.empty()) << f.id;
    EXPECT_FALSE(f.section.empty()) << f.id;
  }
}

TEST(CheckTables, EveryFixtureHostsFindingsStayWithinTheirEntry) {
  auto checks = all_checks();
  Session offline;
  offline.live = false;
  Session live;
  live.memlock_bytes = 64 << 20;
  int hosts = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts")) {
    if (!std::filesystem::exists(e.path() / "sys")) continue;
    SCOPED_TRACE(e.path().filename().string());
    ++hosts;
    Host host = read_host(Root(e.path().string()));
    for (const Session* s : {&offline, &live}) {
      auto fs = host_checks(host, *s);
      EXPECT_EQ(fs.size(), host_check_table().size()) << "one finding per host-wide check";
      expect_within(fs, checks);
      for (const auto& d : host.pci) expect_within(device_checks(host, d, *s), checks);
    }
  }
  EXPECT_GE(hosts, 10);
}

TEST(CheckTables, GuestFindingsStayWithinTheirEntry) {
  auto checks = all_checks();
  GuestNeeds n;
  n.name = "g";
  n.evdev = {"/dev/input/kbd"};
  n.evdev_cmdline = {"/dev/input/mouse"};
  n.hugepage_kib = 1048576;
  n.nested = "vmx";
  n.virtio_net = true;
  n.locked = true;
  n.memory_kib = 16 << 20;
  n.tune = true;
  Session s;
  s.memlock_bytes = 64 << 20;
  GuestAccess none;
  expect_within(guest_checks(n, none, s), checks);
  GuestAccess some;
  some.qemu = Account{"libvirt-qemu", 64055, 64055, {}};
  some.audio = {{"/run/user/1000/pulse/native", Access::no, "no"}, {"/x", Access::missing, ""}};
  some.roms = {{"/rom", Access::yes, ""}, {"/rom2", Access::missing, ""}};
  some.shmems = {{"/dev/shm/a", Access::no, "no"}, {"/dev/shm/b", Access::missing, ""}};
  some.mac.apparmor = true;
  some.mac.denials = {"denied"};
  some.nested_param = "N";
  some.hook.present = true;
  some.kvm = GuestAccess::PathAccess{"/dev/kvm", Access::no, "mode"};
  auto fs = guest_checks(n, some, s);
  expect_within(fs, checks);
  EXPECT_GE(fs.size(), 12u);
  EXPECT_EQ(fs.front().section, "Guest g");
}

using Facts = int;

void two(const Facts& f, CheckOut& out) {
  out.add(Severity::warn, "first " + std::to_string(f), "fix", "there");
  out.add_why(Severity::pass, "second", "its own why");
}

void none(const Facts&, CheckOut&) {}

TEST(CheckTables, RunnerFillsEachFindingFromItsEntry) {
  std::vector<CheckDef<Facts>> table = {
      {"X001", "Two", Severity::warn, "the entry's why", two, "Heading"},
      {"X002", "None", Severity::info, "never said", none},
      {"X003", "Two again", Severity::warn, "why 3", two},
  };
  auto fs = run_checks(table, 7, "Run");
  ASSERT_EQ(fs.size(), 4u);
  EXPECT_EQ(fs[0].id, "X001");
  EXPECT_EQ(fs[0].title, "Two");
  EXPECT_EQ(fs[0].severity, Severity::warn);
  EXPECT_EQ(fs[0].message, "first 7");
  EXPECT_EQ(fs[0].why, "the entry's why");
  EXPECT_EQ(fs[0].fix, "fix");
  EXPECT_EQ(fs[0].where, "there");
  EXPECT_EQ(fs[0].section, "Heading");
  EXPECT_EQ(fs[1].why, "its own why");
  EXPECT_TRUE(fs[1].fix.empty());
  EXPECT_EQ(fs[2].id, "X003");
  EXPECT_EQ(fs[2].section, "Run");
}

}  // namespace
}  // namespace vfioctl
