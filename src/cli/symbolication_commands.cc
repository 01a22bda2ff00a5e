#include "cli/symbolication_commands.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/invalidation_bus.h"
#include "common/worker_pool.h"
#include "storage/object_store.h"
#include "symbolication/index_builder.h"
#include "symbolication/request_json.h"
#include "symbolication/symbol_index.h"
#include "symbolication/symbolication_service.h"

namespace sigil::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A read-only view of a file (mmap; empty files are fine).
class MappedFile {
 public:
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  Status Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NotFound("cannot open " + path + ": " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return Internal("stat " + path + ": " + std::strerror(errno));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        return Internal("mmap " + path + ": " + std::strerror(errno));
      }
      data_ = p;
    }
    ::close(fd);
    return Status::Ok();
  }
  std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Read-only ObjectStore over a directory in store layout (objects may be plain or gzip: the fetcher
// recognises gzip by its magic bytes).
class DirectoryStore : public storage::ObjectStore {
 public:
  explicit DirectoryStore(std::string dir) : dir_(std::move(dir)) {}
  std::string Name() const override { return dir_; }
  Status Put(std::string_view, std::string_view, const storage::PutOptions&) override {
    return ReadOnly();
  }
  Status PutFile(std::string_view, const std::string&, const storage::PutOptions&) override {
    return ReadOnly();
  }
  Result<std::unique_ptr<storage::ObjectReader>> Get(std::string_view key) override {
    SIGIL_RETURN_IF_ERROR(storage::ValidateKey(key));
    std::string path = dir_ + "/" + std::string(key);
    auto reader = std::make_unique<FileReader>();
    reader->file = std::fopen(path.c_str(), "rb");
    if (reader->file == nullptr) return NotFound(std::string(key) + " not found in " + dir_);
    return std::unique_ptr<storage::ObjectReader>(std::move(reader));
  }
  Result<storage::ObjectInfo> Head(std::string_view key) override {
    SIGIL_RETURN_IF_ERROR(storage::ValidateKey(key));
    struct stat st;
    if (::stat((dir_ + "/" + std::string(key)).c_str(), &st) != 0)
      return NotFound(std::string(key));
    storage::ObjectInfo info;
    info.size = static_cast<uint64_t>(st.st_size);
    return info;
  }
  Result<bool> Exists(std::string_view key) override {
    auto h = Head(key);
    if (h.ok()) return true;
    if (h.status().code() == StatusCode::kNotFound) return false;
    return h.status();
  }
  Status Delete(std::string_view) override { return ReadOnly(); }
  Result<std::vector<storage::ListEntry>> List(std::string_view, size_t) override {
    return InvalidArgument("listing is not supported by the offline symbol directory");
  }
  std::optional<std::string> PublicUrl(std::string_view) const override { return std::nullopt; }
  Status Ping() override { return Status::Ok(); }

 private:
  struct FileReader : storage::ObjectReader {
    ~FileReader() override {
      if (file != nullptr) std::fclose(file);
    }
    const storage::ObjectInfo& info() const override { return info_; }
    Result<size_t> Read(char* buf, size_t size) override {
      size_t n = std::fread(buf, 1, size, file);
      if (n == 0 && std::ferror(file)) return Internal("read error");
      return n;
    }
    FILE* file = nullptr;
    storage::ObjectInfo info_;
  };
  static Status ReadOnly() { return PermissionDenied("the offline symbol directory is read-only"); }
  std::string dir_;
};

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

Result<std::string> ReadInput(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  ss << in.rdbuf();
  return ss.str();
}

size_t CurlAppend(char* ptr, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(ptr, size * nmemb);
  return size * nmemb;
}

}  // namespace

