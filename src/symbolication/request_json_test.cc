#include "symbolication/request_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sigil::symbolication {
namespace {

namespace json = boost::json;

TEST(RequestJsonTest, FormatV5EscapesAndRepairsStrings) {
  std::string name = std::string("a\"b\\c\nd\x01") + "\xC3\xA9" + "\xFF" + "\xE2\x82" +
                     "-long-tail-of-plain-ascii";
  SymbolicateResponse resp;
  JobResult jr;
  FrameResult f;
  f.module = "m\"od";
  f.module_offset = 0x10;
  f.has_function = true;
  f.function = name;
  f.function_offset = 0;
  f.file = "c:\\src\\x.cc";
  f.line = 3;
  f.inlines.push_back(InlineResult{"inl", "", 9});
  jr.stacks.push_back({f});
  jr.found_modules.emplace_back("m/ABC", true);
  jr.found_modules.emplace_back("n/DEF", std::nullopt);
  resp.results.push_back(jr);
  json::value v = json::parse(FormatV5(resp, false));
  const json::value& frame = v.at("results").at(0).at("stacks").at(0).at(0);
  EXPECT_EQ(frame.at("function").as_string(), std::string("a\"b\\c\nd\x01") + "\xC3\xA9" +
                                                  "\xEF\xBF\xBD" + "\xEF\xBF\xBD\xEF\xBF\xBD" +
                                                  "-long-tail-of-plain-ascii");
  EXPECT_EQ(frame.at("module").as_string(), "m\"od");
  EXPECT_EQ(frame.at("file").as_string(), "c:\\src\\x.cc");
  EXPECT_EQ(frame.at("line").as_int64(), 3);
  EXPECT_EQ(frame.at("module_offset").as_string(), "0x10");
  EXPECT_EQ(frame.at("function_offset").as_string(), "0x0");
  EXPECT_EQ(frame.at("inlines").at(0), json::parse(R"({"function":"inl"})"));  // no file: no line
  EXPECT_EQ(v.at("results").at(0).at("found_modules"),
            json::parse(R"({"m/ABC":true,"n/DEF":null})"));
  EXPECT_EQ(HexOffset(true, 0), "-0x1");
  EXPECT_EQ(HexOffset(false, 0xabcdef0123456789ull), "0xabcdef0123456789");
}

TEST(RequestJsonTest, ParsesEliotShapesAndQuirks) {
  auto r = ParseSymbolicateRequest(
      R"({"memoryMap":[["xul.pdb","ab\n"]],"stacks":[[[0,true],[-1,18446744073709551615]]]})",
      ApiVersion::kV5, 10);
  ASSERT_TRUE(r.ok())
      << r.status().message();  // Python's `$` accepts a final newline; bools are ints
  EXPECT_EQ(r->jobs[0].stacks[0][0].module_offset, 1u);
  EXPECT_EQ(r->jobs[0].stacks[0][1].module_offset, 18446744073709551615ull);
  EXPECT_EQ(ParseSymbolicateRequest(R"({"memoryMap":[],"stacks":[[[0,1.5]]]})", ApiVersion::kV5, 10)
                .status()
                .message(),
            "job 0 has invalid stacks: stack 0 frame 0 has a module_index that isn't in modules");
  EXPECT_EQ(ParseSymbolicateRequest(R"({"memoryMap":[["a","B"]],"stacks":[[[0,1.5]]]})",
                                    ApiVersion::kV5, 10)
                .status()
                .message(),
            "job 0 has invalid stacks: stack 0 frame 0 has an invalid module_offset");
  EXPECT_EQ(
      ParseSymbolicateRequest(R"({"memoryMap":[["a b/c","B"]],"stacks":[[]]})", ApiVersion::kV5, 10)
          .status()
          .message(),
      "job 0 has invalid modules: module index 0 has an invalid debug_filename");
  EXPECT_EQ(
      ParseSymbolicateRequest(R"({"memoryMap":[["a"]],"stacks":[[]]})", ApiVersion::kV5, 10)
          .status()
          .message(),
      "job 0 has invalid modules: module index 0 does not have a debug_filename and debug_id");
  EXPECT_EQ(ParseSymbolicateRequest(R"({"memoryMap":{},"stacks":[[]]})", ApiVersion::kV5, 10)
                .status()
                .message(),
            "job 0 has invalid modules: modules must be a list");
  EXPECT_EQ(ParseSymbolicateRequest(R"({"memoryMap":[],"stacks":{}})", ApiVersion::kV5, 10)
                .status()
                .message(),
            "job 0 has invalid stacks: stacks must be a list of lists");
  EXPECT_EQ(ParseSymbolicateRequest(R"({"memoryMap":[],"stacks":[1]})", ApiVersion::kV5, 10)
                .status()
                .message(),
            "job 0 has invalid stacks: stack 0 is not a list");
  EXPECT_EQ(ParseSymbolicateRequest(R"({"memoryMap":[],"stacks":[[[1]]]})", ApiVersion::kV5, 10)
                .status()
                .message(),
            "job 0 has invalid stacks: stack 0 frame 0 is not a list of two items");
  // v4 never looks for "jobs".
  EXPECT_EQ(ParseSymbolicateRequest(R"({"jobs":[]})", ApiVersion::kV4, 10).status().message(),
            "job 0 is invalid: no stacks specified");
  EXPECT_TRUE(ParseSymbolicateRequest(R"({"jobs":[]})", ApiVersion::kV5, 10).ok());
}

}  // namespace
}  // namespace sigil::symbolication
