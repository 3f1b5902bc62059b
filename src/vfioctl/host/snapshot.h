// Snapshots: a copy of exactly the host files the readers read, laid out as
// a host tree, so `--root` on it gives the same output as the live host.
#pragma once

#include <string>
#include <vector>

namespace vfioctl {

class Root;

struct SnapshotReport {
  size_t files = 0;
  size_t links = 0;
  size_t dirs = 0;
  size_t masked = 0;
  std::vector<std::string> skipped;  // paths refused as possibly secret
};

// Copies every path `root` has touched into `dest` (an empty or new
// directory). Symbolic links stay links; device nodes become empty files;
// serial numbers are masked; paths outside the fact areas are skipped.
SnapshotReport write_snapshot(const Root& root, const std::string& dest);

// write_snapshot into `output`, a new directory or a .tar.gz (`tarball`),
// replacing an existing one. Built in a private directory (mkdtemp, mode
// 0700) beside the output and renamed into place, so an interrupted run
// leaves nothing half-written and no name in it can be planted beforehand.
// Throws Error (exit 3) when it cannot.
SnapshotReport save_snapshot(const Root& root, const std::string& output, bool tarball);

// Whether a host path may go into a snapshot (no secrets, no personal files).
bool snapshot_allows(const std::string& path);

// Whether a file's content is replaced by a mask (serial numbers, UUIDs).
bool snapshot_masks(const std::string& path);

}  // namespace vfioctl
