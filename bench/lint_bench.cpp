// lint throughput in process (Google Benchmark): every real domain XML of
// tests/lint/realdata linted from its text, as `vfioctl lint` does per file,
// without and with a fixture host; with pugixml's parse alone as the floor
// (lint parses once and walks the tree per rule) and --fix's pass. Each
// benchmark reports files per second (items_per_second). bench/lint-run
// runs it beside the end-to-end CLI figures.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "vfioctl/host/host.h"
#include "vfioctl/host/root.h"
#include "vfioctl/lint/lint.h"

namespace {

namespace fs = std::filesystem;
using namespace vfioctl;

struct File {
  std::string name;
  std::string text;
};

const std::vector<File>& files() {
  static const std::vector<File> all = [] {
    std::vector<File> out;
    for (const auto& e : fs::directory_iterator(fs::path(VFIOCTL_SOURCE_DIR) / "tests/lint/realdata")) {
      if (e.path().extension() != ".xml") continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back({e.path().filename().string(), ss.str()});
    }
    std::sort(out.begin(), out.end(), [](const File& a, const File& b) { return a.name < b.name; });
    return out;
  }();
  return all;
}

const Host& fixture() {
  static const Host host = [] {
    Root root(std::string(VFIOCTL_SOURCE_DIR) + "/tests/hosts/amd-ryzen9-3900x");
    return read_host(root);
  }();
  return host;
}

void lint_files(benchmark::State& state, const Host* host) {
  for (auto _ : state) {
    for (const auto& f : files()) benchmark::DoNotOptimize(lint::lint_text(f.name, f.text, host, {}));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * files().size()));
}

void BM_Lint(benchmark::State& state) { lint_files(state, nullptr); }
void BM_LintWithHost(benchmark::State& state) { lint_files(state, &fixture()); }

void BM_ParseOnly(benchmark::State& state) {
  for (auto _ : state) {
    for (const auto& f : files()) {
      pugi::xml_document doc;
      benchmark::DoNotOptimize(doc.load_buffer(f.text.data(), f.text.size(), pugi::parse_default | pugi::parse_comments,
                                               pugi::encoding_utf8));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * files().size()));
}

void BM_Fix(benchmark::State& state) {
  for (auto _ : state) {
    for (const auto& f : files()) benchmark::DoNotOptimize(lint::fix_text(f.name, f.text, nullptr, {}));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * files().size()));
}

BENCHMARK(BM_ParseOnly);
BENCHMARK(BM_Lint);
BENCHMARK(BM_LintWithHost);
BENCHMARK(BM_Fix);

}  // namespace

BENCHMARK_MAIN();
