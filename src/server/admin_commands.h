// Administrative subcommands that need the configured backends: token create|list|revoke, migrate,
// config (prints the effective configuration or the settings reference).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace sigil::server {

// Registers the subcommands on `app`; their exit status is written to *exit_code.
void RegisterAdminCommands(CLI::App& app, int* exit_code);

// The settings reference as Markdown (docs/configuration.md is this output).
std::string SettingsMarkdown();

}  // namespace sigil::server
