// Every bound of util/limits.h, at its edge and far past it: depth, size and
// count cases for each parser and reader of untrusted input (docs/limits.md).
// Inputs far past a bound are the size that crashed or hung vfioctl before
// the bound existed; each case finishing at all is part of what it checks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "hook_model.h"
#include "temp_tree.h"
#include "vfioctl/guest/guest_plan.h"
#include "vfioctl/guest/spec.h"
#include "vfioctl/guest/spec_parser.h"
#include "vfioctl/host/firmware.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/lint/domain.h"
#include "vfioctl/lint/lint.h"
#include "vfioctl/runtime/domain_tune.h"
#include "vfioctl/runtime/tuner.h"
#include "vfioctl/util/cpulist.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/json_input.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/xml_check.h"

namespace vfioctl {
namespace {

std::string repeat(const std::string& s, size_t n) {
  std::string r;
  r.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) r += s;
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- CPU lists ---------------------------------------------------------------

TEST(Limits, RepeatedCpuRangesCostTheirTextNotTheirProduct) {
  // 170 KB of the widest allowed range, again and again (30 s before).
  std::string text = repeat("0-8191,", 24000);
  text.pop_back();
  auto cpus = parse_cpulist(text);
  ASSERT_TRUE(cpus);
  EXPECT_EQ(cpus->size(), 8192u);
  auto set = parse_libvirt_cpuset(text + ",^5");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->size(), 8191u);
  EXPECT_EQ(parse_libvirt_cpuset(text), cpus);
}

TEST(Limits, CpuNumbersStopAtTheKernelsLargestNrCpus) {
  EXPECT_TRUE(parse_cpulist(std::to_string(limits::kMaxCpu)));
  EXPECT_FALSE(parse_cpulist(std::to_string(limits::kMaxCpu + 1)));
  EXPECT_FALSE(parse_cpulist("0-2147483647"));
  EXPECT_FALSE(parse_libvirt_cpuset("0-99999"));
  EXPECT_FALSE(parse_libvirt_cpuset("^0")) << "an empty set";
  // A kernel mask of more than 8192 bits with a bit set past them.
  EXPECT_TRUE(parse_cpumask(repeat("0", 2047) + "1"));
  EXPECT_FALSE(parse_cpumask("1" + repeat("0", 4096)));
}

// ---- JSON (hook state, journal, bind records) ------------------------------------

TEST(Limits, JsonNestingIsRefusedBeforeTheParserAndThePrinterRecurse) {
  auto nested = [](int depth) {
    return repeat("[", static_cast<size_t>(depth)) + repeat("]", static_cast<size_t>(depth));
  };
  EXPECT_NO_THROW(parse_json(nested(limits::kJsonDepth)));
  EXPECT_THROW(parse_json(nested(limits::kJsonDepth + 1)), JsonLimitError);
  EXPECT_THROW(parse_json(nested(200000)), nlohmann::json::exception) << "a json::exception, as callers catch";
  // Brackets inside strings are text.
  EXPECT_NO_THROW(parse_json("{\"a\": \"" + repeat("[{", 1000) + "\\\"[\"}"));
  EXPECT_THROW(parse_json(std::string(limits::kJsonBytes + 1, ' ')), JsonLimitError);
}

TEST(Limits, HookStatusOnADeeplyNestedStateFileSaysItIsUnreadable) {
  runtime::test_model::ModelIo io;
  io.files[runtime::kHostState] = "{\"holders\": " + repeat("[", 100000) + repeat("]", 100000) + "}";
  std::ostringstream out;
  runtime::Tuner t(io, out);
  EXPECT_EQ(t.host_state_json(), "");
  io.files["/run/vfioctl/guests/g.json"] = repeat("{\"a\":", 50000) + "1" + repeat("}", 50000);
  EXPECT_NO_THROW(t.states());
}

// ---- TOML (guest specs) ------------------------------------------------------------

TEST(Limits, DottedKeysAndNestingAreBoundedBeforeToml) {
  std::string chain = "a" + repeat(".a", 39999);  // 40,000 parts: a stack overflow in toml++ before
  for (const std::string& text :
       {"[" + chain + "]\n", "memory = \"4G\"\n" + chain + " = 1\n", "memory = \"4G\"\nx = { " + chain + " = 1 }\n"}) {
    std::string e = error_of([&] { parse_guest_spec(text, "g.toml"); });
    EXPECT_TRUE(has(e, "g.toml:")) << e;
    EXPECT_TRUE(has(e, "dotted key with more than 16 parts")) << e;
  }
  std::string deep = "memory = \"4G\"\nx = " + repeat("[", 40000) + repeat("]", 40000) + "\n";
  std::string e = error_of([&] { parse_guest_spec(deep, "g.toml"); });
  EXPECT_TRUE(has(e, "g.toml:2: arrays or tables nested more than 32 deep")) << e;
  // At the bounds, and dots in strings, numbers and comments, are TOML's business.
  std::string sixteen = "a" + repeat(".a", limits::kTomlKeyParts - 1);
  EXPECT_FALSE(spec_detail::toml_bounds_problem(sixteen + " = 1\n"));
  EXPECT_TRUE(spec_detail::toml_bounds_problem(sixteen + ".a = 1\n"));
  EXPECT_FALSE(spec_detail::toml_bounds_problem("x = \"" + chain + "\" # " + chain + "\ny = 1.5\n"));
  EXPECT_FALSE(spec_detail::toml_bounds_problem("x = '''\n" + chain + "\n'''\n"));
  EXPECT_FALSE(spec_detail::toml_bounds_problem("x = " + repeat("[", 32) + repeat("]", 32) + "\n"));
}

// 13333333333336G passed the size check and overflowed the memory plan's
// arithmetic (found by spec_fuzz).
TEST(Limits, SizesStopAtOnePebibyte) {
  std::string e = error_of([] { parse_guest_spec("memory = \"13333333333336G\"\n", "g.toml"); });
  EXPECT_TRUE(has(e, "g.toml:1: memory '13333333333336G' is too large")) << e;
  EXPECT_TRUE(has(error_of([] { parse_guest_spec("memory = \"1025T\"\n", "g.toml"); }), "too large"));
  EXPECT_EQ(spec_detail::parse_size("1024T").mib, limits::kMaxSizeMib);
}

TEST(Limits, ASpecLargerThanOneMebibyteIsRefusedUnread) {
  std::string e = error_of([] { parse_guest_spec("# " + std::string(limits::kSpecBytes, 'x') + "\n", "big.toml"); });
  EXPECT_TRUE(has(e, "big.toml: the spec is larger than 1 MiB")) << e;
}

TEST(Limits, GuestNamesThatAreDirectoriesOrOptionsAreRefusedAtTheirLine) {
  for (const char* name : {".", "..", "-rf"}) {
    std::string e =
        error_of([&] { parse_guest_spec(std::string("memory = \"4G\"\nname = \"") + name + "\"\n", "g.toml"); });
    EXPECT_TRUE(has(e, "g.toml:2: name '")) << e;
  }
  EXPECT_EQ(parse_guest_spec("memory = \"4G\"\nname = \"a..b\"\n", "g.toml").name, "a..b");
}

// A control character in any string ends up in the domain XML, which
// libvirt then refuses (found by spec_fuzz: a disk path with "\b").
TEST(Limits, ControlCharactersInSpecStringsAreRefusedAtTheirLine) {
  for (const char* value : {"\"/var/lib/a\\bb.qcow2\"", "\"/var/lib/a\\nb.qcow2\"", "\"/x\\u007f\"", "\"/x\\uFFFE\""}) {
    std::string e = error_of([&] {
      parse_guest_spec(std::string("memory = \"4G\"\n[[disk]]\nsource = ") + value + "\nsize = \"1G\"\n", "g.toml");
    });
    EXPECT_TRUE(has(e, "g.toml:3: the string holds the control character U+")) << e;
  }
  std::string e = error_of([] { parse_guest_spec("memory = \"4G\"\n\"a\\u0001\" = 1\n", "g.toml"); });
  EXPECT_TRUE(has(e, "g.toml:2: a key holds the control character U+0001")) << e;
}

TEST(Limits, EvdevPathsStayUnderDevInput) {
  for (const char* path : {"/dev/input/../sda", "/dev/input/by-id/../../mem", "/dev/input/./event3"}) {
    std::string e = error_of(
        [&] { parse_guest_spec(std::string("memory = \"4G\"\n[input]\nevdev = [\"") + path + "\"]\n", "g.toml"); });
    EXPECT_TRUE(has(e, "g.toml:3: input.evdev")) << e;
  }
}

// ---- XML (domain XMLs for lint, doctor --guest, new --installed, the hook) ----

TEST(Limits, XmlNestingStopsAtLibxml2sDepth) {
  auto nested = [](int depth) {
    return "<domain>" + repeat("<a>", static_cast<size_t>(depth - 1)) + repeat("</a>", static_cast<size_t>(depth - 1)) +
           "</domain>";
  };
  EXPECT_FALSE(xml_problem(nested(limits::kXmlDepth)));
  auto p = xml_problem(nested(limits::kXmlDepth + 1));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->message, "elements nested more than 257 deep (libvirt reads at most 257)");
  // 7,000 levels crashed lint's misplaced-element walk; 1.4 MB of them took
  // 24 GB in new --installed.
  std::string deep = nested(7000);
  auto r = lint::lint_text("deep.xml", deep, nullptr, {});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(has(r.error, "nested more than 257 deep")) << r.error;
  std::vector<std::string> removed;
  std::string huge = "<domain><devices>" + repeat("<a>", 200000) + repeat("</a>", 200000) + "</devices></domain>";
  EXPECT_TRUE(has(error_of([&] { remove_install_media(huge, removed); }), "nested more than 257 deep"));
  EXPECT_THROW(runtime::parse_domain_tune(deep), Error);
}

