#include "auth/permissions.h"

#include <algorithm>
#include <iterator>

namespace sigil::auth {

const std::vector<std::string>& AllPermissions() {
  static const std::vector<std::string> kAll = [] {
    std::vector<std::string> all = {std::string(kAdmin), std::string(kManageTokens),
                                    std::string(kUploadSymbols), std::string(kUploadTrySymbols),
                                    std::string(kViewAllUploads)};
    std::sort(all.begin(), all.end());
    return all;
  }();
  return kAll;
}

Status ValidatePermissions(const std::vector<std::string>& permissions) {
  if (permissions.empty()) return InvalidArgument("at least one permission is required");
  const std::vector<std::string>& all = AllPermissions();
  for (const std::string& p : permissions) {
    if (!std::binary_search(all.begin(), all.end(), p)) {
      std::string known;
      for (const std::string& k : all) known += (known.empty() ? "" : ", ") + k;
      return InvalidArgument("unknown permission '" + p.substr(0, 100) + "' (known: " + known +
                             ")");
    }
  }
  return Status::Ok();
}

std::vector<std::string> Expand(const std::vector<std::string>& permissions) {
  if (std::find(permissions.begin(), permissions.end(), kAdmin) != permissions.end()) {
    return AllPermissions();
  }
  std::vector<std::string> out = permissions;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> EffectivePermissions(const std::vector<std::string>& token_permissions,
                                              const std::vector<std::string>& user_permissions) {
  std::vector<std::string> token = Expand(token_permissions);
  std::vector<std::string> user = Expand(user_permissions);
  std::vector<std::string> out;
  std::set_intersection(token.begin(), token.end(), user.begin(), user.end(),
                        std::back_inserter(out));
  return out;
}

bool HasAny(const std::vector<std::string>& effective, const std::vector<std::string>& any_of) {
  if (any_of.empty()) return true;
  for (const std::string& wanted : any_of) {
    if (std::find(effective.begin(), effective.end(), wanted) != effective.end()) return true;
  }
  return false;
}

}  // namespace sigil::auth
