#include "storage/s3/credentials.h"

#include <cstdlib>
#include <fstream>
#include <map>

namespace sigil::storage::s3 {
namespace {

constexpr size_t kMaxCredentialsFileBytes = 1 << 20;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string NonEmpty(const std::optional<std::string>& v) { return v ? *v : std::string(); }

}  // namespace

EnvLookup ProcessEnv() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only after startup
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<Credentials> ParseCredentialsFile(std::string_view text, std::string_view profile,
                                         std::string_view source) {
  std::map<std::string, std::string> values;  // of the wanted profile
  bool in_profile = false;
  bool found_profile = false;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return InvalidArgument(std::string(source) + ":" + std::to_string(line_no) +
                               ": malformed section header");
      }
      std::string_view name = Trim(line.substr(1, line.size() - 2));
      in_profile = name == profile;
      found_profile = found_profile || in_profile;
      continue;
    }
    if (!in_profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument(std::string(source) + ":" + std::to_string(line_no) +
                             ": expected 'name = value' in profile '" + std::string(profile) + "'");
    }
    values[std::string(Trim(line.substr(0, eq)))] = std::string(Trim(line.substr(eq + 1)));
  }
  if (!found_profile) {
    return InvalidArgument("AWS credentials: profile '" + std::string(profile) + "' not found in " +
                           std::string(source));
  }
  Credentials c;
  c.access_key_id = values["aws_access_key_id"];
  c.secret_access_key = values["aws_secret_access_key"];
  c.session_token = values["aws_session_token"];
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return InvalidArgument("AWS credentials: profile '" + std::string(profile) + "' in " +
                           std::string(source) +
                           " needs aws_access_key_id and aws_secret_access_key");
  }
  return c;
}

Result<Credentials> LoadCredentials(const EnvLookup& env) {
  std::string key_id = NonEmpty(env("AWS_ACCESS_KEY_ID"));
  std::string secret = NonEmpty(env("AWS_SECRET_ACCESS_KEY"));
  if (!key_id.empty() || !secret.empty()) {
    if (key_id.empty()) {
      return InvalidArgument(
          "AWS credentials: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    }
    if (secret.empty()) {
      return InvalidArgument(
          "AWS credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    return Credentials{key_id, secret, NonEmpty(env("AWS_SESSION_TOKEN"))};
  }

  std::string path = NonEmpty(env("AWS_SHARED_CREDENTIALS_FILE"));
  if (path.empty()) {
    std::string home = NonEmpty(env("HOME"));
    if (home.empty()) {
      return InvalidArgument(
          "AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and HOME is unset, "
          "so "
          "~/.aws/credentials cannot be read");
    }
    path = home + "/.aws/credentials";
  }
  std::string profile = NonEmpty(env("AWS_PROFILE"));
  if (profile.empty()) profile = "default";

  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument(
        "AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set and " + path +
        " cannot be read");
  }
  std::string text(kMaxCredentialsFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxCredentialsFileBytes) {
    return InvalidArgument("AWS credentials: " + path + " is larger than 1 MiB");
  }
  return ParseCredentialsFile(text, profile, path);
}

}  // namespace sigil::storage::s3
