#include "symbolication/request_json.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>

namespace sigil::symbolication {
namespace {

namespace json = boost::json;

// Python's re.match with `^[...]*$`: `$` also matches before one final "\n".
bool MatchesClass(const json::string& s, bool (*allowed)(char)) {
  std::string_view v(s.data(), s.size());
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  for (char c : v) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool DebugFileChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("_.+{}@<> ~-").find(c) != std::string_view::npos;
}

bool DebugIdChar(char c) {
  return (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

// Python's isinstance(x, int) (bools included) for the integer kinds JSON can carry.
bool IsInt(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_bool(); }
// Comparable value of an int; uint64 beyond int64 saturates (it is only compared against small
// bounds).
int64_t IntValue(const json::value& v) {
  if (v.is_bool()) return v.get_bool() ? 1 : 0;
  if (v.is_int64()) return v.get_int64();
  return v.get_uint64() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX
                                                           : static_cast<int64_t>(v.get_uint64());
}

Status Invalid(std::string message) { return InvalidArgument(std::move(message)); }

Status ValidateModules(const json::value& modules, std::vector<ModuleRef>* out) {
  if (!modules.is_array()) return Invalid("modules must be a list");
  const json::array& a = modules.get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    const json::value& item = a[i];
    if (!item.is_array() || item.get_array().size() != 2) {
      return Invalid("module index " + std::to_string(i) +
                     " does not have a debug_filename and debug_id");
    }
    const json::value& file = item.get_array()[0];
    const json::value& id = item.get_array()[1];
    if (!file.is_string() || !MatchesClass(file.get_string(), DebugFileChar)) {
      return Invalid("module index " + std::to_string(i) + " has an invalid debug_filename");
    }
    if (!id.is_string() || !MatchesClass(id.get_string(), DebugIdChar)) {
      return Invalid("module index " + std::to_string(i) + " has an invalid debug_id");
    }
    out->push_back(ModuleRef{std::string(file.get_string()), std::string(id.get_string())});
  }
  return Status::Ok();
}

Status ValidateStacks(const json::value& stacks, size_t module_count,
                      std::vector<std::vector<FrameRef>>* out) {
  if (!stacks.is_array()) return Invalid("stacks must be a list of lists");
  const json::array& a = stacks.get_array();
  if (a.empty()) return Invalid("no stacks specified");
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_array()) return Invalid("stack " + std::to_string(i) + " is not a list");
    std::vector<FrameRef> frames;
    const json::array& stack = a[i].get_array();
    for (size_t fi = 0; fi < stack.size(); ++fi) {
      std::string where = "stack " + std::to_string(i) + " frame " + std::to_string(fi);
      const json::value& frame = stack[fi];
      if (!frame.is_array() || frame.get_array().size() != 2)
        return Invalid(where + " is not a list of two items");
      const json::value& index = frame.get_array()[0];
      const json::value& offset = frame.get_array()[1];
      if (!IsInt(index)) return Invalid(where + " has an invalid module_index");
      int64_t idx = IntValue(index);
      if (idx < -1 || idx >= static_cast<int64_t>(module_count)) {
        return Invalid(where + " has a module_index that isn't in modules");
      }
      if (!IsInt(offset) || IntValue(offset) < -1)
        return Invalid(where + " has an invalid module_offset");
      FrameRef f;
      f.module_index = idx;
      if (IntValue(offset) == -1) {
        f.offset_is_minus_one = true;
      } else if (offset.is_uint64()) {
        f.module_offset = offset.get_uint64();
      } else {
        f.module_offset = static_cast<uint64_t>(IntValue(offset));
      }
      frames.push_back(f);
    }
    out->push_back(std::move(frames));
  }
  return Status::Ok();
}

std::string Prefix(size_t i, const char* what) { return "job " + std::to_string(i) + " " + what; }

json::object ToObject(const std::map<std::string, double>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}
json::object ToObject(const std::map<std::string, uint64_t>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}
template <typename M>
double Sum(const M& m) {
  double s = 0;
  for (const auto& kv : m) s += static_cast<double>(kv.second);
  return s;
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  char* p = buf + sizeof(buf);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out->append(p, static_cast<size_t>(buf + sizeof(buf) - p));
}

// True if any of the 8 bytes needs escaping or UTF-8 checking: < 0x20, >= 0x80, '"' or '\\'.
inline bool HasSpecialByte(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  auto has_zero = [&](uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  return (w & kHigh) != 0 || ((w - 0x20 * kOnes) & ~w & kHigh) != 0 ||
         has_zero(w ^ (0x22 * kOnes)) || has_zero(w ^ (0x5C * kOnes));
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one.
size_t Utf8Length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// A JSON string literal; bytes that are not valid UTF-8 become U+FFFD so the output is always JSON.
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Plain runs, 8 bytes at a time.
    size_t j = i;
    while (j + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + j, 8);
      if (HasSpecialByte(w)) break;
      j += 8;
    }
    if (j > i) {
      out->append(s.data() + i, j - i);
      i = j;
      if (i >= s.size()) break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      j = i + 1;
      while (j < s.size()) {
        unsigned char d = static_cast<unsigned char>(s[j]);
        if (d < 0x20 || d >= 0x80 || d == '"' || d == '\\') break;
        ++j;
      }
      out->append(s.data() + i, j - i);
      i = j;
      continue;
    }
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out->append(buf);
      ++i;
    } else {
      size_t len = Utf8Length(s, i);
      if (len == 0) {
        out->append("\xEF\xBF\xBD");
        ++i;
      } else {
        out->append(s.data() + i, len);
        i += len;
      }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string HexOffset(bool minus_one, uint64_t value) {
  if (minus_one) return "-0x1";
  char buf[20];
  char* p = buf + sizeof(buf);
  do {
    *--p = "0123456789abcdef"[value & 0xF];
    value >>= 4;
  } while (value != 0);
  *--p = 'x';
  *--p = '0';
  return std::string(p, static_cast<size_t>(buf + sizeof(buf) - p));
}

Result<SymbolicateRequest> ParseSymbolicateRequest(std::string_view body, ApiVersion version,
                                                   int max_jobs) {
  boost::system::error_code ec;
  // The DOM lives only in this call: one arena instead of a malloc per value.
  unsigned char buffer[16384];
  json::monotonic_resource arena(buffer, sizeof(buffer));
  json::value payload =
      json::parse(json::string_view(body.data(), body.size()), ec, json::storage_ptr(&arena));
  if (ec) return Invalid("Payload is not valid JSON");

  // The list of jobs, as Eliot sees it (a non-list "jobs" iterates like Python would: keys or
  // chars).
  std::vector<const json::value*> jobs;
  std::vector<json::value> synthetic;
  const json::value* jobs_value = &payload;
  bool single = true;
  if (version == ApiVersion::kV5 && payload.is_object() && payload.get_object().contains("jobs")) {
    jobs_value = &payload.get_object().at("jobs");
    single = false;
  }
  if (single) {
    jobs.push_back(jobs_value);
  } else if (jobs_value->is_array()) {
    for (const json::value& j : jobs_value->get_array()) jobs.push_back(&j);
  } else if (jobs_value->is_object()) {
    for (const auto& kv : jobs_value->get_object()) synthetic.emplace_back(kv.key());
  } else if (jobs_value->is_string()) {
    for (char c : jobs_value->get_string()) synthetic.emplace_back(json::string(1, c));
  } else {
    synthetic.emplace_back(nullptr);
  }
  for (const json::value& s : synthetic) jobs.push_back(&s);
  if (version == ApiVersion::kV5 && jobs.size() > static_cast<size_t>(max_jobs)) {
    return Invalid("please limit number of jobs in a single request to <= " +
                   std::to_string(max_jobs));
  }

  SymbolicateRequest request;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const json::value& job = *jobs[i];
    if (!job.is_object()) return Invalid(Prefix(i, "is invalid"));
    const json::object& o = job.get_object();
    if (!o.contains("stacks")) return Invalid(Prefix(i, "is invalid: no stacks specified"));
    if (!o.contains("memoryMap")) return Invalid(Prefix(i, "is invalid: no memoryMap specified"));
    Job parsed;
    Status s = ValidateModules(o.at("memoryMap"), &parsed.memory_map);
    if (!s.ok()) return Invalid(Prefix(i, "has invalid modules: ") + s.message());
    s = ValidateStacks(o.at("stacks"), parsed.memory_map.size(), &parsed.stacks);
    if (!s.ok()) return Invalid(Prefix(i, "has invalid stacks: ") + s.message());
    request.jobs.push_back(std::move(parsed));
  }
  return request;
}

std::string FormatV5(const SymbolicateResponse& response, bool with_debug) {
  // Written directly (no DOM): this runs once per request over up to max_frames frames.
  std::string out;
  size_t frames = 0;
  for (const JobResult& jr : response.results) {
    for (const auto& stack : jr.stacks) frames += stack.size();
  }
  out.reserve(256 + frames * 160);
  out += "{\"results\":[";
  for (size_t j = 0; j < response.results.size(); ++j) {
    const JobResult& jr = response.results[j];
    if (j > 0) out += ',';
    out += "{\"stacks\":[";
    for (size_t si = 0; si < jr.stacks.size(); ++si) {
      if (si > 0) out += ',';
      out += '[';
      const auto& stack = jr.stacks[si];
      for (size_t fi = 0; fi < stack.size(); ++fi) {
        const FrameResult& f = stack[fi];
        if (fi > 0) out += ',';
        out += "{\"frame\":";
        AppendUint(f.frame, &out);
        out += ",\"module\":";
        AppendJsonString(f.module, &out);
        out += ",\"module_offset\":\"";
        out += HexOffset(f.offset_is_minus_one, f.module_offset);
        out += '"';
        if (f.has_function) {
          out += ",\"function\":";
          AppendJsonString(f.function, &out);
          out += ",\"function_offset\":\"";
          out += HexOffset(false, f.function_offset);
          out += '"';
          if (!f.file.empty()) {
            out += ",\"file\":";
            AppendJsonString(f.file, &out);
            if (f.line != 0) {
              out += ",\"line\":";
              out += std::to_string(f.line);
            }
          }
          if (!f.inlines.empty()) {
            out += ",\"inlines\":[";
            for (size_t k = 0; k < f.inlines.size(); ++k) {
              const InlineResult& in = f.inlines[k];
              if (k > 0) out += ',';
              out += "{\"function\":";
              AppendJsonString(in.function, &out);
              if (!in.file.empty()) {
                out += ",\"file\":";
                AppendJsonString(in.file, &out);
                if (in.line != 0) {
                  out += ",\"line\":";
                  out += std::to_string(in.line);
                }
              }
              out += '}';
            }
            out += ']';
          }
        }
        out += '}';
      }
      out += ']';
    }
    out += "],\"found_modules\":{";
    for (size_t k = 0; k < jr.found_modules.size(); ++k) {
      const auto& [key, value] = jr.found_modules[k];
      if (k > 0) out += ',';
      AppendJsonString(key, &out);
      out += ':';
      out += !value.has_value() ? "null" : (*value ? "true" : "false");
    }
    out += "}}";
  }
  out += ']';
  if (with_debug) {
    const DebugInfo& d = response.debug;
    json::object debug;
    debug["time"] = d.time;
    debug["cache_lookups"] =
        json::object{{"count", d.cache_lookups}, {"hits", d.cache_hits}, {"time", d.cache_time}};
    json::object downloads;
    downloads["count"] = d.downloads;
    downloads["size"] = Sum(d.download_size_per_module);
    downloads["time"] = Sum(d.download_time_per_module);
    downloads["size_per_module"] = ToObject(d.download_size_per_module);
    downloads["time_per_module"] = ToObject(d.download_time_per_module);
    downloads["fail_time_per_module"] = ToObject(d.download_fail_time_per_module);
    debug["downloads"] = std::move(downloads);
    debug["parse_sym"] = json::object{{"time", Sum(d.parse_time_per_module)},
                                      {"time_per_module", ToObject(d.parse_time_per_module)}};
    debug["save_symcache"] = json::object{{"time", Sum(d.save_time_per_module)},
                                          {"time_per_module", ToObject(d.save_time_per_module)}};
    debug["modules"] =
        json::object{{"count", d.modules}, {"stacks_per_module", ToObject(d.stacks_per_module)}};
    out += ",\"debug\":";
    out += json::serialize(debug);
  }
  out += '}';
  return out;
}

std::string FormatV4(const SymbolicateRequest& request, const SymbolicateResponse& response) {
  json::object root;
  json::array stacks;
  json::array known;
  if (!response.results.empty()) {
    const JobResult& jr = response.results[0];
    for (const auto& stack : jr.stacks) {
      json::array frames;
      for (const FrameResult& f : stack) {
        std::string what = f.has_function ? std::string(f.function)
                                          : HexOffset(f.offset_is_minus_one, f.module_offset);
        frames.push_back(json::string(what + " (in " + f.module + ")"));
      }
      stacks.push_back(std::move(frames));
    }
    if (!request.jobs.empty()) {
      for (const ModuleRef& m : request.jobs[0].memory_map) {
        std::string key = m.debug_file + "/" + m.debug_id;
        json::value v = nullptr;
        for (const auto& [k, found] : jr.found_modules) {
          if (k == key && found.has_value()) v = *found;
        }
        known.push_back(v);
      }
    }
  }
  root["symbolicatedStacks"] = std::move(stacks);
  root["knownModules"] = std::move(known);
  return json::serialize(root);
}

Result<std::string> FormatV5AsText(std::string_view v5_json) {
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(v5_json.data(), v5_json.size()), ec);
  if (ec || !root.is_object() || !root.as_object().contains("results") ||
      !root.at("results").is_array()) {
    return Invalid("not a symbolicate v5 response");
  }
  auto str = [](const json::object& o, std::string_view k) -> std::string {
    const json::value* v = o.if_contains(k);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  auto num = [](const json::object& o, std::string_view k) -> int64_t {
    const json::value* v = o.if_contains(k);
    return v != nullptr && v->is_int64() ? v->get_int64()
                                         : (v != nullptr && v->is_uint64() ? 1 : 0);
  };
  auto where = [&](const json::object& o) {
    std::string file = str(o, "file");
    if (file.empty()) return file;
    int64_t line = num(o, "line");
    return file + (line != 0 ? ":" + std::to_string(line) : "");
  };
  std::string out;
  bool first_stack = true;
  for (const json::value& job : root.at("results").as_array()) {
    if (!job.is_object() || !job.as_object().contains("stacks") || !job.at("stacks").is_array())
      continue;
    for (const json::value& stack : job.at("stacks").as_array()) {
      if (!stack.is_array()) continue;
      if (!first_stack) out += "\n";
      first_stack = false;
      for (const json::value& fv : stack.as_array()) {
        if (!fv.is_object()) continue;
        const json::object& f = fv.as_object();
        std::string n = "#" + std::to_string(num(f, "frame")) + " " + str(f, "module");
        if (!f.contains("function")) {
          out += n + " + " + str(f, "module_offset") + "\n";
          continue;
        }
        if (const json::value* inl = f.if_contains("inlines"); inl != nullptr && inl->is_array()) {
          for (const json::value& iv : inl->as_array()) {
            if (!iv.is_object()) continue;
            std::string w = where(iv.as_object());
            out += n + "!" + str(iv.as_object(), "function") + (w.empty() ? "" : " [" + w + "]") +
                   " (inlined)\n";
          }
        }
        std::string w = where(f);
        std::string off = str(f, "function_offset");
        out += n + "!" + str(f, "function") +
               (w.empty() ? " + " + off : " [" + w + " + " + off + "]") + "\n";
      }
    }
  }
  return out;
}

}  // namespace sigil::symbolication
