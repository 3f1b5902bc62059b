#include "vfioctl/setup/guest_install.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "vfioctl/util/error.h"
#include "vfioctl/util/process.h"
#include "vfioctl/util/strings.h"

#ifdef VFIOCTL_HAVE_LIBVIRT
#include <dlfcn.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <type_traits>
#endif

namespace vfioctl::setup {

namespace {

namespace fs = std::filesystem;

// libvirt's client library is loaded when --define needs it, not at start:
// it pulls in some sixty shared libraries (TLS, Kerberos, SASL, GLib), which
// would cost every vfioctl command tens of milliseconds, the libvirt hook
// included.
struct LibvirtApi {
#ifdef VFIOCTL_HAVE_LIBVIRT
  decltype(&::virSetErrorFunc) set_error_func = nullptr;
  decltype(&::virConnectOpen) connect_open = nullptr;
  decltype(&::virGetLastError) last_error = nullptr;
  decltype(&::virDomainDefineXML) define_xml = nullptr;
  decltype(&::virDomainFree) domain_free = nullptr;
  decltype(&::virConnectClose) connect_close = nullptr;
  decltype(&::virDomainLookupByName) lookup_by_name = nullptr;
  decltype(&::virDomainGetXMLDesc) get_xml_desc = nullptr;
  decltype(&::virConnectGetLibVersion) get_lib_version = nullptr;
#endif
};

#ifdef VFIOCTL_HAVE_LIBVIRT
LibvirtApi load_libvirt(const std::string& uri, const std::string& name) {
  void* lib = ::dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw Error(ExitCode::refused,
                fmt::format("--define needs libvirt's client library (libvirt.so.0: {}); install libvirt0 "
                            "(Debian, Ubuntu) or libvirt-libs (Fedora), or write the XML with -o and run "
                            "'virsh -c {} define FILE' for {}",
                            ::dlerror(), uri, name));
  LibvirtApi api;
  auto sym = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, symbol));
    if (!fn)
      throw Error(ExitCode::refused, fmt::format("libvirt.so.0 has no {}: the library is too old or broken", symbol));
  };
  sym(api.set_error_func, "virSetErrorFunc");
  sym(api.connect_open, "virConnectOpen");
  sym(api.last_error, "virGetLastError");
  sym(api.define_xml, "virDomainDefineXML");
  sym(api.domain_free, "virDomainFree");
  sym(api.connect_close, "virConnectClose");
  sym(api.lookup_by_name, "virDomainLookupByName");
  sym(api.get_xml_desc, "virDomainGetXMLDesc");
  sym(api.get_lib_version, "virConnectGetLibVersion");
  return api;
}
#endif

#ifdef VFIOCTL_HAVE_LIBVIRT
// Opens `uri`; refused (exit 3) with libvirt's reason when it cannot.
virConnectPtr connect_libvirt(LibvirtApi& lv, const std::string& uri) {
  // libvirt prints every error itself by default; ours says it once, with context.
  lv.set_error_func(nullptr, [](void*, virErrorPtr) {});
  virConnectPtr conn = lv.connect_open(uri.c_str());
  if (!conn) {
    const virError* err = lv.last_error();
    throw Error(ExitCode::refused,
                fmt::format("cannot connect to libvirt at {}: {} (is libvirtd running there, and the host reachable?)",
                            uri, err && err->message ? err->message : "unknown error"));
  }
  return conn;
}
#endif

}  // namespace

void define_domain(const std::string& uri, const std::string& xml, const std::string& name) {
#ifdef VFIOCTL_HAVE_LIBVIRT
  LibvirtApi lv = load_libvirt(uri, name);
  virConnectPtr conn = connect_libvirt(lv, uri);
  virDomainPtr dom = lv.define_xml(conn, xml.c_str());
  if (!dom) {
    const virError* err = lv.last_error();
    std::string msg = err && err->message ? err->message : "unknown error";
    lv.connect_close(conn);
    throw Error(ExitCode::refused, fmt::format("libvirt refused the domain {}: {}", name, msg));
  }
  lv.domain_free(dom);
  lv.connect_close(conn);
#else
  (void)xml;
  throw Error(ExitCode::refused, fmt::format("--define: this vfioctl was built without libvirt; write the XML "
                                             "with -o and run 'virsh -c {} define FILE' for {}",
                                             uri, name));
#endif
}

std::optional<unsigned long> libvirt_version(const std::string& uri, const std::string& name) {
#ifdef VFIOCTL_HAVE_LIBVIRT
  LibvirtApi lv = load_libvirt(uri, name);
  virConnectPtr conn = connect_libvirt(lv, uri);
  unsigned long version = 0;
  int rc = lv.get_lib_version(conn, &version);
  lv.connect_close(conn);
  if (rc != 0 || version == 0) return std::nullopt;
  return version;
#else
  (void)uri;
  (void)name;
  return std::nullopt;
#endif
}

std::string fetch_domain(const std::string& uri, const std::string& name) {
#ifdef VFIOCTL_HAVE_LIBVIRT
  LibvirtApi lv = load_libvirt(uri, name);
  lv.set_error_func(nullptr, [](void*, virErrorPtr) {});
  virConnectPtr conn = lv.connect_open(uri.c_str());
  if (!conn) {
    const virError* err = lv.last_error();
    throw Error(ExitCode::refused, fmt::format("cannot connect to libvirt at {}: {}", uri,
                                               err && err->message ? err->message : "unknown error"));
  }
  virDomainPtr dom = lv.lookup_by_name(conn, name.c_str());
  if (!dom) {
    lv.connect_close(conn);
    throw input_error(fmt::format("--installed {}: no such file, and no domain of that name at {}", name, uri));
  }
  char* xml = lv.get_xml_desc(dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  lv.domain_free(dom);
  lv.connect_close(conn);
  if (!xml) throw Error(ExitCode::refused, fmt::format("libvirt gave no definition of {}", name));
  std::string out(xml);
  free(xml);  // NOLINT: libvirt allocates with malloc
  return out;
#else
  (void)uri;
  throw input_error(fmt::format("--installed {}: no such file", name));
#endif
}

void create_images(const GuestPlan& plan, const Root& root, const Distro& distro, CommandRunner& runner,
                   std::ostream& log) {
  for (const auto& img : plan.images) {
    if (!root.is_live()) {
      log << fmt::format("vfioctl: note: not creating {} (--root is not this host): {}\n", img.path,
                         join(img.argv(), " "));
      continue;
    }
    std::error_code ec;
    if (fs::exists(img.path, ec))
      throw Error(ExitCode::refused, fmt::format("{} appeared while planning; not creating it over", img.path));
    if (!program_exists("qemu-img"))
      throw Error(ExitCode::refused,
                  fmt::format("qemu-img is missing; it creates {} ({})", img.path, distro.install("qemu-img")));
    ProcessResult r = runner.run(Command{img.argv(), "create the disk image"});
    if (r.exit_code != 0)
      throw Error(ExitCode::refused, fmt::format("{} failed: {}", join(img.argv(), " "), trim(r.output)));
    log << fmt::format("Created {} ({}, {} MiB).\n", img.path, img.format, img.size_mib);
  }
}

}  // namespace vfioctl::setup
