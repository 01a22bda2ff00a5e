// sigil: one executable, many subcommands (serve, token, migrate, version, config, and the feature
// commands registered by src/cli: upload, index, lookup, symbolicate).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "api/ops_handlers.h"
#include "cli/symbolication_commands.h"
#include "cli/upload_command.h"
#include "server/admin_commands.h"
#include "server/app.h"
#include "server/config_flags.h"

namespace sigil::server {
namespace {

void SetLogLevel(const Config& config) {
  spdlog::set_level(spdlog::level::from_str(config.server.log_level));
}

// Blocks SIGTERM/SIGINT in every thread (threads inherit the mask), serves, waits for one of them,
// stops.
int Serve(const ConfigFlags& flags) {
  auto config = flags.Load();
  if (!config.ok()) {
    std::fprintf(stderr, "sigil: %s\n", config.status().message().c_str());
    return 2;
  }
  SetLogLevel(*config);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto app = App::Create(*config);
  if (!app.ok()) {
    std::fprintf(stderr, "sigil: %s\n", app.status().message().c_str());
    // A setting the backends refuse (a bad URL, an unusable directory) is a configuration error,
    // like those LoadConfig finds; an unreachable backend is not.
    return app.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  auto admin = (*app)->EnsureAdminToken();
  if (!admin.ok()) {
    std::fprintf(stderr, "sigil: creating the first admin token: %s\n",
                 admin.status().message().c_str());
    return 1;
  }
  Status started = (*app)->Start();
  if (!started.ok()) {
    std::fprintf(stderr, "sigil: %s\n", started.message().c_str());
    return 1;
  }
  std::printf("sigil listening on http://%s\n", (*app)->address().c_str());
  if (!admin->empty()) {
    std::printf("first start: created admin token (shown once, keep it safe):\n  %s\n",
                admin->c_str());
  }
  std::fflush(stdout);
  spdlog::info("sigil {} listening on http://{}", api::BuildVersionInfo().version,
               (*app)->address());

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  (*app)->Shutdown();
  app->reset();
  spdlog::info("stopped");
  return 0;
}

}  // namespace
}  // namespace sigil::server

int main(int argc, char** argv) {
  using namespace sigil::server;
  // Logs go to stderr: stdout is for command output (keys, JSON, the listening address).
  spdlog::set_default_logger(spdlog::stderr_color_mt("sigil"));
  CLI::App app{
      "sigil: a symbol server for crash reporting (store, serve and symbolicate Breakpad symbols)"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  ConfigFlags serve_flags;
  CLI::App* serve =
      app.add_subcommand("serve", "Run the HTTP server (embedded defaults: ./sigil-data)");
  serve_flags.Bind(*serve);
  int exit_code = 0;
  serve->callback([&] { exit_code = Serve(serve_flags); });

  RegisterAdminCommands(app, &exit_code);
  sigil::cli::RegisterUploadCommand(app);
  sigil::cli::RegisterSymbolicationCommands(app);

  CLI::App* version = app.add_subcommand("version", "Print the version, git commit and build time");
  version->callback([] {
    auto v = sigil::api::BuildVersionInfo();
    std::printf("sigil %s (commit %s, built %s)\n", v.version.c_str(), v.commit.c_str(),
                v.build_time.c_str());
  });

  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
