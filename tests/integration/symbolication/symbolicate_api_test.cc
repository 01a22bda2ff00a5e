// POST /symbolicate/v5 and /v4 over a real http::Server (TestServer): Eliot's request/response
// pairs and error cases from ../shared/testdata/symbolication, responses checked against its JSON
// Schemas, symbols served from a filesystem ObjectStore (gzip-compressed, as uploads store them) or
// from an upstream symbol server (with retries on 5xx).

// The schemas' "pattern" checks need std::regex; GCC 12 with the asan preset's flags reports a
// -Wmaybe-uninitialized false positive inside <regex> (std::function moves in _NFA), fatal under
// -Werror.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "api/symbolicate_handlers.h"
#include "common/invalidation_bus.h"
#include "common/symbol_key.h"
#include "common/worker_pool.h"
#include "storage/fs/fs_object_store.h"
#include "support/http_client.h"
#include "support/temp_dir.h"
#include "support/test_server.h"
#include "symbolication/symbol_fetcher.h"

namespace sigil {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using symbolication::SymbolicationService;

const fs::path kData = fs::path(SIGIL_SHARED_DIR) / "testdata";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Gzip(std::string_view data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// ---- A validator for the JSON Schema subset the response schemas use: type (string or list),
// properties, required, items, minItems, maxItems, patternProperties, $ref to #/definitions/<name>.
class SchemaValidator {
 public:
  explicit SchemaValidator(json::value schema) : root_(std::move(schema)) {}
  std::vector<std::string> Validate(const json::value& v) {
    errors_.clear();
    Check(root_, v, "$");
    return errors_;
  }

 private:
  static bool HasType(const json::value& v, std::string_view t) {
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    if (t == "integer") return v.is_int64() || v.is_uint64();
    if (t == "boolean") return v.is_bool();
    if (t == "null") return v.is_null();
    return false;
  }
  void Check(const json::value& schema_value, const json::value& v, const std::string& path) {
    const json::object& s = schema_value.as_object();
    if (auto* ref = s.if_contains("$ref")) {
      std::string r(ref->as_string());
      const std::string prefix = "#/definitions/";
      ASSERT_EQ(r.rfind(prefix, 0), 0u) << "unsupported $ref " << r;
      return Check(root_.at("definitions").at(r.substr(prefix.size())), v, path);
    }
    if (auto* type = s.if_contains("type")) {
      bool ok = false;
      if (type->is_string()) {
        ok = HasType(v, type->as_string());
      } else {
        for (const json::value& t : type->as_array()) ok = ok || HasType(v, t.as_string());
      }
      if (!ok) errors_.push_back(path + ": wrong type, expected " + json::serialize(*type));
    }
    if (v.is_object()) {
      const json::object& o = v.as_object();
      if (auto* req = s.if_contains("required")) {
        for (const json::value& k : req->as_array()) {
          if (!o.contains(k.as_string()))
            errors_.push_back(path + ": missing " + std::string(k.as_string()));
        }
      }
      if (auto* props = s.if_contains("properties")) {
        for (const auto& [k, sub] : props->as_object()) {
          if (auto* child = o.if_contains(k)) Check(sub, *child, path + "." + std::string(k));
        }
      }
      if (auto* pats = s.if_contains("patternProperties")) {
        for (const auto& [pattern, sub] : pats->as_object()) {
          std::regex re(std::string(pattern), std::regex::ECMAScript);
          for (const auto& [k, child] : o) {
            if (std::regex_search(std::string(k), re))
              Check(sub, child, path + "." + std::string(k));
          }
        }
      }
    }
    if (v.is_array()) {
      const json::array& a = v.as_array();
      if (auto* min = s.if_contains("minItems"); min && a.size() < min->to_number<uint64_t>()) {
        errors_.push_back(path + ": fewer than minItems");
      }
      if (auto* max = s.if_contains("maxItems"); max && a.size() > max->to_number<uint64_t>()) {
        errors_.push_back(path + ": more than maxItems");
      }
      if (auto* items = s.if_contains("items")) {
        for (size_t i = 0; i < a.size(); ++i)
          Check(*items, a[i], path + "[" + std::to_string(i) + "]");
      }
    }
  }
  json::value root_;
  std::vector<std::string> errors_;
};

// Finds the .sym for (debug_file, debug_id) in testdata/symbols (store layout).
fs::path TestSym(const std::string& debug_file, const std::string& debug_id) {
  return kData / "symbols" / debug_file / debug_id / symbolication::SymFileName(debug_file);
}

class SymbolicateApiTest : public ::testing::Test {
 protected:
  void SetUp() override { NewStore("main"); }

  // A fresh, empty store and index cache under <tmp>/<name>/ (stops a running server first).
  void NewStore(const std::string& name) {
    client_.reset();
    server_.reset();
    service_.reset();
    auto store = storage::fs::MakeFsObjectStore(dir_.Join(name + "/symbols"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    index_dir_ = dir_.Join(name + "/index-cache");
  }

  void StartServer(SymbolicationConfig config = {}) {
    service_ = std::make_unique<SymbolicationService>(config, *store_, pool_, bus_, index_dir_);
    http::RouteTable routes;
    api::RegisterSymbolicationRoutes(routes, *service_);
    server_ = std::make_unique<test::TestServer>(std::move(routes));
    client_ = std::make_unique<test::HttpClient>(server_->base_url());
  }

  // Stores a .sym as an upload would: gzip-compressed with content_encoding "gzip".
  // `announce`: publish the key on the InvalidationBus as the upload service does.
  void Upload(const std::string& debug_file, const std::string& debug_id, bool is_try = false,
              bool announce = true) {
    std::string sym = Slurp(TestSym(debug_file, debug_id));
    ASSERT_FALSE(sym.empty()) << TestSym(debug_file, debug_id);
    auto key =
        SymbolKey::Parse(debug_file, debug_id, symbolication::SymFileName(debug_file), is_try);
    ASSERT_TRUE(key.ok());
    storage::PutOptions opts;
    opts.content_type = "text/plain";
    opts.content_encoding = "gzip";
    ASSERT_TRUE(store_->Put(key->StorageKey(), Gzip(sym), opts).ok());
    if (announce) bus_.Publish(*key);
  }

  test::TempDir dir_{"sigil-symbolicate"};
  std::unique_ptr<storage::ObjectStore> store_;
  std::string index_dir_;
  WorkerPool pool_{4, 64, "symbolication"};
  LocalInvalidationBus bus_;
  std::unique_ptr<SymbolicationService> service_;
  std::unique_ptr<test::TestServer> server_;
  std::unique_ptr<test::HttpClient> client_;
};

// Every v4_*/v5_* pair: the modules whose expected found value is true are in storage, the others
// are not; the response must equal the expected one as JSON and validate against the schema.
TEST_F(SymbolicateApiTest, EliotRequestResponsePairs) {
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(kData / "symbolication")) {
    std::string name = e.path().filename().string();
    if ((name.starts_with("v4_") || name.starts_with("v5_")) && name.ends_with(".json"))
      cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 7u);
  SchemaValidator v4_schema(
      json::parse(Slurp(kData / "symbolication/schemas/symbolicate_api_response_v4.json")));
  SchemaValidator v5_schema(
      json::parse(Slurp(kData / "symbolication/schemas/symbolicate_api_response_v5.json")));
  for (const fs::path& p : cases) {
    SCOPED_TRACE(p.filename().string());
    json::value c = json::parse(Slurp(p));
    const json::value& request = c.at("request");
    const json::value& expected = c.at("expected_response");
    bool v4 = c.at("path").as_string() == "/symbolicate/v4";
    NewStore(p.stem().string());
    StartServer();
    // Which modules exist: v5 found_modules / v4 knownModules of the expected answer.
    const json::value& job =
        request.as_object().contains("jobs") ? request.at("jobs").at(0) : request;
    const json::array& memory_map = job.at("memoryMap").as_array();
    for (size_t i = 0; i < memory_map.size(); ++i) {
      std::string file(memory_map[i].at(0).as_string()), id(memory_map[i].at(1).as_string());
      bool found = v4 ? expected.at("knownModules").at(i) == json::value(true)
                      : expected.at("results").at(0).at("found_modules").at(file + "/" + id) ==
                            json::value(true);
      if (found) Upload(file, id);
    }
    test::HttpResponse r =
        client_->Post(std::string(c.at("path").as_string()), json::serialize(request),
                      {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, c.at("expected_status").to_number<int64_t>()) << r.body;
    json::value got = json::parse(r.body);
    EXPECT_EQ(got, expected) << "got:      " << r.body
                             << "\nexpected: " << json::serialize(expected);
    auto errors = (v4 ? v4_schema : v5_schema).Validate(got);
    EXPECT_TRUE(errors.empty()) << errors.front();
  }
}

TEST_F(SymbolicateApiTest, EliotErrorCases) {
  StartServer();
  json::value cases = json::parse(Slurp(kData / "symbolication/errors.json"));
  for (const json::value& c : cases.as_array()) {
    SCOPED_TRACE(std::string(c.at("case").as_string()));
    std::string path(c.at("path").as_string());
    int64_t status = c.at("expected_status").to_number<int64_t>();
    test::HttpResponse r;
    if (status == 405) {
      r = client_->Get(path);
    } else {
      r = client_->Post(path, c.at("request").is_null() ? "" : json::serialize(c.at("request")));
    }
    ASSERT_EQ(r.status, status) << r.body;
    json::value got = json::parse(r.body);
    if (c.at("expected_response").is_object()) {
      EXPECT_EQ(got.at("title"), c.at("expected_response").at("title")) << r.body;
      EXPECT_EQ(got.at("error"), got.at("title"));
    }
  }
}

TEST_F(SymbolicateApiTest, ValidationMessagesLimitsAndDebugBlock) {
  SymbolicationConfig config;
  config.max_frames = 3;
  StartServer(config);
  auto post = [&](std::string body, test::HttpHeaders h = {}) {
    return client_->Post("/symbolicate/v5", body, h);
  };
  auto title = [](const test::HttpResponse& r) {
    return std::string(json::parse(r.body).at("title").as_string());
  };
  EXPECT_EQ(title(post(R"({"jobs":[{"stacks":[[[0,1]]],"memoryMap":[["xul.pdb","XYZ"]]}]})")),
            "job 0 has invalid modules: module index 0 has an invalid debug_id");
  EXPECT_EQ(title(post(R"({"stacks":[[[1,1]]],"memoryMap":[["xul.pdb","ABC"]]})")),
            "job 0 has invalid stacks: stack 0 frame 0 has a module_index that isn't in modules");
  EXPECT_EQ(title(post(R"({"stacks":[[[0,-2]]],"memoryMap":[["xul.pdb","ABC"]]})")),
            "job 0 has invalid stacks: stack 0 frame 0 has an invalid module_offset");
  EXPECT_EQ(title(post(R"({"stacks":[],"memoryMap":[]})")),
            "job 0 has invalid stacks: no stacks specified");
  EXPECT_EQ(title(post(R"({"stacks":[[[0,1]]]})")), "job 0 is invalid: no memoryMap specified");
  EXPECT_EQ(title(post("[1]")), "job 0 is invalid");
  EXPECT_EQ(title(post("{not json")), "Payload is not valid JSON");
  std::string eleven = R"({"jobs":[)";
  for (int i = 0; i < 11; ++i)
    eleven += std::string(i ? "," : "") + R"({"stacks":[[]],"memoryMap":[]})";
  eleven += "]}";
  EXPECT_EQ(title(post(eleven)), "please limit number of jobs in a single request to <= 10");
  auto many = post(R"({"stacks":[[[-1,1],[-1,2],[-1,3],[-1,4]]],"memoryMap":[]})");
  EXPECT_EQ(many.status, 400);
  EXPECT_NE(title(many).find("please limit number of frames in a single request to <= 3"),
            std::string::npos);

  // -1 module index and offset, unknown module, and the debug block.
  Upload("testproj", "D48F191186D67E69DF025AD71FB91E1F0");
  auto ok = post(
      R"({"stacks":[[[-1,-1],[0,21376],[1,5]]],"memoryMap":[["testproj","D48F191186D67E69DF025AD71FB91E1F0"],["nope.so","ABC"]]})",
      {{"Debug", "true"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  json::value got = json::parse(ok.body);
  const json::value& frames = got.at("results").at(0).at("stacks").at(0);
  EXPECT_EQ(frames.at(0),
            json::parse(R"({"frame":0,"module":"<unknown>","module_offset":"-0x1"})"));
  EXPECT_EQ(frames.at(1).at("function"), json::value("testproj::main"));
  EXPECT_EQ(frames.at(2), json::parse(R"({"frame":2,"module":"nope.so","module_offset":"0x5"})"));
  const json::value& debug = got.at("debug");
  EXPECT_EQ(debug.at("cache_lookups").at("count").to_number<int64_t>(), 2);
  EXPECT_EQ(debug.at("downloads").at("count").to_number<int64_t>(), 2);
  EXPECT_EQ(debug.at("modules").at("count").to_number<int64_t>(), 2);
  EXPECT_TRUE(debug.at("downloads")
                  .at("size_per_module")
                  .as_object()
                  .contains("testproj/D48F191186D67E69DF025AD71FB91E1F0"));

  // Warm: served from the index cache, no download.
  auto warm = post(
      R"({"stacks":[[[0,21376]]],"memoryMap":[["testproj","D48F191186D67E69DF025AD71FB91E1F0"]]})",
      {{"Debug", "true"}});
  json::value w = json::parse(warm.body);
  EXPECT_EQ(w.at("debug").at("cache_lookups").at("hits").to_number<int64_t>(), 1);
  EXPECT_EQ(w.at("debug").at("downloads").at("count").to_number<int64_t>(), 0);
  EXPECT_FALSE(json::parse(post(R"({"stacks":[[[0,1]]],"memoryMap":[["x","A"]]})").body)
                   .as_object()
                   .contains("debug"));
}

// A miss is remembered until an upload of that key is announced on the InvalidationBus; try/
// symbols are found after the regular namespace.
TEST_F(SymbolicateApiTest, NegativeCacheInvalidatedByUploadAndTryNamespace) {
  StartServer();
  const std::string body =
      R"({"stacks":[[[0,4104]]],"memoryMap":[["ntdll.pdb","F86EB934B42FBB79B2595AA25907695C1"]]})";
  auto first = json::parse(client_->Post("/symbolicate/v5", body).body);
  EXPECT_EQ(first.at("results")
                .at(0)
                .at("found_modules")
                .at("ntdll.pdb/F86EB934B42FBB79B2595AA25907695C1"),
            json::value(false));
  Upload("ntdll.pdb", "F86EB934B42FBB79B2595AA25907695C1", /*is_try=*/true, /*announce=*/false);
  auto still = json::parse(client_->Post("/symbolicate/v5", body).body);  // remembered miss
  EXPECT_EQ(still.at("results")
                .at(0)
                .at("found_modules")
                .at("ntdll.pdb/F86EB934B42FBB79B2595AA25907695C1"),
            json::value(false));
  EXPECT_GE(service_->stats().negative_hits, 1u);
  bus_.Publish(
      *SymbolKey::Parse("ntdll.pdb", "F86EB934B42FBB79B2595AA25907695C1", "ntdll.sym", true));
  auto now = json::parse(client_->Post("/symbolicate/v5", body).body);
  const json::value& frame = now.at("results").at(0).at("stacks").at(0).at(0);
  EXPECT_EQ(frame.at("module"), json::value("ntdll.dll"));
  EXPECT_EQ(frame.at("function"), json::value("LdrpGetModuleName"));
}

// Upstream symbol server: 404 moves on, 5xx is retried, the module is built once for concurrent
// requests (single flight).
TEST_F(SymbolicateApiTest, UpstreamWithRetriesAndSingleFlight) {
  std::atomic<int> hits{0}, failures_left{2};
  http::RouteTable upstream_routes;
  upstream_routes.Add({"GET"}, "/{path...}", [&](http::Request& req, http::Responder done) {
    ++hits;
    if (req.path.rfind("/missing-prefix", 0) == 0 ||
        req.path.find("testproj") == std::string::npos) {
      return done(http::Response::Text(404, "no"));
    }
    if (failures_left.fetch_sub(1) > 0) return done(http::Response::Text(503, "busy"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let concurrent requests pile up
    done(
        http::Response::Text(200, Slurp(TestSym("testproj", "0905AE80CEE75A33E3CAB61C274274DE0"))));
  });
  test::TestServer upstream(std::move(upstream_routes));
  SymbolicationConfig config;
  config.upstream_urls = {upstream.base_url() + "/missing-prefix", upstream.base_url()};
  config.upstream_retries = 3;
  StartServer(config);
  const std::string body =
      R"({"stacks":[[[0,31354]]],"memoryMap":[["testproj","0905AE80CEE75A33E3CAB61C274274DE0"]]})";
  std::vector<std::thread> threads;
  std::vector<std::string> bodies(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      test::HttpClient c(server_->base_url());
      bodies[i] = c.Post("/symbolicate/v5", body).body;
    });
  }
  for (auto& t : threads) t.join();
  json::value expected =
      json::parse(Slurp(kData / "symbolication/v5_with_inlines.json")).at("expected_response");
  for (const std::string& b : bodies) EXPECT_EQ(json::parse(b), expected) << b;
  EXPECT_EQ(service_->stats().modules_built, 1u);
}

}  // namespace
}  // namespace sigil
