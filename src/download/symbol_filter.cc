#include "download/symbol_filter.h"

#include <algorithm>

namespace sigil::download {

SymbolFilter::SymbolFilter(const std::vector<std::string>& allowed_extensions) {
  allow_all_ = allowed_extensions.empty();
  for (const auto& ext : allowed_extensions) {
    if (ext.empty()) {
      allow_all_ = true;  // an empty suffix matches every name
      continue;
    }
    auto it = std::find_if(groups_.begin(), groups_.end(),
                           [&](const Group& g) { return g.length == ext.size(); });
    if (it == groups_.end()) {
      groups_.push_back(Group{ext.size(), {}});
      it = groups_.end() - 1;
    }
    it->suffixes.push_back(ext);
  }
  for (auto& g : groups_) {
    std::sort(g.suffixes.begin(), g.suffixes.end());
    g.suffixes.erase(std::unique(g.suffixes.begin(), g.suffixes.end()), g.suffixes.end());
  }
  std::sort(groups_.begin(), groups_.end(),
            [](const Group& a, const Group& b) { return a.length < b.length; });
}

bool SymbolFilter::HasAllowedExtension(std::string_view filename) const {
  if (allow_all_) return true;
  for (const auto& g : groups_) {
    if (g.length > filename.size()) break;
    std::string_view tail = filename.substr(filename.size() - g.length);
    if (std::binary_search(g.suffixes.begin(), g.suffixes.end(), tail,
                           [](std::string_view a, std::string_view b) { return a < b; })) {
      return true;
    }
  }
  return false;
}

bool SymbolFilter::IsIgnored(std::string_view /*debug_file*/, std::string_view debug_id,
                             std::string_view filename) const {
  if (filename == "file.ptr") return true;
  if (debug_id.size() == 33 && debug_id.find_first_not_of('0') == std::string_view::npos)
    return true;
  return !HasAllowedExtension(filename);
}

}  // namespace sigil::download
