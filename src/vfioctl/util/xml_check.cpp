#include "vfioctl/util/xml_check.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <memory>

#include "vfioctl/util/limits.h"
#include "vfioctl/util/strings.h"

namespace vfioctl {

std::optional<XmlProblem> xml_problem(std::string_view text) {
  if (text.size() > limits::kDomainXmlBytes)
    return XmlProblem{
        0, "larger than " + std::to_string(limits::kDomainXmlBytes >> 20) + " MiB, the most virsh reads from a file"};
  // libxml2 makes no parser for empty memory; its verdict would be the same.
  if (text.empty()) return XmlProblem{0, "the file is empty: no XML element in it"};
  static const bool initialised = [] {
    xmlInitParser();
    return true;
  }();
  (void)initialised;
  std::unique_ptr<xmlParserCtxt, void (*)(xmlParserCtxtPtr)> ctxt(
      xmlCreateMemoryParserCtxt(text.data(), static_cast<int>(text.size())), xmlFreeParserCtxt);
  if (!ctxt) return XmlProblem{0, "out of memory"};
  // libvirt's own options (virXMLParseHelper): no network; errors and
  // warnings are collected here instead of printed.
  xmlCtxtUseOptions(ctxt.get(), XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
  // The parser checks everything whatever the callbacks; without those that
  // build elements and text it builds no tree, which is most of its cost.
  // Declarations stay, so entities a DTD declares are known.
  xmlSAXHandler* sax = ctxt->sax;
  sax->startElementNs = nullptr;
  sax->endElementNs = nullptr;
  sax->startElement = nullptr;
  sax->endElement = nullptr;
  sax->characters = nullptr;
  sax->ignorableWhitespace = nullptr;
  sax->cdataBlock = nullptr;
  sax->comment = nullptr;
  sax->processingInstruction = nullptr;
  sax->reference = nullptr;
  // The first fatal error names the place; later ones follow from it.
  std::optional<XmlProblem> first;
  ctxt->_private = &first;
  sax->serror = [](void* data, xmlErrorPtr e) {
    auto* c = static_cast<xmlParserCtxtPtr>(data);
    auto* f = c ? static_cast<std::optional<XmlProblem>*>(c->_private) : nullptr;
    if (f && !*f && e && e->level == XML_ERR_FATAL)
      *f = XmlProblem{e->line, e->message ? std::string(trim(e->message)) : "not well-formed"};
  };
  xmlParseDocument(ctxt.get());
  bool ok = ctxt->wellFormed != 0;
  if (ctxt->myDoc) {
    xmlFreeDoc(ctxt->myDoc);
    ctxt->myDoc = nullptr;
  }
  if (ok) return std::nullopt;
  XmlProblem p{0, "not well-formed"};
  if (first) {
    p = *first;
  } else if (const xmlError* e = xmlCtxtGetLastError(ctxt.get())) {
    p.line = e->line;
    if (e->message) p.message = std::string(trim(e->message));
  }
  std::replace(p.message.begin(), p.message.end(), '\n', ' ');
  if (p.message.find("Excessive depth") != std::string::npos)
    p.message = "elements nested more than " + std::to_string(limits::kXmlDepth) + " deep (libvirt reads at most " +
                std::to_string(limits::kXmlDepth) + ")";
  return p;
}

}  // namespace vfioctl
