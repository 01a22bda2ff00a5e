// Permission names and their algebra (http-api.md §1): upload_symbols, upload_try_symbols,
// view_all_uploads, manage_tokens, plus admin, which implies every other permission.
// A token holds a subset of its user's permissions; what a request may do is the intersection of
// the two (each expanded for admin), so taking a permission from a user takes it from their tokens.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sigil::auth {

inline constexpr std::string_view kUploadSymbols = "upload_symbols";
inline constexpr std::string_view kUploadTrySymbols = "upload_try_symbols";
inline constexpr std::string_view kViewAllUploads = "view_all_uploads";
inline constexpr std::string_view kManageTokens = "manage_tokens";
inline constexpr std::string_view kAdmin = "admin";

// Every permission name, sorted.
const std::vector<std::string>& AllPermissions();

// kInvalidArgument naming the first unknown name; also rejects an empty list.
Status ValidatePermissions(const std::vector<std::string>& permissions);

// Sorted, unique; with admin present, every permission.
std::vector<std::string> Expand(const std::vector<std::string>& permissions);

// What a token may do: Expand(token) ∩ Expand(user), sorted.
std::vector<std::string> EffectivePermissions(const std::vector<std::string>& token_permissions,
                                              const std::vector<std::string>& user_permissions);

// True if `effective` (already expanded) holds any of `any_of`; an empty `any_of` is true.
bool HasAny(const std::vector<std::string>& effective, const std::vector<std::string>& any_of);

}  // namespace sigil::auth
