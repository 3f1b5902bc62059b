#include "vfioctl/host/pci_names.h"

extern "C" {
#include <pci/pci.h>
}

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace vfioctl {

namespace {

// libpci reports through callbacks; a missing pci.ids must not end the
// program (the default error handler exits), names just stay unknown.
void quiet(char*, ...) {}

// libpci calls this only for failures it cannot continue from; it must not
// return. (The GNU attribute, not [[noreturn]]: clang counts it as part of
// the function's type, as libpci's declaration of the callback does.)
__attribute__((noreturn)) void fatal(char* fmt, ...) {
  std::fprintf(stderr, "vfioctl: error: libpci: ");
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fprintf(stderr, "\n");
  std::_Exit(3);
}

// Names come from pci.ids alone (not udev's hwdb), so output is the same
// on every machine with the same database.
constexpr int kFlags = PCI_LOOKUP_NO_HWDB;

}  // namespace

PciNames::PciNames() : m_access(pci_alloc()) {
  m_access->warning = quiet;
  m_access->error = fatal;
  m_access->debug = quiet;
  // No pci_init(): name lookups need only the database, not bus access, so
  // a fixture root works on a machine without PCI.
}

PciNames::~PciNames() { pci_cleanup(m_access); }

std::string PciNames::vendor(uint16_t vendor_id) {
  char buf[256];
  const char* name =
      pci_lookup_name(m_access, buf, sizeof buf, PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS | kFlags, vendor_id);
  return name ? name : "";
}

std::string PciNames::device(uint16_t vendor_id, uint16_t device_id) {
  char buf[256];
  const char* name = pci_lookup_name(m_access, buf, sizeof buf, PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | kFlags,
                                     vendor_id, device_id);
  return name ? name : "";
}

std::string PciNames::device_class(uint16_t class_id) {
  char buf[256];
  const char* name =
      pci_lookup_name(m_access, buf, sizeof buf, PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS | kFlags, class_id);
  return name ? name : "";
}

}  // namespace vfioctl
