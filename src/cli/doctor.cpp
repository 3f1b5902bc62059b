// vfioctl doctor: is this host ready for passthrough, and what exactly to
// change if not.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "cli.h"
#include "vfioctl/guest/needs.h"
#include "vfioctl/host/access.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/json.h"
#include "vfioctl/host/selector.h"
#include "vfioctl/host/session.h"
#include "vfioctl/plan/doctor.h"
#include "vfioctl/plan/guest_checks.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

struct DoctorOptions {
  std::vector<std::string> devices;
  std::string guest;
};

std::string label(Severity s, const Style& st) {
  std::string l = severity_label(s);
  switch (s) {
    case Severity::pass: return st.green(l);
    case Severity::fail: return st.red(l);
    case Severity::warn: return st.yellow(l);
    case Severity::info:
    case Severity::skip: return st.dim(l);
  }
  return l;
}

std::string summary(const std::vector<Finding>& findings) {
  std::map<Severity, int> n;
  for (const auto& f : findings) n[f.severity]++;
  auto part = [&](Severity s, const char* one, const char* many) -> std::string {
    int k = n[s];
    return k ? fmt::format("{} {}", k, k == 1 ? one : many) : "";
  };
  std::vector<std::string> parts;
  for (const auto& p : {part(Severity::fail, "failed", "failed"), part(Severity::warn, "warning", "warnings"),
                        part(Severity::pass, "passed", "passed"), part(Severity::info, "note", "notes"),
                        part(Severity::skip, "skipped", "skipped")}) {
    if (!p.empty()) parts.push_back(p);
  }
  return join(parts, ", ");
}

void print_text(const Host& host, const std::vector<Finding>& findings, const Session& session, int verbose,
                const Style& st) {
  std::vector<std::string> about;
  if (host.platform.model_name) about.push_back(*host.platform.model_name);
  if (host.system.distro.pretty_name) about.push_back(*host.system.distro.pretty_name);
  if (host.kernel.release) about.push_back("kernel " + *host.kernel.release);
  std::cout << st.bold("vfioctl doctor") << (about.empty() ? "" : ": " + join(about, ", ")) << "\n";
  if (!session.live) std::cout << "Reading a host tree, not the live host: checks of this session are skipped.\n";
  // Sections in the order they first appear; findings keep their order within.
  std::vector<std::string> sections;
  for (const auto& f : findings) {
    if (std::find(sections.begin(), sections.end(), f.section) == sections.end()) sections.push_back(f.section);
  }
  std::vector<const Finding*> ordered;
  for (const auto& s : sections) {
    for (const auto& f : findings) {
      if (f.section == s) ordered.push_back(&f);
    }
  }
  std::string section;
  for (const Finding* fp : ordered) {
    const Finding& f = *fp;
    if (f.section != section) {
      section = f.section;
      std::cout << "\n" << st.bold(section) << "\n";
    }
    std::cout << "  " << label(f.severity, st) << "  " << f.id << "  " << f.title << ": " << f.message << "\n";
    bool problem = f.severity == Severity::fail || f.severity == Severity::warn;
    if (problem || verbose) std::cout << "              " << st.dim("why: " + f.why) << "\n";
    if (!f.fix.empty() && (problem || f.severity == Severity::info || verbose)) {
      std::cout << "              fix: " << f.fix << "\n";
    }
  }
  std::cout << "\n" << st.bold(summary(findings)) << "\n";
  bool skipped_live = false;
  for (const auto& f : findings) skipped_live = skipped_live || (f.severity == Severity::skip && f.id == "H019");
  if (!session.live && skipped_live) {
    std::cout << "Run 'vfioctl doctor' on the host itself for the session checks (/dev/kvm access, memlock).\n";
  }
}

void print_json(const Host& host, const std::vector<Finding>& findings) {
  JsonWriter w(std::cout);
  w.begin_object();
  w.key("checks");
  w.begin_array();
  for (const auto& f : findings) write_json(w, f);
  w.end_array();
  std::map<std::string, int> counts = {{"fail", 0}, {"warn", 0}, {"pass", 0}, {"info", 0}, {"skip", 0}};
  for (const auto& f : findings) counts[severity_name(f.severity)]++;
  w.field("summary", counts);
  w.key("notes");
  write_json(w, host.notes);
  w.end_object();
  w.finish();
}

}  // namespace

