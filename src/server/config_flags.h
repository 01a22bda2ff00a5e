// Binds every Config setting to a CLI11 subcommand as --<flag>, plus --config, and loads the Config
// from flags > SIGIL_* environment > TOML file > defaults (common/config.h).
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"

namespace sigil::server {

class ConfigFlags {
 public:
  // Adds the options to `command`. `this` must outlive parsing. Every setting is accepted; when
  // `shown` is not empty, --help lists only the settings whose names are in it (the ones the
  // command uses) and says that the others are accepted too.
  void Bind(CLI::App& command, std::vector<std::string> shown = {});
  // After parsing: the effective config, or the one-line error naming the setting.
  Result<Config> Load() const;

 private:
  std::string config_file_;
  std::map<std::string, std::string> values_;    // setting name -> value given
  std::map<std::string, CLI::Option*> options_;  // setting name -> option
};

}  // namespace sigil::server