TEST(Limits, InstalledWritesNoMoreThanItReads) {
  // Wide and as deep as allowed: the output keeps the input's layout.
  std::string inner = repeat("<a>", 250) + repeat("</a>", 250);
  std::string xml = "<domain>\n  <devices>\n    <disk type='file' device='cdrom'><source file='/x.iso'/></disk>\n" +
                    repeat("    <x>" + inner + "</x>\n", 200) + "  </devices>\n</domain>\n";
  std::vector<std::string> removed;
  std::string out = remove_install_media(xml, removed);
  EXPECT_EQ(removed, std::vector<std::string>{"/x.iso"});
  EXPECT_LT(out.size(), xml.size());
  EXPECT_TRUE(has(out, "<domain>\n  <devices>\n    <x>")) << out.substr(0, 80);
}

TEST(Limits, AnEmptyDomainXmlIsRefusedAsEmpty) {
  auto p = xml_problem("");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->message, "the file is empty: no XML element in it");
  auto r = lint::lint_text("empty.xml", "", nullptr, {});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(has(r.error, "empty")) << r.error;
}

TEST(Limits, ADomainXmlOverVirshsLimitIsRefused) {
  std::string big = "<domain>" + std::string(limits::kDomainXmlBytes, ' ') + "</domain>";
  auto p = xml_problem(big);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->message, "larger than 10 MiB, the most virsh reads from a file");
}

