#include "cache/invalidation_wire.h"

namespace sigil::cache {

std::string EncodeInvalidation(const std::string& sender, const SymbolKey& key) {
  return "v1|" + sender + "|" + (key.is_try ? "1" : "0") + "|" + key.Path();
}

Result<SymbolKey> DecodeInvalidation(std::string_view message, std::string* sender) {
  // v1|<sender>|<try>|<path>; '|' cannot occur in a valid path part.
  auto bad = [&](const char* why) {
    return InvalidArgument(std::string("invalidation message ") + why + ": " +
                           std::string(message.substr(0, 300)));
  };
  if (message.substr(0, 3) != "v1|") return bad("has an unknown version");
  std::string_view rest = message.substr(3);
  size_t bar = rest.find('|');
  if (bar == std::string_view::npos || bar == 0) return bad("has no sender");
  *sender = std::string(rest.substr(0, bar));
  rest = rest.substr(bar + 1);
  if (rest.size() < 2 || (rest[0] != '0' && rest[0] != '1') || rest[1] != '|')
    return bad("has no try flag");
  Result<SymbolKey> key = SymbolKey::ParsePath(rest.substr(2), rest[0] == '1');
  if (!key.ok())
    return InvalidArgument("invalidation message has a bad key: " + key.status().message());
  return key;
}

}  // namespace sigil::cache
