// Vendor, device and class names from the pci.ids database libpci uses.
//
// libpci loads the whole database into a hash table before its first
// answer (about 25 million instructions, most of a `doctor` run); a host
// needs the names of a few dozen ids. The plain-text file is read once and
// only its top-level lines (vendors, classes) are indexed; a vendor's or a
// class's block is scanned when one of its ids is asked for. The answers are
// libpci's (`pci_lookup_name` with PCI_LOOKUP_NO_NUMBERS), the same lines
// read by the same rules; a compressed database goes through libpci itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

struct pci_access;

namespace vfioctl {

class PciNames {
 public:
  PciNames();
  ~PciNames();
  PciNames(const PciNames&) = delete;
  PciNames& operator=(const PciNames&) = delete;

  // Each returns "" when the database does not know the id.
  std::string vendor(uint16_t vendor_id);
  std::string device(uint16_t vendor_id, uint16_t device_id);
  std::string device_class(uint16_t class_id);  // base<<8 | sub

  struct Ids;  // the indexed text (pci_names.cpp)

 private:
  // The database, read on the first lookup; nullptr when libpci answers.
  Ids* ids();
  pci_access* access();

  std::unique_ptr<Ids> m_ids;
  bool m_loaded = false;
  pci_access* m_access = nullptr;
};

}  // namespace vfioctl
