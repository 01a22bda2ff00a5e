// Listing of the filesystem object store: every object key starting with a prefix, in byte order.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/object_store.h"

namespace sigil::storage::fs {

// Walks the tree below `root_fd` (never following symlinks, skipping reserved `.sigil-*` names) and
// returns the regular files whose key starts with `prefix`, sorted by key, at most `limit` (0 =
// all). The walk visits directories in key order, so it stops as soon as `limit` entries are found.
Result<std::vector<ListEntry>> ListBeneath(int root_fd, std::string_view prefix, size_t limit);

}  // namespace sigil::storage::fs
