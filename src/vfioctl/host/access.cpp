#include "vfioctl/host/access.h"

#include <fmt/format.h>

#include <algorithm>

#include "vfioctl/host/root.h"
#include "vfioctl/host/system.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

namespace {

// The strings of a value: "a" or [ "a", "b" ].
std::vector<std::string> strings_in(std::string_view v) {
  std::vector<std::string> out;
  size_t i = 0;
  while ((i = v.find('"', i)) != std::string_view::npos) {
    size_t j = v.find('"', i + 1);
    if (j == std::string_view::npos) break;
    out.emplace_back(v.substr(i + 1, j - i - 1));
    i = j + 1;
  }
  return out;
}

std::string strip_comment(std::string_view line) {
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"') quoted = !quoted;
    if (line[i] == '#' && !quoted) return std::string(line.substr(0, i));
  }
  return std::string(line);
}

std::optional<Account> from_passwd(const Root& root, const std::string& key, bool by_uid) {
  auto passwd = root.read("/etc/passwd");
  if (!passwd) return std::nullopt;
  for (auto line : split(*passwd, '\n')) {
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    if (by_uid ? f[2] != key : f[0] != key) continue;
    Account a;
    a.name = std::string(f[0]);
    a.uid = static_cast<unsigned>(parse_int(f[2]).value_or(-1));
    a.gid = static_cast<unsigned>(parse_int(f[3]).value_or(-1));
    if (auto group = root.read("/etc/group")) {
      for (auto g : split(*group, '\n')) {
        auto gf = split(g, ':');
        if (gf.size() < 4) continue;
        for (auto m : split(gf[3], ',')) {
          if (m == a.name) a.groups.push_back(static_cast<unsigned>(parse_int(gf[2]).value_or(-1)));
        }
      }
    }
    return a;
  }
  return std::nullopt;
}

// The name of an id in /etc/passwd (field 2) or /etc/group, else the number.
std::string id_name(const Root& root, const char* file, unsigned id) {
  if (auto text = root.read(file)) {
    for (auto line : split(*text, '\n')) {
      auto f = split(line, ':');
      if (f.size() >= 3 && parse_int(f[2]) == static_cast<long long>(id)) return std::string(f[0]);
    }
  }
  return std::to_string(id);
}

}  // namespace

const std::vector<std::string>& default_cgroup_device_acl() {
  static const std::vector<std::string> acl = {"/dev/null",    "/dev/full", "/dev/zero", "/dev/random",
                                               "/dev/urandom", "/dev/ptmx", "/dev/kvm",  "/dev/userfaultfd"};
  return acl;
}

QemuConf parse_qemu_conf(const std::string& text) {
  QemuConf c;
  c.present = true;
  auto lines = split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = strip_comment(lines[i]);
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key(trim(std::string_view(line).substr(0, eq)));
    std::string value(trim(std::string_view(line).substr(eq + 1)));
    int first_line = static_cast<int>(i) + 1;
    if (starts_with(value, "[")) {
      // A list may go on over the next lines until its ']'.
      while (value.find(']') == std::string::npos && i + 1 < lines.size()) value += " " + strip_comment(lines[++i]);
    }
    if (key == "cgroup_device_acl") {
      c.cgroup_device_acl = strings_in(value);
      c.acl_line = first_line;
    } else if (key == "user" || key == "group") {
      auto v = strings_in(value);
      if (!v.empty()) (key == "user" ? c.user : c.group) = v.front();
    }
  }
  return c;
}

QemuConf read_qemu_conf(const Root& root) {
  auto text = root.read("/etc/libvirt/qemu.conf");
  if (!text) return QemuConf{};
  return parse_qemu_conf(*text);
}

std::optional<Account> find_account(const Root& root, const std::string& name) {
  if (starts_with(name, "+")) return from_passwd(root, name.substr(1), true);
  return from_passwd(root, name, false);
}

std::optional<Account> qemu_account(const Root& root, const QemuConf& conf) {
  if (conf.user) return find_account(root, *conf.user);
  for (const char* n : {"libvirt-qemu", "qemu"}) {
    if (auto a = find_account(root, n)) return a;
  }
  return std::nullopt;
}

Access can_access(const Root& root, const std::string& path, const Account& who, bool write, std::string* why) {
  auto allowed = [&](const Root::FileInfo& f, unsigned bits) {
    if (who.uid == 0) return true;
    if (f.uid == who.uid) return ((f.mode >> 6) & bits) == bits;
    bool member = f.gid == who.gid || std::find(who.groups.begin(), who.groups.end(), f.gid) != who.groups.end();
    if (member) return ((f.mode >> 3) & bits) == bits;
    return (f.mode & bits) == bits;
  };
  Root::FileInfo target = root.stat(path);
  if (target.kind == Root::FileInfo::Kind::missing) return Access::missing;
  std::string dir;
  for (auto part : split(std::string_view(path).substr(1), '/')) {
    if (part.empty()) continue;
    std::string next = dir + "/" + std::string(part);
    if (next == path) break;
    dir = next;
    Root::FileInfo d = root.stat(dir);
    if (!allowed(d, 1)) {
      if (why)
        *why = dir + " (mode " + std::to_string((d.mode >> 6) & 7) + std::to_string((d.mode >> 3) & 7) +
               std::to_string(d.mode & 7) + ") may not be entered";
      return Access::no;
    }
  }
  unsigned bits = write ? 6 : 4;
  if (!allowed(target, bits)) {
    if (why) *why = path + " is not " + (write ? "readable and writable" : "readable");
    return Access::no;
  }
  return Access::yes;
}

