#include "server/admin_commands.h"

#include <cstdio>
#include <memory>
#include <sstream>

#include "auth/token_service.h"
#include "common/clock.h"
#include "server/backends.h"
#include "server/config_flags.h"

namespace sigil::server {
namespace {

// Flags of every admin subcommand, kept alive for the parse.
struct AdminState {
  ConfigFlags token_create_flags, token_list_flags, token_revoke_flags, migrate_flags, config_flags;
  std::string email;
  std::string permissions = "upload_symbols";
  int expires_days = 0;
  std::string notes;
  int64_t revoke_id = 0;
  bool markdown = false;
};

// A TOML basic string (lists stay comma-separated strings; the loader splits them).
std::string TomlQuote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

int Fail(const Status& s) {
  std::fprintf(stderr, "sigil: %s\n", s.message().c_str());
  return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

// Opens (and migrates) the configured database.
Result<std::unique_ptr<db::Database>> OpenMigrated(const ConfigFlags& flags) {
  SIGIL_ASSIGN_OR_RETURN(Config config, flags.Load());
  SIGIL_ASSIGN_OR_RETURN(auto database, OpenDatabase(config.EffectiveDatabaseUrl(), 2));
  SIGIL_RETURN_IF_ERROR(database->Migrate());
  return database;
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

int TokenCreate(const AdminState& st) {
  auto database = OpenMigrated(st.token_create_flags);
  if (!database.ok()) return Fail(database.status());
  auto config = st.token_create_flags.Load();
  int days = st.expires_days > 0 ? st.expires_days : config->auth.default_token_days;
  auth::TokenService tokens(**database);
  auto created = tokens.CreateToken(st.email, SplitCommas(st.permissions), days, st.notes);
  if (!created.ok()) return Fail(created.status());
  std::printf("%s\n", created->key.c_str());
  std::fprintf(
      stderr, "token %lld for %s, permissions %s, expires %s (the key is shown only now)\n",
      static_cast<long long>(created->token.id), st.email.c_str(),
      Join(created->token.permissions).c_str(), FormatIso8601(created->token.expires_at).c_str());
  return 0;
}

int TokenList(const AdminState& st) {
  auto database = OpenMigrated(st.token_list_flags);
  if (!database.ok()) return Fail(database.status());
  auth::TokenService tokens(**database);
  auto list = tokens.ListTokens();
  if (!list.ok()) return Fail(list.status());
  std::printf("%-6s %-32s %-24s %-26s %s\n", "ID", "EMAIL", "EXPIRES", "PERMISSIONS", "NOTES");
  for (const auto& t : *list) {
    bool expired = t.token.expires_at <= NowMicros();
    std::printf("%-6lld %-32s %-24s %-26s %s%s\n", static_cast<long long>(t.token.id),
                t.user.email.c_str(), FormatIso8601(t.token.expires_at).c_str(),
                Join(t.token.permissions).c_str(), t.token.notes.c_str(),
                expired ? " (expired)" : "");
  }
  return 0;
}

int TokenRevoke(const AdminState& st) {
  auto database = OpenMigrated(st.token_revoke_flags);
  if (!database.ok()) return Fail(database.status());
  auth::TokenService tokens(**database);
  Status s = tokens.RevokeToken(st.revoke_id);
  if (!s.ok()) return Fail(s);
  std::printf("revoked token %lld\n", static_cast<long long>(st.revoke_id));
  return 0;
}

int Migrate(const AdminState& st) {
  auto database = OpenMigrated(st.migrate_flags);
  if (!database.ok()) return Fail(database.status());
  auto version = (*database)->SchemaVersion();
  if (!version.ok()) return Fail(version.status());
  std::printf("%s schema at version %d\n", (*database)->Name().c_str(), *version);
  return 0;
}

int PrintConfig(const AdminState& st) {
  if (st.markdown) {
    std::fputs(SettingsMarkdown().c_str(), stdout);
    return 0;
  }
  auto config = st.config_flags.Load();
  if (!config.ok()) return Fail(config.status());
  // Effective values as a TOML file `--config` accepts.
  std::string section;
  for (const auto& [name, value] : DescribeConfig(*config)) {
    std::string sec = name.substr(0, name.find('.'));
    if (sec != section) {
      std::printf("%s[%s]\n", section.empty() ? "" : "\n", sec.c_str());
      section = sec;
    }
    bool bare = value == "true" || value == "false" ||
                (!value.empty() && value.find_first_not_of("0123456789.-") == std::string::npos);
    std::string shown = bare ? value : TomlQuote(value);
    std::printf("%s = %s\n", name.substr(name.find('.') + 1).c_str(), shown.c_str());
  }
  return 0;
}

// The settings the token and migrate commands read (they open only the database), plus `extra`.
std::vector<std::string> DatabaseSettings(std::vector<std::string> extra) {
  extra.insert(extra.end(), {"storage.data_dir", "storage.database_url", "server.log_level"});
  return extra;
}

}  // namespace

std::string SettingsMarkdown() {
  std::ostringstream out;
  out << "# Configuration reference\n\n"
         "Every setting can be given as a flag of `sigil serve` (and of `token`, `migrate`, "
         "`config`), as\n"
         "an environment variable, or in a TOML file passed with `--config` (or `SIGIL_CONFIG`). "
         "Priority:\n"
         "flags, then environment, then the file, then the default. Lists are comma-separated in "
         "flags and\n"
         "variables and arrays in TOML; byte sizes accept k/m/g suffixes. An invalid value stops "
         "startup\n"
         "with one line naming the setting. `sigil config` prints the effective configuration as a "
         "TOML\n"
         "file `--config` accepts.\n\n"
         "```toml\n[server]\nlisten = \"0.0.0.0:8000\"\n\n[storage]\ndata_dir = "
         "\"/var/lib/sigil\"\n"
         "cache_url = \"redis://127.0.0.1:6379/0\"\n\n[upload]\nallowed_url_hosts = "
         "[\"ci.example.com\"]\n```\n\n"
         "Backend URLs: storage `file:///dir` or "
         "`s3://bucket/prefix?endpoint=..&region=..&public_url=..&"
         "addressing=path|virtual&presign_expiry=300`; database `sqlite:///file.db` or "
         "`postgresql://user@host/db`;\n"
         "cache `memory://`, `redis://host:6379/0`, `redis+unix:///path`, "
         "`memcached://host:11211`,\n"
         "`memcached+unix:///path`. S3 credentials come from `AWS_ACCESS_KEY_ID`, "
         "`AWS_SECRET_ACCESS_KEY`,\n"
         "`AWS_SESSION_TOKEN` or `~/.aws/credentials` (`AWS_PROFILE`).\n\n"
         "This file is generated by `sigil config --markdown`.\n\n"
         "| setting | flag | environment | default | meaning |\n|---|---|---|---|---|\n";
  for (const auto& s : ListSettings()) {
    out << "| `" << s.name << "` | `" << s.flag << "` | `" << s.env << "` | "
        << (s.default_value.empty() ? "\"\"" : "`" + s.default_value + "`") << " | " << s.help
        << " |\n";
  }
  return out.str();
}

void RegisterAdminCommands(CLI::App& app, int* exit_code) {
  auto st = std::make_shared<AdminState>();
  CLI::App* token = app.add_subcommand("token", "Manage API tokens (Auth-Token keys)");
  token->require_subcommand(1);

  CLI::App* create =
      token->add_subcommand("create", "Create a token and print its key (shown only once)");
  create->add_option("--email", st->email, "Owner's email (the user is created if missing)")
      ->required();
  create
      ->add_option("--permissions", st->permissions,
                   "Comma-separated: upload_symbols, upload_try_symbols, view_all_uploads, "
                   "manage_tokens, admin")
      ->capture_default_str();
  create->add_option("--expires-days", st->expires_days,
                     "Lifetime in days (default: auth.default_token_days)");
  create->add_option("--notes", st->notes, "Free text shown by `token list`");
  st->token_create_flags.Bind(*create, DatabaseSettings({"auth.default_token_days"}));
  create->callback([st, exit_code] { *exit_code = TokenCreate(*st); });

  CLI::App* list = token->add_subcommand("list", "List tokens (keys are never shown)");
  st->token_list_flags.Bind(*list, DatabaseSettings({}));
  list->callback([st, exit_code] { *exit_code = TokenList(*st); });

  CLI::App* revoke = token->add_subcommand("revoke", "Revoke (delete) a token by id");
  revoke->add_option("id", st->revoke_id, "Token id from `token list`")->required();
  st->token_revoke_flags.Bind(*revoke, DatabaseSettings({}));
  revoke->callback([st, exit_code] { *exit_code = TokenRevoke(*st); });

  CLI::App* migrate =
      app.add_subcommand("migrate", "Apply database migrations and print the schema version");
  st->migrate_flags.Bind(*migrate, DatabaseSettings({}));
  migrate->callback([st, exit_code] { *exit_code = Migrate(*st); });

  CLI::App* config = app.add_subcommand(
      "config", "Print the effective configuration as TOML (--markdown: the settings reference)");
  config->add_flag("--markdown", st->markdown, "Print the reference table as Markdown");
  st->config_flags.Bind(*config);
  config->callback([st, exit_code] { *exit_code = PrintConfig(*st); });
}

}  // namespace sigil::server
