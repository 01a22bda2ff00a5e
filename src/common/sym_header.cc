#include "common/sym_header.h"

#include <vector>

namespace sigil {
namespace {

// Splits off the next space-separated token of `line` (advancing it); "" at the end.
std::string_view NextToken(std::string_view& line) {
  size_t start = line.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(start);
  size_t end = line.find(' ');
  std::string_view token = line.substr(0, end);
  line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  return token;
}

std::string_view TrimSpaces(std::string_view s) {
  size_t start = s.find_first_not_of(' ');
  if (start == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(' ');
  return s.substr(start, end - start + 1);
}

// The complete lines of `text` (without terminators), in order.
std::vector<std::string_view> SplitLines(std::string_view text, bool at_eof) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      if (at_eof) lines.push_back(text);
      break;
    }
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace

Result<SymHeader> ParseSymHeader(std::string_view prefix, bool at_eof) {
  if (prefix.size() > kSymHeaderMaxBytes) {
    prefix = prefix.substr(0, kSymHeaderMaxBytes);
    at_eof = false;
  }
  std::vector<std::string_view> lines = SplitLines(prefix, at_eof);
  if (lines.empty()) return InvalidArgument("symbol file has no complete first line");

  std::string_view module = lines[0];
  if (NextToken(module) != "MODULE")
    return InvalidArgument("symbol file does not start with MODULE");
  SymHeader header;
  header.os = std::string(NextToken(module));
  header.arch = std::string(NextToken(module));
  header.debug_id = std::string(NextToken(module));
  header.debug_file = std::string(TrimSpaces(module));
  if (header.os.empty() || header.arch.empty() || header.debug_id.empty() ||
      header.debug_file.empty()) {
    return InvalidArgument("MODULE line needs <os> <arch> <id> <name>");
  }

  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (NextToken(line) != "INFO") break;
    std::string_view kind = NextToken(line);
    if (kind == "CODE_ID") {
      header.code_id = std::string(NextToken(line));
      header.code_file = std::string(TrimSpaces(line));
    } else if (kind == "GENERATOR") {
      header.generator = std::string(TrimSpaces(line));
    }
  }
  return header;
}

}  // namespace sigil