MacFacts read_mac(const Root& root, const std::string& uuid) {
  MacFacts m;
  if (auto t = root.read("/sys/module/apparmor/parameters/enabled")) m.apparmor = trim(*t) == "Y";
  if (auto t = root.read("/sys/fs/selinux/enforce")) m.selinux_enforcing = trim(*t) == "1";
  if (!m.apparmor && !m.selinux_enforcing) return m;
  for (const char* log : {"/var/log/audit/audit.log", "/var/log/kern.log", "/var/log/syslog"}) {
    auto text = root.read(log);
    if (!text) continue;
    for (auto line : split(*text, '\n')) {
      bool apparmor = line.find("apparmor=\"DENIED\"") != std::string_view::npos &&
                      line.find("libvirt-" + uuid) != std::string_view::npos;
      bool selinux =
          line.find("avc:  denied") != std::string_view::npos && line.find("svirt") != std::string_view::npos;
      if (apparmor || selinux) m.denials.emplace_back(trim(line));
    }
  }
  return m;
}

}  // namespace vfioctl

namespace vfioctl {

GuestAccess read_guest_access(const Root& root, const GuestNeeds& needs) {
  GuestAccess g;
  g.conf = read_qemu_conf(root);
  g.qemu = qemu_account(root, g.conf);
  auto access_of = [&](const std::string& p, bool write) {
    GuestAccess::PathAccess a;
    a.path = p;
    a.access = g.qemu ? can_access(root, p, *g.qemu, write, &a.why) : (root.exists(p) ? Access::yes : Access::missing);
    return a;
  };
  auto check = [&](const std::vector<std::string>& paths, bool write, std::vector<GuestAccess::PathAccess>& out) {
    for (const auto& p : paths) out.push_back(access_of(p, write));
  };
  check(needs.audio_sockets, true, g.audio);
  check(needs.roms, false, g.roms);
  std::vector<std::string> shm;
  for (const auto& n : needs.shmems) shm.push_back("/dev/shm/" + n);
  check(shm, true, g.shmems);
  if (auto mounts = root.read("/proc/mounts")) {
    for (auto line : split(*mounts, '\n')) {
      auto f = split_ws(line);
      if (f.size() < 4 || f[2] != "hugetlbfs") continue;
      HugetlbfsMount m;
      m.path = std::string(f[1]);
      for (auto opt : split(f[3], ',')) {
        if (!starts_with(opt, "pagesize=")) continue;
        std::string v = to_lower(opt.substr(9));
        long long n = parse_int(std::string_view(v).substr(0, v.size() - 1)).value_or(0);
        m.page_kib = ends_with(v, "g") ? n * 1024 * 1024 : ends_with(v, "m") ? n * 1024 : n;
      }
      g.hugetlbfs.push_back(m);
    }
  }
  g.openrc = boots_openrc(root);
  if (auto meminfo = root.read("/proc/meminfo")) {
    for (auto line : split(*meminfo, '\n')) {
      if (!starts_with(line, "Hugepagesize:")) continue;
      auto f = split_ws(line);
      if (f.size() >= 2) g.default_hugepage_kib = parse_int(f[1]).value_or(0);
    }
  }
  for (auto& m : g.hugetlbfs) {
    if (m.page_kib == 0) m.page_kib = g.default_hugepage_kib;
  }
  if (!needs.nested.empty()) {
    std::string module = needs.nested == "svm" ? "kvm_amd" : "kvm_intel";
    if (auto t = root.read("/sys/module/" + module + "/parameters/nested")) g.nested_param = std::string(trim(*t));
  }
  g.vhost_net = root.exists("/dev/vhost-net");
  if (needs.kvm && g.qemu) {
    g.kvm = access_of("/dev/kvm", true);
    Root::FileInfo info = root.stat("/dev/kvm");
    if (info.kind != Root::FileInfo::Kind::missing)
      g.kvm_mode = fmt::format("{:o} {}:{}", info.mode, id_name(root, "/etc/passwd", info.uid),
                               id_name(root, "/etc/group", info.gid));
  }
  if (needs.tune) {
    Root::FileInfo info = root.stat(kLibvirtHookFile);
    g.hook.present = info.kind != Root::FileInfo::Kind::missing;
    g.hook.executable = info.kind == Root::FileInfo::Kind::regular && (info.mode & 0111) != 0;
    auto text = root.read(kLibvirtHookFile);
    g.hook.ours = text && text->find(kLibvirtHookMarker) != std::string::npos;
  }
  g.mac = read_mac(root, needs.uuid);
  return g;
}

}  // namespace vfioctl
