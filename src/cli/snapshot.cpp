// vfioctl snapshot: capture the host facts for a bug report or a test.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

#include "cli.h"
#include "vfioctl/host/guest_env.h"
#include "vfioctl/host/host.h"
#include "vfioctl/host/snapshot.h"
#include "vfioctl/util/error.h"
#include "vfioctl/util/input_file.h"
#include "vfioctl/util/process.h"
#include "vfioctl/util/strings.h"

namespace vfioctl::cli {

namespace {

struct SnapshotOptions {
  std::string output;
  bool force = false;
};

void run_snapshot(const GlobalOptions& g, const SnapshotOptions& o) {
  bool tarball = ends_with(o.output, ".tar.gz") || ends_with(o.output, ".tgz");
  if (path_exists(o.output)) {
    if (!tarball && is_empty_directory(o.output)) {
      // an empty directory is fine
    } else if (!o.force) {
      throw input_error(
          fmt::format("snapshot: {} already exists; choose a new name or pass --force to replace it", o.output));
    }
  }
  Root root = open_root(g);
  root.set_recording(Recording::on);
  Host host = read_host(root, HostPart::all);
  if (tarball && !program_exists("tar")) {
    throw Error(ExitCode::refused, fmt::format("snapshot: 'tar' is not installed; install it ({}) or give a directory",
                                               host.system.distro.install("tar")));
  }
  // What guest specs meet on the host: USB devices, interfaces and bridges, DMI.
  {
    Notes env_notes;
    EnvRequest req;
    req.usb = true;
    req.dmi = true;
    read_guest_env(root, req, env_notes);
  }

  SnapshotReport report = save_snapshot(root, o.output, tarball);
  if (g.json) {
    JsonWriter w(std::cout);
    w.begin_object();
    w.field("output", o.output);
    w.field("files", report.files);
    w.field("links", report.links);
    w.field("dirs", report.dirs);
    w.field("masked", report.masked);
    w.field("skipped", report.skipped);
    w.end_object();
    w.finish();
    return;
  }
  std::cout << fmt::format("Wrote {}: {} files, {} links, {} directories ({} values masked).\n", o.output, report.files,
                           report.links, report.dirs, report.masked);
  for (const auto& s : report.skipped) std::cout << "  left out (not a host fact): " << s << "\n";
  std::cout << "Read it back with: vfioctl --root " << (tarball ? "DIR" : o.output) << " list"
            << (tarball ? fmt::format("   (after: mkdir DIR && tar xzf {} -C DIR)", o.output) : "") << "\n";
}

}  // namespace

void add_snapshot(CLI::App& app, GlobalOptions& g) {
  auto opts = std::make_shared<SnapshotOptions>();
  CLI::App* cmd = app.add_subcommand("snapshot", "copy the host facts vfioctl reads into a directory or .tar.gz");
  cmd->description(
      "Copy exactly the files vfioctl reads (sysfs, procfs, module lists) into a directory or a\n"
      ".tar.gz, keeping symbolic links. 'vfioctl --root SNAPSHOT ...' then answers as on this host:\n"
      "attach it to a bug report or a help request. Serial numbers are masked; nothing outside the\n"
      "host-fact areas (/sys, /proc, /dev, /lib/modules, a few /etc files) is copied.");
  cmd->add_option("-o,--output", opts->output, "FILE.tar.gz or a new directory")->required()->type_name("PATH");
  cmd->add_flag("--force", opts->force, "replace an existing output");
  cmd->footer(
      "\nExamples:\n  vfioctl snapshot -o host.tar.gz\n  vfioctl snapshot -o /tmp/host && vfioctl --root /tmp/host "
      "list");
  cmd->callback([opts, &g]() { run_snapshot(g, *opts); });
}

}  // namespace vfioctl::cli
