// Symbolication subcommands:
//
//   sigil index FILE.sym -o FILE.symidx        build a symbol index (prints counts, errors, sizes,
//   MB/s) sigil lookup FILE.symidx 0x1234 ...        look addresses up in an index (--json for JSON
//   lines) sigil symbolicate --url URL request.json   POST a v5 request to a server and print the
//   result sigil symbolicate --symbols DIR request.json   the same offline, from a store-layout
//   directory
//                                              (<debug_file>/<debug_id>/<file>.sym, plain or gzip)
//   --format json|text for symbolicate: text prints "#0 xul.dll!Foo::Bar(int) [file.cpp:12 +
//   0x1a]".
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sigil::cli {

// Each returns the process exit code (0 ok, 1 on failure); results go to `out`, errors to `err`.
int RunIndex(const std::string& sym_path, const std::string& out_path, std::ostream& out,
             std::ostream& err);
int RunLookup(const std::string& index_path, const std::vector<std::string>& addresses,
              bool as_json, std::ostream& out, std::ostream& err);
struct SymbolicateCommandOptions {
  std::string url;           // server base URL (online)
  std::string symbols_dir;   // store-layout directory (offline)
  std::string request_path;  // v5 request JSON ("-" = stdin)
  std::string format = "json";
  bool debug = false;
};
int RunSymbolicate(const SymbolicateCommandOptions& options, std::ostream& out, std::ostream& err);

void RegisterSymbolicationCommands(CLI::App& app);

}  // namespace sigil::cli
