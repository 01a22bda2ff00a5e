#include "server/config_flags.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

extern char** environ;

namespace sigil::server {

void ConfigFlags::Bind(CLI::App& command, std::vector<std::string> shown) {
  command.add_option("--config", config_file_, "TOML configuration file (also SIGIL_CONFIG)");
  size_t listed_count = 0;
  for (const auto& s : ListSettings()) {
    std::string help = s.help + " [" + s.env +
                       "; default: " + (s.default_value.empty() ? "\"\"" : s.default_value) + "]";
    bool named = std::find(shown.begin(), shown.end(), s.name) != shown.end();
    listed_count += named;
    bool listed = shown.empty() || named;
    // CLI11 leaves options of the empty group out of --help.
    options_[s.name] =
        command.add_option(s.flag, values_[s.name], help)->group(listed ? "Settings" : "");
  }
  // A name that is not a setting would silently hide nothing and list nothing: a programming error.
  if (listed_count != shown.size()) {
    throw std::logic_error("ConfigFlags::Bind: a shown setting name is not a setting");
  }
  if (!shown.empty()) {
    command.footer(
        "Every other setting of `sigil serve --help` (docs/configuration.md) is accepted too, as "
        "a flag, SIGIL_* variable or in the --config file.");
  }
}

Result<Config> ConfigFlags::Load() const {
  std::vector<std::pair<std::string, std::string>> flags;
  for (const auto& [name, opt] : options_) {
    if (opt->count() > 0) flags.emplace_back(name, values_.at(name));
  }
  std::string file = config_file_;
  if (file.empty()) {
    if (const char* env_file = std::getenv("SIGIL_CONFIG")) file = env_file;
  }
  return LoadConfig(file, environ, flags);
}

}  // namespace sigil::server
