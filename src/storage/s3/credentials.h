// AWS credentials for the S3 backend, read the way the AWS CLI and SDKs read them:
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN) from the environment;
//   2. else the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials),
//      section [AWS_PROFILE] (default [default]): aws_access_key_id, aws_secret_access_key,
//      aws_session_token.
// Instance/container roles (IMDS, ECS) are not supported: sigil talks to no network but the
// endpoint.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sigil::storage::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" unless temporary (STS) credentials
};

// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The process environment (std::getenv).
EnvLookup ProcessEnv();

// Loads credentials as described above. Errors (kInvalidArgument) name the variable, file or
// profile that is missing or incomplete. Reads at most 1 MiB of the credentials file. Thread-safe
// if `env` is.
Result<Credentials> LoadCredentials(const EnvLookup& env);

// Parses the INI text of a shared credentials file and returns the named profile's credentials.
// `source` names the file in error messages.
Result<Credentials> ParseCredentialsFile(std::string_view text, std::string_view profile,
                                         std::string_view source);

}  // namespace sigil::storage::s3
