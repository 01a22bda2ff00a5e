// End-to-end: the real `sigil` binary with embedded defaults — what `make run` starts.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "integration/support/sigil_process.h"
#include "support/http_client.h"
#include "support/temp_dir.h"

namespace sigil::testing {
namespace {

const std::string kShared = SIGIL_SHARED_DIR;

TEST(BinaryTest, FirstStartServesAndPrintsAnAdminTokenOnce) {
  test::TempDir dir;
  auto node = SigilProcess::Start({"--data-dir", dir.path()});
  ASSERT_TRUE(node.ok()) << node.status().message();
  ASSERT_EQ((*node)->admin_token().size(), 64u) << (*node)->Log();

  test::HttpClient client((*node)->base_url());
  auto hb = client.Get("/__heartbeat__");
  EXPECT_EQ(hb.status, 200) << hb.body;
  auto body = boost::json::parse(hb.body);
  EXPECT_EQ(body.at("status"), "ok");
  EXPECT_EQ(body.at("checks").at("database"), "ok");
  EXPECT_EQ(body.at("checks").at("storage"), "ok");
  EXPECT_EQ(body.at("checks").at("cache"), "ok");
  EXPECT_EQ(client.Get("/__lbheartbeat__").status, 200);
  auto version = boost::json::parse(client.Get("/__version__").body);
  EXPECT_EQ(version.at("version"), "0.1.0");

  auto info = client.Post("/upload/auth_info/", "", {{"Auth-Token", (*node)->admin_token()}});
  EXPECT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(boost::json::parse(info.body).at("email"), "admin@localhost");

  EXPECT_EQ((*node)->Stop(), 0) << (*node)->Log();
  EXPECT_TRUE(std::filesystem::exists(dir.Join("sigil.db")));
  EXPECT_TRUE(std::filesystem::is_directory(dir.Join("symbols")));

  // Second start on the same data: no new admin token.
  auto again = SigilProcess::Start({"--data-dir", dir.path()});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)->admin_token(), "");
  EXPECT_EQ((*again)->Stop(), 0);
}

