#include "vfioctl/host/kernel.h"

#include <cctype>

#include "vfioctl/host/root.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

// "vfio-pci.ids" and "vfio_pci.ids" name the same parameter; the module
// part is normalised, the rest kept.
std::string normalise_key(const std::string& key) {
  size_t dot = key.find('.');
  if (dot == std::string::npos) return key;
  return module_name(key.substr(0, dot)) + key.substr(dot);
}

}  // namespace

const std::vector<std::string>& watched_modules() {
  static const std::vector<std::string> modules = {"kvm",      "kvm_intel",        "kvm_amd",      "vfio",
                                                   "vfio_pci", "vfio_iommu_type1", "vfio_pci_core"};
  return modules;
}

std::optional<long long> size_kib(std::string_view v) {
  v = trim(v);
  if (!v.empty() && (v.back() == 'B' || v.back() == 'b')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  long long unit = 0;
  switch (v.back()) {
    case 'K':
    case 'k': unit = 1; break;
    case 'M':
    case 'm': unit = 1024; break;
    case 'G':
    case 'g': unit = 1024 * 1024; break;
    default: break;
  }
  if (unit) v.remove_suffix(1);
  auto n = parse_int(v);
  if (!n || *n <= 0 || *n > (1LL << 40)) return std::nullopt;
  return unit ? *n * unit : *n / 1024;
}

std::optional<long long> page_count(std::string_view v) {
  if (v.find(':') == std::string_view::npos) return parse_int(v);
  long long sum = 0;
  for (auto part : split(v, ',')) {
    size_t colon = part.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto n = parse_int(part.substr(colon + 1));
    if (!n || *n < 0) return std::nullopt;
    sum += *n;
  }
  return sum;
}

std::map<long long, long long> boot_hugepages(const Kernel& k, long long default_kib) {
  if (auto v = k.arg("default_hugepagesz")) {
    if (auto s = size_kib(*v)) default_kib = *s;
  }
  std::map<long long, long long> wanted;
  std::optional<long long> size;
  bool counted = false;
  for (const auto& a : k.args) {
    if (!a.value) continue;
    if (a.key == "hugepagesz") {
      size = size_kib(*a.value);
      counted = false;
    } else if (a.key == "hugepages") {
      auto n = page_count(*a.value);
      if (n && !counted) wanted[size.value_or(default_kib)] = *n;
      counted = true;
    }
  }
  return wanted;
}

std::string module_name(std::string name) {
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

std::vector<KernelArg> parse_cmdline(const std::string& cmdline) {
  std::vector<KernelArg> args;
  size_t i = 0;
  while (i < cmdline.size()) {
    while (i < cmdline.size() && std::isspace(static_cast<unsigned char>(cmdline[i]))) ++i;
    if (i >= cmdline.size()) break;
    std::string word;
    bool quoted = false;
    while (i < cmdline.size() && (quoted || !std::isspace(static_cast<unsigned char>(cmdline[i])))) {
      if (cmdline[i] == '"')
        quoted = !quoted;
      else
        word += cmdline[i];
      ++i;
    }
    // Everything after "--" goes to init, not the kernel.
    if (word == "--") break;
    KernelArg arg;
    size_t eq = word.find('=');
    if (eq == std::string::npos) {
      arg.key = word;
    } else {
      arg.key = word.substr(0, eq);
      arg.value = word.substr(eq + 1);
    }
    args.push_back(std::move(arg));
  }
  return args;
}

std::optional<std::string> Kernel::arg(const std::string& key) const {
  std::string want = normalise_key(key);
  std::optional<std::string> found;
  for (const auto& a : args) {
    if (normalise_key(a.key) == want) found = a.value.value_or("");
  }
  return found;
}

bool Kernel::has_module(const std::string& name) const {
  std::string n = module_name(name);
  return loaded.count(n) || builtin.count(n);
}

Kernel read_kernel(const Root& root, Notes& notes) {
  Kernel k;
  if (auto t = root.read("/proc/sys/kernel/osrelease"))
    k.release = std::string(trim(*t));
  else
    notes.push_back({"/proc/sys/kernel/osrelease", "missing; kernel release unknown"});
  if (auto t = root.read("/proc/cmdline")) {
    k.cmdline = std::string(trim(*t));
    k.args = parse_cmdline(*k.cmdline);
  } else {
    notes.push_back({"/proc/cmdline", "missing; kernel arguments unknown"});
  }
  if (auto t = root.read("/proc/modules")) {
    for (auto line : split(*t, '\n')) {
      auto fields = split_ws(line);
      if (!fields.empty()) k.loaded.insert(module_name(std::string(fields[0])));
    }
  }
  if (k.release) {
    std::string path = "/lib/modules/" + *k.release + "/modules.builtin";
    if (auto t = root.read(path)) {
      k.builtin_known = true;
      for (auto line : split(*t, '\n')) {
        line = trim(line);
        if (line.empty()) continue;
        std::string_view base = base_name(line);
        if (size_t dot = base.find(".ko"); dot != std::string_view::npos) base = base.substr(0, dot);
        k.builtin.insert(module_name(std::string(base)));
      }
    }
  }
  for (const auto& mod : watched_modules()) {
    std::string dir = "/sys/module/" + mod + "/parameters";
    auto names = root.list(dir);
    if (!names) continue;
    for (const auto& p : *names) {
      if (auto v = root.read(join_path(dir, p))) k.params[mod][p] = std::string(trim(*v));
    }
  }
  return k;
}

}  // namespace vfioctl
