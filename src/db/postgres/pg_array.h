// PostgreSQL one-dimensional array literals in the text format ("{a,"b c",NULL}"), for TEXT[] and
// BIGINT[] parameters and TEXT[] results. Internal to db/postgres.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sigil::db::postgres {

// Every element quoted, '"' and '\' escaped: valid for any text (PostgreSQL text cannot hold NUL;
// callers reject NUL before).
std::string EncodeTextArray(const std::vector<std::string>& items);
std::string EncodeInt64Array(const std::vector<int64_t>& items);
// Parses PostgreSQL's output for a TEXT[] value. NULL elements and multi-dimensional or
// non-default-bounds arrays are kInternal (sigil never stores them).
Result<std::vector<std::string>> DecodeTextArray(std::string_view literal);

}  // namespace sigil::db::postgres