int RunIndex(const std::string& sym_path, const std::string& out_path, std::ostream& out,
             std::ostream& err) {
  MappedFile file;
  if (Status s = file.Open(sym_path); !s.ok()) {
    err << "sigil index: " << s.message() << "\n";
    return 1;
  }
  auto t0 = Clock::now();
  auto built = symbolication::BuildIndex(file.view());
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!built.ok()) {
    err << "sigil index: " << built.status().message() << "\n";
    return 1;
  }
  if (Status s = symbolication::WriteIndexFile(out_path, built->bytes); !s.ok()) {
    err << "sigil index: " << s.message() << "\n";
    return 1;
  }
  const auto& st = built->stats;
  double mb = static_cast<double>(file.view().size()) / 1e6;
  out << "indexed " << sym_path << " -> " << out_path << "\n"
      << "  lines read: " << st.parse.lines << ", malformed lines skipped: " << st.parse.errors
      << "\n"
      << "  functions: " << st.funcs << ", publics: " << st.publics
      << ", line entries: " << st.lines << ", inline ranges: " << st.inline_nodes
      << ", strings: " << st.strings << "\n"
      << "  .sym " << file.view().size() << " bytes, index " << st.index_bytes << " bytes ("
      << (file.view().empty()
              ? 0.0
              : static_cast<double>(st.index_bytes) / static_cast<double>(file.view().size()))
      << "x), built in " << secs * 1000 << " ms (" << (secs > 0 ? mb / secs : 0) << " MB/s)\n";
  for (int k = 0; k < symbolication::kParseErrorKinds; ++k) {
    if (st.parse.errors_by_kind[k] == 0) continue;
    out << "  " << symbolication::ParseErrorName(static_cast<symbolication::ParseError>(k)) << ": "
        << st.parse.errors_by_kind[k] << "\n";
  }
  return 0;
}

int RunLookup(const std::string& index_path, const std::vector<std::string>& addresses,
              bool as_json, std::ostream& out, std::ostream& err) {
  auto index = symbolication::SymbolIndex::Open(index_path);
  if (!index.ok()) {
    err << "sigil lookup: " << index.status().message() << "\n";
    return 1;
  }
  int rc = 0;
  symbolication::LookupResult r;
  for (const std::string& text : addresses) {
    std::string digits = text;
    if (digits.starts_with("0x") || digits.starts_with("0X")) digits = digits.substr(2);
    auto parsed = symbolication::StrToULL(digits, 16);
    if (digits.empty() || parsed.consumed != digits.size()) {
      err << "sigil lookup: '" << text << "' is not a hexadecimal address\n";
      rc = 1;
      continue;
    }
    uint64_t addr = parsed.value;
    (*index)->Lookup(addr, &r);
    if (as_json) {
      boost::json::object o;
      o["address"] = Hex(addr);
      if (r.found) {
        o["function"] = std::string(r.function);
        o["function_base"] = Hex(r.function_base);
        o["function_offset"] = Hex(addr - r.function_base);
        if (!r.file.empty()) o["file"] = std::string(r.file);
        if (r.has_line_record || !r.inlines.empty()) o["line"] = r.line;
        if (r.has_line_record) o["line_base"] = Hex(r.line_base);
        o["is_multiple"] = r.is_multiple;
        o["is_public"] = r.is_public;
        boost::json::array inl;
        for (const auto& f : r.inlines) {
          inl.push_back(boost::json::object{{"function", std::string(f.function)},
                                            {"function_base", Hex(f.function_base)},
                                            {"file", std::string(f.file)},
                                            {"line", f.line}});
        }
        o["inlines"] = std::move(inl);
      }
      out << boost::json::serialize(o) << "\n";
      continue;
    }
    if (!r.found) {
      out << Hex(addr) << " ??\n";
      continue;
    }
    for (const auto& f : r.inlines) {
      out << Hex(addr) << " " << f.function << " [" << f.file << ":" << f.line << "] (inlined at "
          << Hex(f.function_base) << ")\n";
    }
    out << Hex(addr) << " " << r.function << " + " << Hex(addr - r.function_base);
    if (!r.file.empty() || r.has_line_record) out << " [" << r.file << ":" << r.line << "]";
    if (r.is_multiple) out << " (multiple)";
    out << "\n";
  }
  return rc;
}

