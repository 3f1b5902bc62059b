// Whether a text is an XML document libvirt would read: the same parser
// (libxml2) with the options libvirt uses (no network, no entity
// substitution, libxml2's default limits: elements nested at most
// limits::kXmlDepth deep). pugixml, which vfioctl reads domains with, is
// lenient: it accepts invalid UTF-8, undefined entities and control
// characters that libvirt refuses. Every domain XML vfioctl reads from a user
// or from libvirt passes this check first.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vfioctl {

struct XmlProblem {
  int line = 0;         // 1-based; 0 when the problem is the whole text
  std::string message;  // libxml2's, without its line break
};

// nullopt for a well-formed document of at most limits::kDomainXmlBytes.
std::optional<XmlProblem> xml_problem(std::string_view text);

}  // namespace vfioctl
