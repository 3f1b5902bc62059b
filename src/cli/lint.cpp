// vfioctl lint: the mistakes in existing libvirt domain XMLs, with the fix
// for each; with --host, also judged against this host's CPUs and devices.
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli.h"
#include "vfioctl/host/host.h"
#include "vfioctl/lint/lint.h"
#include "vfioctl/lint/report.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

struct LintCliOptions {
  std::vector<std::string> files;
  bool host = false;
  std::vector<std::string> disable;
  std::string min_severity = "info";
  std::string format = "text";
};

// The file's text, or the reason it cannot be read.
bool read_file(const std::string& path, std::string& text, std::string& reason) {
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    reason = "cannot read: it is a directory";
    return false;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    reason = std::string("cannot read: ") + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) {
    reason = std::string("cannot read: ") + std::strerror(errno);
    return false;
  }
  text = ss.str();
  return true;
}

std::string rule_range() {
  std::vector<std::string> guest, host;
  for (const auto& r : lint::rules()) (r.needs_host ? host : guest).emplace_back(r.id);
  return fmt::format("{}-{} and {}-{}", guest.front(), guest.back(), host.front(), host.back());
}

std::set<std::string> parse_disabled(const std::vector<std::string>& ids) {
  std::set<std::string> out;
  for (const auto& raw : ids) {
    std::string id(trim(raw));
    if (id.empty()) continue;
    const lint::Rule* r = lint::find_rule(id);
    if (!r) {
      std::string best;
      size_t best_d = 3;
      for (const auto& rule : lint::rules()) {
        size_t dist = edit_distance(to_lower(id), to_lower(rule.id));
        if (dist < best_d) {
          best_d = dist;
          best = std::string(rule.id);
        }
      }
      throw input_error(fmt::format("lint: --disable {}: no such rule{} (rules: {}; docs/rules.md)", id,
                                    best.empty() ? "" : "; did you mean " + best + "?", rule_range()));
    }
    out.insert(std::string(r->id));
  }
  return out;
}

Severity parse_min_severity(const std::string& s) {
  if (s == "error") return Severity::fail;
  if (s == "warning") return Severity::warn;
  return Severity::info;
}

}  // namespace

void add_lint(CLI::App& app, GlobalOptions& g) {
  auto opts = std::make_shared<LintCliOptions>();
  CLI::App* cmd = app.add_subcommand("lint", "find mistakes in libvirt domain XMLs, with the fix for each");
  cmd->description(
      "Check libvirt domain XMLs for the mistakes passthrough guests are known for: pinning that overlaps or\n"
      "leaves vCPUs floating, topology and iothread references libvirt refuses, memory without hugepages, a\n"
      "balloon beside passed devices, Windows guests without Hyper-V enlightenments, elements libvirt ignores,\n"
      "split GPU functions, Secure Boot without SMM, and more. Each finding names FILE:LINE, a rule id\n"
      "(L001...; docs/rules.md), why it matters and the fix. With --host (or --root DIR) it also judges the\n"
      "guest against this host: CPUs that exist, SMT siblings, CPU 0's core, IOMMU groups, device addresses.\n"
      "Exit status 1 when an error is found, 2 when a file cannot be read or parsed (the others are still checked).");
  cmd->add_option("files", opts->files, "domain XML files ('-' reads standard input)")->required()->type_name("FILE.xml");
  cmd->add_flag("--host", opts->host, "also judge against this host's facts (implied by --root DIR)");
  cmd->add_option("--disable", opts->disable, "skip a rule (repeatable, or comma-separated): L002")
      ->delimiter(',')
      ->type_name("ID");
  cmd->add_option("--min-severity", opts->min_severity, "show findings at least this severe: info, warning, error")
      ->check(CLI::IsMember({"info", "warning", "error"}));
  cmd->add_option("--format", opts->format, "output: text (like a compiler), json, sarif (SARIF 2.1.0)")
      ->check(CLI::IsMember({"text", "json", "sarif"}));
  cmd->footer(
      "\nExamples:\n  vfioctl lint /etc/libvirt/qemu/win11.xml\n  vfioctl lint --host win11.xml\n"
      "  vfioctl --root myhost/ lint win11.xml --format sarif > lint.sarif\n"
      "  vfioctl lint --disable L015,L016 --min-severity warning *.xml");
  cmd->callback([opts, &g]() {
    lint::LintOptions lo;
    lo.disabled = parse_disabled(opts->disable);
    lo.min_severity = parse_min_severity(opts->min_severity);
    std::string format = opts->format;
    if (g.json && format == "text") format = "json";

    std::unique_ptr<Host> host;
    if (opts->host || g.root != "/") {
      Root root = open_root(g);
      host = std::make_unique<Host>(
          read_host(root, HostPart::pci | HostPart::cpu | HostPart::memory | HostPart::kernel | HostPart::platform));
    }

    std::vector<lint::FileReport> reports;
    for (const auto& path : opts->files) {
      std::string text, reason;
      std::string name = path == "-" ? "<stdin>" : path;
      if (!read_file(path, text, reason)) reports.push_back(lint::unreadable(name, reason));
      else reports.push_back(lint::lint_text(name, std::move(text), host.get(), lo));
    }

    bool unreadable = false, errors = false;
    for (const auto& r : reports) {
      if (!r.ok) {
        unreadable = true;
        std::cerr << "vfioctl: error: " << lint::file_error(r) << "\n";
      }
      for (const auto& f : r.findings) errors = errors || f.finding.severity == Severity::fail;
    }

    lint::ReportContext ctx;
    ctx.host_rules = host != nullptr;
    ctx.color = make_style(g).bold("x") != "x";
    if (format == "json") lint::write_json(std::cout, reports, ctx);
    else if (format == "sarif") lint::write_sarif(std::cout, reports, ctx);
    else lint::write_text(std::cout, reports, ctx);
    if (host && g.verbose) print_notes(host->notes);

    if (unreadable) g.exit_code = static_cast<int>(ExitCode::bad_input);
    else if (errors) g.exit_code = static_cast<int>(ExitCode::findings);
  });
}

}  // namespace vfioctl::cli
