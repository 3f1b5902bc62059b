// Vendor, device and class names from the pci.ids database, through libpci.
#pragma once

#include <cstdint>
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

 private:
  pci_access* m_access;
};

}  // namespace vfioctl
