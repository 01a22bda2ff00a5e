// JSON forms of the symbolication API (v4 and v5), shared by the HTTP handlers and `sigil
// symbolicate`.
//
// Parsing validates exactly as Eliot does, in the same order and with the same messages (they
// become the 400 response's "title"), e.g. "Payload is not valid JSON", "job 1 is invalid: no
// stacks specified", "job 0 has invalid modules: module index 0 has an invalid debug_id", "job 0
// has invalid stacks: stack 0 frame 0 has a module_index that isn't in modules". Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "symbolication/symbolication_service.h"

namespace sigil::symbolication {

enum class ApiVersion { kV4, kV5 };

// v5: {"jobs": [job, ...]} or a single job at the top level; v4: one job. A job is
// {"memoryMap": [[debug_file, debug_id], ...], "stacks": [[[module_index, module_offset], ...],
// ...]}. `max_jobs` is checked (v5) before the jobs are validated, as Eliot does. kInvalidArgument
// on error.
Result<SymbolicateRequest> ParseSymbolicateRequest(std::string_view body, ApiVersion version,
                                                   int max_jobs);

// {"results": [{"stacks": [[frame, ...]], "found_modules": {...}}], "debug": {...} when
// with_debug}.
std::string FormatV5(const SymbolicateResponse& response, bool with_debug);
// {"symbolicatedStacks": [["func (in module)", ...]], "knownModules": [true, false, null]} for the
// one job of `request`.
std::string FormatV4(const SymbolicateRequest& request, const SymbolicateResponse& response);
// A v5 response (JSON text, from this server or another) as one line per frame:
// "#0 xul.dll!Foo::Bar(int) [file.cpp:12 + 0x1a]"; inlined frames first, marked "(inlined)"; stacks
// separated by a blank line. kInvalidArgument if `v5_json` is not a v5 response.
Result<std::string> FormatV5AsText(std::string_view v5_json);

// "0x1a"; "-0x1" for the -1 offset.
std::string HexOffset(bool minus_one, uint64_t value);

}  // namespace sigil::symbolication