void add_doctor(CLI::App& app, GlobalOptions& g) {
  auto opts = std::make_shared<DoctorOptions>();
  CLI::App* cmd = app.add_subcommand("doctor", "check that this host is ready for passthrough, with the exact fixes");
  cmd->description(
      "Check the host for PCI passthrough: virtualization extensions, /dev/kvm, the IOMMU and its kernel\n"
      "arguments, interrupt remapping, VFIO modules, unsafe or obsolete options, hugepages, CPU isolation,\n"
      "firmware and software. Each check has a stable id (H001...; see docs/rules.md) and a result:\n"
      "PASS, WARN, FAIL, INFO or SKIP (with the reason). Problems come with the exact change for this host.\n"
      "With --device, also checks what passing those devices would take. Exit status 1 when a check fails.");
  cmd->add_option("--device,-d", opts->devices,
                  "also check passing this device (repeatable): 01:00.0, 0000:01:00.0, 10de:1b81, gpu, usb, nvme, net");
  cmd->add_option("--guest", opts->guest,
                  "check instead what the host must allow for this guest (H201-H212): the QEMU user's access to its "
                  "sound socket, ROM and shared memory files, hugetlbfs and /dev/kvm, AppArmor/SELinux denials, "
                  "nested, vhost-net, the vfioctl hook")
      ->type_name("DOMAIN.xml");
  cmd->footer(
      "\nExamples:\n  vfioctl doctor\n  vfioctl doctor --device 01:00.0\n  vfioctl doctor --device gpu --json\n"
      "  vfioctl doctor --guest win11.xml\n"
      "  vfioctl --root tests/hosts/intel-desktop-z370 doctor --device 10de:1d01");
  cmd->callback([opts, &g]() {
    auto sels = parse_selectors(opts->devices);
    Root root = open_root(g);
    Host host = read_host(root);
    Session session = read_session(root);
    if (!opts->guest.empty()) {
      std::string text;
      try {
        text = read_input_file(opts->guest, "the domain XML", limits::kDomainXmlBytes);
      } catch (const Error& e) {
        throw input_error(
            fmt::format("--guest {}; give a domain XML file, e.g. from 'virsh dumpxml NAME > NAME.xml'", e.what()));
      }
      GuestNeeds needs;
      try {
        needs = read_guest_needs(text);
      } catch (const Error& e) {
        throw input_error(fmt::format("--guest {}: {}", opts->guest, e.what()));
      }
      auto findings = guest_checks(needs, read_guest_access(root, needs), session);
      if (g.json)
        print_json(host, findings);
      else
        print_text(host, findings, session, g.verbose, make_style(g));
      for (const auto& f : findings) {
        if (f.severity == Severity::fail) g.exit_code = 1;
      }
      return;
    }
    if (root.is_live()) {
      session.list_initramfs = [&root, &host]() {
        return read_initramfs(root, host.kernel.release, host.kernel.arg("initrd"));
      };
    } else {
      session.initramfs = read_initramfs(root, host.kernel.release, host.kernel.arg("initrd"));  // not_live
    }
    auto findings = host_checks(host, session);
    if (!sels.empty()) {
      size_t matched = 0;
      for (const auto& dev : host.pci) {
        if (!any_selector_matches(sels, dev)) continue;
        ++matched;
        auto more = device_checks(host, dev, session);
        findings.insert(findings.end(), more.begin(), more.end());
      }
      if (matched == 0) {
        throw input_error("doctor: no PCI device matches " + join(opts->devices, ", ") +
                          "; 'vfioctl list' shows the devices and their addresses");
      }
    }
    if (g.json)
      print_json(host, findings);
    else
      print_text(host, findings, session, g.verbose, make_style(g));
    if (g.verbose && !g.json) print_notes(host.notes);
    for (const auto& f : findings) {
      if (f.severity == Severity::fail) g.exit_code = 1;
    }
  });
}

}  // namespace vfioctl::cli
