// Fuzzes the symbolication API's JSON: request parsing and validation (v4 and v5, untrusted
// bodies), the response formatters fed with a response shaped like the parsed request (module names
// and debug files from the input), and the text formatter of `sigil symbolicate`, which reads a v5
// response from another server. Any input must end in a Status; what the formatters write must be
// valid JSON, and a v5 response written here must read back as text.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "symbolication/request_json.h"

using namespace sigil::symbolication;

namespace {

// A response with one result per job: every frame found in its module ("f" at offset 0) or not.
SymbolicateResponse ResponseFor(const SymbolicateRequest& request) {
  SymbolicateResponse response;
  for (const Job& job : request.jobs) {
    JobResult jr;
    for (const ModuleRef& m : job.memory_map) {
      jr.found_modules.emplace_back(m.debug_file + "/" + m.debug_id, m.debug_file.size() % 2 == 0);
    }
    for (const auto& stack : job.stacks) {
      std::vector<FrameResult> frames;
      for (size_t i = 0; i < stack.size(); ++i) {
        FrameResult f;
        f.frame = i;
        f.offset_is_minus_one = stack[i].offset_is_minus_one;
        f.module_offset = stack[i].module_offset;
        if (stack[i].module_index >= 0) {
          f.module = job.memory_map[static_cast<size_t>(stack[i].module_index)].debug_file;
          f.has_function = i % 2 == 0;
          f.function = "f";
          f.file = i % 3 == 0 ? std::string_view("a.cc") : std::string_view();
          f.line = static_cast<int32_t>(i);
          if (i % 4 == 0) f.inlines.push_back(InlineResult{"g", "b.h", 3});
        }
        frames.push_back(std::move(f));
      }
      jr.stacks.push_back(std::move(frames));
    }
    response.results.push_back(std::move(jr));
  }
  return response;
}

void MustBeJson(const std::string& text) {
  boost::json::error_code ec;
  boost::json::parse(text, ec);
  if (ec) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)FormatV5AsText(body);  // a response from elsewhere: any bytes
  for (ApiVersion version : {ApiVersion::kV4, ApiVersion::kV5}) {
    auto request = ParseSymbolicateRequest(body, version, 10);
    if (!request.ok()) continue;
    // No jobs is a valid v5 request (Eliot answers {"results": []}); more than the limit is not.
    if (request->jobs.size() > 10) __builtin_trap();
    for (const Job& job : request->jobs) {
      for (const auto& stack : job.stacks) {
        for (const FrameRef& f : stack) {
          if (f.module_index < -1 ||
              (f.module_index >= 0 && static_cast<size_t>(f.module_index) >= job.memory_map.size()))
            __builtin_trap();  // validation promises an index into the memory map
        }
      }
    }
    SymbolicateResponse response = ResponseFor(*request);
    const std::string v5 = FormatV5(response, request->debug);
    MustBeJson(v5);
    if (!FormatV5AsText(v5).ok()) __builtin_trap();
    if (version == ApiVersion::kV4) MustBeJson(FormatV4(*request, response));
  }
  return 0;
}
