// vfioctl lint: the mistakes in existing libvirt domain XMLs, with the fix
// for each; with --host, also judged against this host's CPUs and devices.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "cli.h"
#include "vfioctl/host/host.h"
#include "vfioctl/lint/fix_file.h"
#include "vfioctl/lint/lint.h"
#include "vfioctl/lint/report.h"
#include "vfioctl/util/atomic_file.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/limits.h"
#include "vfioctl/util/strings.h"
#include "vfioctl/util/suggest.h"

namespace vfioctl::cli {

namespace {

struct LintCliOptions {
  std::vector<std::string> files;
  bool host = false;
  std::vector<std::string> disable;
  std::string min_severity = "info";
  std::string format = "text";
  bool fix = false;
  std::string output;  // -o: where --fix writes (one input file)
};

// The file's text, or the reason it cannot be read (without the path, which
// the report puts first).
bool read_file(const std::string& path, std::string& text, std::string& reason) {
  try {
    text = read_input_file(path, "the domain XML", limits::kDomainXmlBytes);
    return true;
  } catch (const Error& e) {
    std::string_view msg = e.what();
    if (starts_with(msg, path + ": ")) msg.remove_prefix(path.size() + 2);
    reason = std::string(msg);
    return false;
  }
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
      Nearest near(id, {.ignore_case = true});
      for (const auto& rule : lint::rules()) near.offer(rule.id);
      const std::string& best = near.best();
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
      "With --fix it writes the fixes of the findings marked fixable (the file rewritten in place with the\n"
      "original kept as FILE.bak, or written to -o OUT) and reports what is left.\n"
      "Exit status 1 when an error is found, 2 when a file cannot be read or parsed (the others are still checked),\n"
      "3 when a fixed file cannot be written.");
  cmd->add_option("files", opts->files, "domain XML files ('-' reads standard input)")
      ->required()
      ->type_name("FILE.xml");
  cmd->add_flag("--host", opts->host, "also judge against this host's facts (implied by --root DIR)");
  cmd->add_option("--disable", opts->disable, "skip a rule (repeatable, or comma-separated): L002")
      ->delimiter(',')
      ->type_name("ID");
  cmd->add_option("--min-severity", opts->min_severity, "show findings at least this severe: info, warning, error")
      ->check(CLI::IsMember({"info", "warning", "error"}));
  cmd->add_option("--format", opts->format, "output: text (like a compiler), json, sarif (SARIF 2.1.0)")
      ->check(CLI::IsMember({"text", "json", "sarif"}));
  cmd->add_flag("--fix", opts->fix,
                "fix what can be fixed mechanically, in place (keeping FILE.bak) or into -o OUT, then lint the result");
  cmd->add_option("-o,--output", opts->output, "with --fix and one input file: write the fixed XML here")
      ->type_name("OUT");
  cmd->footer(
      "\nExamples:\n  vfioctl lint /etc/libvirt/qemu/win11.xml\n  vfioctl lint --host win11.xml\n"
      "  vfioctl --root myhost/ lint win11.xml --format sarif > lint.sarif\n"
      "  vfioctl lint --disable L015,L016 --min-severity warning *.xml\n"
      "  vfioctl lint --fix -o win11-fixed.xml win11.xml");
  cmd->callback([opts, &g]() {
    lint::LintOptions lo;
    lo.disabled = parse_disabled(opts->disable);
    lo.min_severity = parse_min_severity(opts->min_severity);
    std::string format = opts->format;
    if (g.json && format == "text") format = "json";
    if (!opts->output.empty() && !opts->fix) throw input_error("lint: -o goes with --fix");
    if (!opts->output.empty() && opts->files.size() != 1) {
      throw input_error(fmt::format("lint: -o takes one input file, not {}", opts->files.size()));
    }
    if (opts->fix && opts->output.empty() &&
        std::find(opts->files.begin(), opts->files.end(), "-") != opts->files.end()) {
      throw input_error("lint: --fix cannot rewrite standard input in place; give -o OUT");
    }

    std::unique_ptr<Host> host;
    if (opts->host || g.root != "/") {
      Root root = open_root(g);
      host = std::make_unique<Host>(
          read_host(root, HostPart::pci | HostPart::cpu | HostPart::memory | HostPart::kernel | HostPart::platform));
    }

    std::vector<lint::FileReport> reports;
    std::vector<std::string> fixes;  // what --fix did, a line per file
    bool write_failed = false;
    for (const auto& path : opts->files) {
      std::string text, reason;
      std::string name = path == "-" ? "<stdin>" : path;
      if (!read_file(path, text, reason)) {
        reports.push_back(lint::unreadable(name, reason));
      } else if (!opts->fix) {
        reports.push_back(lint::lint_text(name, std::move(text), host.get(), lo));
      } else {
        std::string said;
        try {
          reports.push_back(lint::fix_file(real_fs(), path, std::move(text), opts->output, host.get(), lo, said));
          if (!said.empty()) fixes.push_back(said);
        } catch (const Error& e) {
          std::cerr << "vfioctl: error: " << e.what() << "\n";
          write_failed = true;
        }
      }
    }
    // What was fixed, before the findings left: on stdout beside text, on
    // stderr when stdout carries a document.
    std::ostream& said_to = format == "text" ? std::cout : std::cerr;
    for (const auto& line : fixes) said_to << line << "\n";

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
    if (format == "json")
      lint::write_json(std::cout, reports, ctx);
    else if (format == "sarif")
      lint::write_sarif(std::cout, reports, ctx);
    else
      lint::write_text(std::cout, reports, ctx);
    if (host && g.verbose) print_notes(host->notes);

    if (write_failed)
      g.exit_code = static_cast<int>(ExitCode::refused);
    else if (unreadable)
      g.exit_code = static_cast<int>(ExitCode::bad_input);
    else if (errors)
      g.exit_code = static_cast<int>(ExitCode::findings);
  });
}

}  // namespace vfioctl::cli