TEST(BinaryTest, InvalidConfigurationStopsStartupWithOneLineNamingTheSetting) {
  auto r = RunSigil({"serve", "--listen", "nowhere"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("server.listen"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  test::TempDir dir;
  std::string file = dir.WriteFile("sigil.toml", "[server]\nio_threads = \"many\"\n");
  r = RunSigil({"serve", "--config", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("server.io_threads"), std::string::npos) << r.err;
}

TEST(BinaryTest, ConfigurationReferenceIsCurrent) {
  auto r = RunSigil({"config", "--markdown"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream doc(std::string(SIGIL_SOURCE_DIR) + "/docs/configuration.md", std::ios::binary);
  std::string committed((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  EXPECT_EQ(r.out, committed)
      << "docs/configuration.md is stale: regenerate it with `sigil config --markdown`";

  // `sigil config` prints a TOML file that loads back to the same configuration.
  test::TempDir dir;
  auto effective = RunSigil(
      {"config", "--listen", "127.0.0.1:9999", "--allowed-url-hosts", "a.example,b.example"});
  ASSERT_EQ(effective.exit_code, 0) << effective.err;
  std::string file = dir.WriteFile("sigil.toml", effective.out);
  auto reloaded = RunSigil({"config", "--config", file});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err;
  EXPECT_EQ(reloaded.out, effective.out);
}

TEST(BinaryTest, TokenCommandsAndMigrate) {
  test::TempDir dir;
  auto created = RunSigil({"token", "create", "--email", "ci@example.com", "--permissions",
                           "upload_symbols", "--expires-days", "3", "--data-dir", dir.path()});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string key = created.out.substr(0, created.out.find('\n'));  // stdout is the key alone
  ASSERT_EQ(key.size(), 64u) << created.out;

  auto bad = RunSigil({"token", "create", "--email", "x@example.com", "--permissions", "root",
                       "--data-dir", dir.path()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("root"), std::string::npos) << bad.err;

  auto list = RunSigil({"token", "list", "--data-dir", dir.path()});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("ci@example.com"), std::string::npos);
  EXPECT_EQ(list.out.find(key), std::string::npos) << "token list must never show keys";

  auto node = SigilProcess::Start({"--data-dir", dir.path()});
  ASSERT_TRUE(node.ok()) << node.status().message();
  test::HttpClient client((*node)->base_url());
  EXPECT_EQ(client.Post("/upload/auth_info/", "", {{"Auth-Token", key + "-ci-linux"}}).status, 200);

  std::string id = list.out.substr(list.out.find('\n') + 1);
  id = id.substr(0, id.find(' '));
  auto revoked = RunSigil({"token", "revoke", id, "--data-dir", dir.path()});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ((*node)->Stop(), 0);

  auto restarted = SigilProcess::Start({"--data-dir", dir.path()});
  ASSERT_TRUE(restarted.ok());
  test::HttpClient client2((*restarted)->base_url());
  auto denied = client2.Post("/upload/auth_info/", "", {{"Auth-Token", key}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_NE(denied.body.find("API Token not matched"), std::string::npos) << denied.body;

  auto migrate = RunSigil({"migrate", "--data-dir", dir.path()});
  EXPECT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_NE(migrate.out.find("sqlite schema at version"), std::string::npos) << migrate.out;

  // Their --help lists the settings they use, not all of serve's; the others are still accepted.
  auto help = RunSigil({"token", "create", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("--database"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--default-token-days"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find("--listen"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("accepted too"), std::string::npos) << help.out;
  auto migrate_help = RunSigil({"migrate", "--help"});
  EXPECT_NE(migrate_help.out.find("--data-dir"), std::string::npos) << migrate_help.out;
  EXPECT_EQ(migrate_help.out.find("--io-threads"), std::string::npos) << migrate_help.out;
  auto with_serve_setting =
      RunSigil({"migrate", "--data-dir", dir.path(), "--listen", "127.0.0.1:1"});
  EXPECT_EQ(with_serve_setting.exit_code, 0) << with_serve_setting.err;
}

// Upload → download → symbolicate through the binary, then SIGTERM right after missing-symbol
// misses: the coalesced counts must be flushed on the graceful stop (none lost).
TEST(BinaryTest, QuickStartFlowAndNoMissingCountLostOnSigterm) {
  test::TempDir dir;
  auto node = SigilProcess::Start({"--data-dir", dir.path(), "--missing-flush-ms", "60000"});
  ASSERT_TRUE(node.ok()) << node.status().message();
  const std::string token = (*node)->admin_token();
  test::HttpClient client((*node)->base_url());

  auto up = client.PostMultipart(
      "/upload/", {{.name = "sample.zip", .file_path = kShared + "/testdata/uploads/sample.zip"}},
      {{"Auth-Token", token}});
  ASSERT_EQ(up.status, 201) << up.body;
  auto stored = client.Get("/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym");
  EXPECT_EQ(stored.status, 200);
  EXPECT_EQ(stored.body.rfind("MODULE mac x86_64 BBACA09FD1C13F6C84254BFD8732AF400 xpcshell", 0),
            0u);

  // `sigil upload` of a store-layout directory, then download and symbolicate it.
  const std::string rel = "qipcap64.pdb/293A285ED25871934C4C44205044422E1/qipcap64.sym";
  std::filesystem::create_directories(
      dir.Join("upload/qipcap64.pdb/293A285ED25871934C4C44205044422E1"));
  std::filesystem::copy_file(kShared + "/testdata/symbols/" + rel, dir.Join("upload/" + rel));
  auto cli =
      RunSigil({"upload", "--url", (*node)->base_url(), "--token", token, dir.Join("upload")});
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  std::ifstream original(kShared + "/testdata/symbols/" + rel, std::ios::binary);
  std::string original_bytes((std::istreambuf_iterator<char>(original)),
                             std::istreambuf_iterator<char>());
  auto sym = client.Get("/" + rel);
  ASSERT_EQ(sym.status, 200);
  EXPECT_EQ(sym.body, original_bytes);

  auto symbolicated = client.Post(
      "/symbolicate/v5",
      R"({"memoryMap": [["qipcap64.pdb", "293A285ED25871934C4C44205044422E1"]], "stacks": [[[0, 4101]]]})",
      {{"Content-Type", "application/json"}});
  ASSERT_EQ(symbolicated.status, 200) << symbolicated.body;
  auto frame = boost::json::parse(symbolicated.body).at("results").at(0).at("stacks").at(0).at(0);
  EXPECT_EQ(frame.at("module"), "qipcap64.dll");
  EXPECT_EQ(frame.at("function"), "DllMain(void*, unsigned long, void*)");
  EXPECT_EQ(frame.at("function_offset"), "0x5");

  for (int i = 0; i < 25; ++i) {
    auto miss = client.Get(
        "/nope.pdb/0123456789ABCDEF0123456789ABCDEF1/nope.sym?code_file=nope.dll&code_id=ABC");
    ASSERT_EQ(miss.status, 404);
  }
  EXPECT_EQ((*node)->Stop(), 0) << (*node)->Log();

  auto again = SigilProcess::Start({"--data-dir", dir.path()});
  ASSERT_TRUE(again.ok());
  test::HttpClient client2((*again)->base_url());
  auto page = client2.Get("/api/missingsymbols/");
  ASSERT_EQ(page.status, 200) << page.body;
  auto json = boost::json::parse(page.body);
  int64_t total = 0;
  for (const auto& row : json.at("records").as_array()) {
    if (row.at("debug_file") == "nope.pdb") total += row.at("count").as_int64();
  }
  EXPECT_EQ(total, 25) << page.body;
  EXPECT_EQ((*again)->Stop(), 0);
}

}  // namespace
}  // namespace sigil::testing
