// The text form of one invalidation event, shared by the distributed InvalidationBus backends
// (Redis pub/sub messages, memcached's event log): `v1|<sender>|<0|1
// try>|<debug_file>/<debug_id>/<file>`. The sender is the publishing bus's random id, so a bus can
// skip its own events.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "common/symbol_key.h"

namespace sigil::cache {

std::string EncodeInvalidation(const std::string& sender, const SymbolKey& key);
// Fails with kInvalidArgument when malformed; `sender` receives the sender id.
Result<SymbolKey> DecodeInvalidation(std::string_view message, std::string* sender);

}  // namespace sigil::cache