int RunSymbolicate(const SymbolicateCommandOptions& options, std::ostream& out, std::ostream& err) {
  if (options.url.empty() == options.symbols_dir.empty()) {
    err << "sigil symbolicate: give exactly one of --url or --symbols\n";
    return 1;
  }
  if (options.format != "json" && options.format != "text") {
    err << "sigil symbolicate: --format must be json or text\n";
    return 1;
  }
  auto body = ReadInput(options.request_path);
  if (!body.ok()) {
    err << "sigil symbolicate: " << body.status().message() << "\n";
    return 1;
  }
  std::string result;
  if (!options.url.empty()) {
    std::string url = options.url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/symbolicate/v5";
    CURL* curl = curl_easy_init();
    struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (options.debug) headers = curl_slist_append(headers, "Debug: true");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CurlAppend);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
      err << "sigil symbolicate: " << url << ": " << curl_easy_strerror(rc) << "\n";
      return 1;
    }
    if (status != 200) {
      err << "sigil symbolicate: " << url << " answered " << status << ": " << result << "\n";
      return 1;
    }
  } else {
    SymbolicationConfig config;
    auto request = symbolication::ParseSymbolicateRequest(*body, symbolication::ApiVersion::kV5,
                                                          config.max_jobs);
    if (!request.ok()) {
      err << "sigil symbolicate: " << request.status().message() << "\n";
      return 1;
    }
    request->debug = options.debug;
    DirectoryStore store(options.symbols_dir);
    WorkerPool pool(2, 1024, "symbolicate");
    LocalInvalidationBus bus;
    symbolication::SymbolicationService service(config, store, pool, bus, /*index_dir=*/"");
    auto response = service.SymbolicateSync(std::move(request).value());
    if (!response.ok()) {
      err << "sigil symbolicate: " << response.status().message() << "\n";
      return 1;
    }
    result = symbolication::FormatV5(*response, options.debug);
  }
  if (options.format == "text") {
    auto text = symbolication::FormatV5AsText(result);
    if (!text.ok()) {
      err << "sigil symbolicate: " << text.status().message() << "\n";
      return 1;
    }
    out << *text;
  } else {
    out << result << "\n";
  }
  return 0;
}

void RegisterSymbolicationCommands(CLI::App& app) {
  auto index_sym = std::make_shared<std::string>();
  auto index_out = std::make_shared<std::string>();
  CLI::App* index =
      app.add_subcommand("index", "Build a symbol index (.symidx) from a Breakpad .sym file");
  index->add_option("sym", *index_sym, "the .sym file")->required();
  index->add_option("-o,--output", *index_out, "the index file to write")->required();
  index->callback([index_sym, index_out] {
    int rc = RunIndex(*index_sym, *index_out, std::cout, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto lookup_index = std::make_shared<std::string>();
  auto lookup_addrs = std::make_shared<std::vector<std::string>>();
  auto lookup_json = std::make_shared<bool>(false);
  CLI::App* lookup = app.add_subcommand("lookup", "Look module offsets up in a symbol index");
  lookup->add_option("index", *lookup_index, "the .symidx file")->required();
  lookup->add_option("addresses", *lookup_addrs, "module offsets in hex (0x1234 or 1234)")
      ->required();
  lookup->add_flag("--json", *lookup_json, "one JSON object per address");
  lookup->callback([lookup_index, lookup_addrs, lookup_json] {
    int rc = RunLookup(*lookup_index, *lookup_addrs, *lookup_json, std::cout, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto opts = std::make_shared<SymbolicateCommandOptions>();
  CLI::App* sym = app.add_subcommand("symbolicate", "Symbolicate a v5 request (online or offline)");
  sym->add_option("request", opts->request_path, "v5 request JSON file (- for stdin)")->required();
  sym->add_option("--url", opts->url, "server base URL (POST <url>/symbolicate/v5)");
  sym->add_option("--symbols", opts->symbols_dir, "offline: directory in store layout");
  sym->add_option("--format", opts->format, "json (default) or text")
      ->check(CLI::IsMember({"json", "text"}));
  sym->add_flag("--debug", opts->debug,
                "include the debug block (timings, cache and download counts)");
  sym->callback([opts] {
    int rc = RunSymbolicate(*opts, std::cout, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace sigil::cli