TEST(Limits, ThousandsOfFindingsOnOneLineAreFixedInLinearishTime) {
  // 40,000 elements where libvirt does not read them, on one line: every one
  // a finding with a move (15 s in the indentation scan before).
  std::string xml =
      "<domain type='kvm'><name>g</name><memory unit='GiB'>4</memory><vcpu>2</vcpu>"
      "<os><type arch='x86_64' machine='q35'>hvm</type></os><clock offset='utc'/><devices>" +
      repeat("<timer name='hpet' present='no'/>", 40000) + "</devices></domain>\n";
  auto r = lint::lint_text("wide.xml", xml, nullptr, {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_GE(r.findings.size(), 40000u);
  auto fixed = lint::fix_text("wide.xml", xml, nullptr, {});
  EXPECT_TRUE(fixed.report.ok);
}

// ---- host files -------------------------------------------------------------

TEST(Limits, HostFilesThatAreNotFactsBecomeUnknownWithANote) {
  test::TempTree t;
  t.file("/proc/cmdline", "quiet\n");
  t.file("/sys/kernel/mm/transparent_hugepage/enabled", "x\n");
  // A FIFO where /proc/cpuinfo should be: reading it would wait forever.
  std::filesystem::create_directories(t.dir() / "proc");
  ASSERT_EQ(::mkfifo((t.dir() / "proc/cpuinfo").c_str(), 0644), 0);
  // A file larger than any host fact (sparse: no disk used).
  { std::ofstream big(t.dir() / "proc/meminfo"); }
  std::filesystem::resize_file(t.dir() / "proc/meminfo", limits::kHostFileBytes + 1);
  // A sysfs "attribute" of more than a page can hold (written in pieces, so
  // it is read past its first 8 KiB).
  t.file("/sys/class/net/eth0/address", std::string(limits::kSysfsFileBytes + 1, 'a'));
  Root root(t.dir());
  EXPECT_FALSE(root.read("/sys/class/net/eth0/address"));
  EXPECT_EQ(root.refused().back().message, "larger than 64 KiB, more than a sysfs attribute holds: not read");
  EXPECT_FALSE(root.read("/proc/cpuinfo"));
  EXPECT_FALSE(root.read("/proc/meminfo"));
  EXPECT_EQ(root.read("/proc/cmdline"), "quiet\n");
  Host host = read_host(root);
  bool fifo = false, big = false;
  for (const auto& n : host.notes) {
    if (n.path == "/proc/cpuinfo" && has(n.message, "not a regular file")) fifo = true;
    if (n.path == "/proc/meminfo" && has(n.message, "larger than 8 MiB")) big = true;
  }
  EXPECT_TRUE(fifo);
  EXPECT_TRUE(big);
  // The live root: a device node is never read, however it is reached.
  Root live("/");
  EXPECT_FALSE(live.read("/dev/zero"));
  ASSERT_EQ(live.refused().size(), 1u);
  EXPECT_EQ(live.refused()[0].path, "/dev/zero");
}

TEST(Limits, FilesUsersNameMustBeRegularAndSmallEnough) {
  test::TempTree t;
  std::string fifo = (t.dir() / "spec.toml").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_TRUE(has(error_of([&] { load_guest_spec(fifo); }), "is a device, FIFO or socket, not a regular file"));
  EXPECT_TRUE(has(error_of([] { read_input_file("/dev/zero", "the domain XML", 1024); }),
                  "/dev/zero: the domain XML is a device, FIFO or socket"));
  std::string big = (t.dir() / "big.xml").string();
  { std::ofstream f(big); }
  std::filesystem::resize_file(big, 2048);
  EXPECT_TRUE(has(error_of([&] { read_input_file(big, "the domain XML", 1024); }), "is larger than 1 KiB"));
  EXPECT_FALSE(read_regular_file(fifo, 1024)) << "never blocks";
  EXPECT_FALSE(read_regular_file(big, 1024));
}

// ---- messages ---------------------------------------------------------------

TEST(Limits, ErrorsQuoteAShortPrefixOfABadValue) {
  std::string value(10 << 20, 'x');
  Error e(ExitCode::bad_input, "g.toml:3: name '" + value + "' holds '!'");
  std::string what = e.what();
  EXPECT_LT(what.size(), 200u);
  // The quoted run ("'xxx...'") keeps its first bytes and its length.
  EXPECT_TRUE(has(what, "g.toml:3: name '" + std::string(limits::kQuoteBytes - 1, 'x') + "...(10485762 bytes) holds"))
      << what;
  // Many short words are cut as a whole.
  std::string words = repeat("word ", 100000);
  EXPECT_LE(std::string(Error(ExitCode::bad_input, words).what()).size(), limits::kMessageBytes + 64);
  // Never half a UTF-8 character.
  std::string utf8 = repeat("\xc3\xa9", 200);
  std::string cut = excerpt(utf8);
  EXPECT_EQ(cut.substr(0, limits::kQuoteBytes), utf8.substr(0, limits::kQuoteBytes));
  EXPECT_EQ(excerpt("short"), "short");
}

TEST(Limits, ASpecValueOfTenMegabytesIsQuotedByItsPrefix) {
  std::string text = "memory = \"4G\"\nname = \"" + std::string(1 << 19, 'a') + "!\"\n";
  std::string e = error_of([&] { parse_guest_spec(text, "g.toml"); });
  EXPECT_LT(e.size(), 300u) << e.substr(0, 300);
  EXPECT_TRUE(has(e, "g.toml:2:")) << e.substr(0, 300);
}

// Firmware descriptors in a tree: so many per directory, so large each;
// past either, the rest (or that one) is a note, not a read.
TEST(Limits, FirmwareDescriptorsAreCountedAndSized) {
  test::TempTree t;
  for (size_t i = 0; i <= limits::kFirmwareDescriptors; ++i)
    t.file("/usr/share/qemu/firmware/" + std::to_string(1000 + i) + ".json", "{}");
  t.file("/etc/qemu/firmware/10-big.json", std::string(limits::kFirmwareDescriptorBytes + 1, ' '));
  Root root(t.dir());
  Notes notes;
  read_firmware(root, notes);
  bool count = false, size = false;
  size_t not_descriptors = 0;
  for (const auto& n : notes) {
    if (n.path == "/usr/share/qemu/firmware" && has(n.message, "more than 256 firmware descriptors")) count = true;
    if (n.path == "/etc/qemu/firmware/10-big.json" && has(n.message, "larger than 64 KiB")) size = true;
    if (has(n.message, "not a firmware descriptor")) ++not_descriptors;
  }
  EXPECT_TRUE(count);
  EXPECT_TRUE(size);
  EXPECT_EQ(not_descriptors, limits::kFirmwareDescriptors);
}

}  // namespace
}  // namespace vfioctl
