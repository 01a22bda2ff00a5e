#include "http/access_log.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace sigil::http {
namespace {

AccessRecord Record() {
  AccessRecord r;
  r.method = "GET";
  r.path = "/xul.pdb/ABC/xul.sym";
  r.status = 200;
  r.bytes = 1234;
  r.duration_ms = 1.23456;
  r.request_id = "rid-1";
  r.remote = "127.0.0.1:5555";
  r.route = "download";
  return r;
}

TEST(AccessLogTest, FormatsOneJsonObject) {
  std::string line;
  AccessLog::FormatLine(line, Record(), "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(
      line,
      "{\"time\":\"2024-01-02T03:04:05.678Z\",\"method\":\"GET\",\"path\":\"/xul.pdb/ABC/"
      "xul.sym\",\"status\":200,\"bytes\":1234,\"duration_ms\":1.235,\"request_id\":\"rid-1\","
      "\"remote\":\"127.0.0.1:5555\",\"route\":\"download\"}");
  AccessRecord evil = Record();
  evil.path = "/a\"b\n\xff";
  line.clear();
  AccessLog::FormatLine(line, evil, "t");
  EXPECT_NE(line.find("\"path\":\"/a\\\"b\\n\\ufffd\""), std::string::npos) << line;
}

TEST(AccessLogTest, BatchesLinesUntilFlushed) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger->set_pattern("%v");
  {
    AccessLog log(logger);
    log.Append(Record());
    log.Append(Record());
    EXPECT_EQ(out.str(), "");  // buffered
    log.Flush();
    std::string text = out.str();
    ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
    EXPECT_EQ(text.rfind("{\"time\":\"", 0), 0u);
    log.Append(Record());
  }  // destruction flushes
  std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    std::string l = text.substr(pos, nl - pos);
    EXPECT_EQ(l.front(), '{');
    EXPECT_EQ(l.back(), '}');
    pos = nl + 1;
  }
}

}  // namespace
}  // namespace sigil::http
