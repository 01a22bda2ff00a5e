#include "download/object_body.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "download/download_test_fakes.h"

namespace sigil::download {
namespace {

std::string Gzip(std::string_view data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i)
    s += "FUNC " + std::to_string(i * 16) + " 10 0 function_" + std::to_string(i) + "\n";
  s.resize(n);
  return s;
}

Result<std::string> ReadAll(ObjectBody& body, size_t buf_size = 1000) {
  std::string out, buf(buf_size, '\0');
  for (;;) {
    auto n = body.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

TEST(ObjectBodyTest, StoredBytesWindow) {
  testing::FakeStore store;
  ASSERT_TRUE(store.Put("k", "0123456789", {}).ok());
  ObjectBody all(store, "k", false, 0, std::nullopt);
  EXPECT_EQ(*ReadAll(all, 3), "0123456789");
  ObjectBody window(store, "k", false, 2, 5);
  EXPECT_EQ(*ReadAll(window, 3), "23456");
}

TEST(ObjectBodyTest, DecodesGzipWholeAndWindows) {
  testing::FakeStore store;
  const std::string text = Text(300000);
  ASSERT_TRUE(store.Put("k", Gzip(text), {.content_encoding = "gzip"}).ok());
  store.read_chunk = 4096;
  ObjectBody all(store, "k", true, 0, std::nullopt);
  EXPECT_EQ(*ReadAll(all, 8192), text);
  ObjectBody window(store, "k", true, 123457, 54321);
  EXPECT_EQ(*ReadAll(window, 1000), text.substr(123457, 54321));
  ObjectBody tail(store, "k", true, text.size() - 10, 10);
  EXPECT_EQ(*ReadAll(tail, 3), text.substr(text.size() - 10));
}

TEST(ObjectBodyTest, DecodesConcatenatedMembers) {
  testing::FakeStore store;
  ASSERT_TRUE(store.Put("k", Gzip("hello ") + Gzip("world"), {.content_encoding = "gzip"}).ok());
  ObjectBody body(store, "k", true, 0, std::nullopt);
  EXPECT_EQ(*ReadAll(body, 2), "hello world");
}

TEST(ObjectBodyTest, TruncatedOrCorruptGzipIsAnError) {
  testing::FakeStore store;
  std::string gz = Gzip(Text(50000));
  ASSERT_TRUE(store.Put("trunc", gz.substr(0, gz.size() / 2), {}).ok());
  ObjectBody trunc(store, "trunc", true, 0, std::nullopt);
  EXPECT_FALSE(ReadAll(trunc).ok());
  std::string bad = gz;
  bad[bad.size() / 2] ^= 0x55;
  bad[bad.size() / 2 + 1] ^= 0x55;
  ASSERT_TRUE(store.Put("corrupt", bad, {}).ok());
  ObjectBody corrupt(store, "corrupt", true, 0, std::nullopt);
  EXPECT_FALSE(ReadAll(corrupt).ok());
  ASSERT_TRUE(store.Put("notgz", "plain text, not gzip", {}).ok());
  ObjectBody notgz(store, "notgz", true, 0, std::nullopt);
  EXPECT_FALSE(ReadAll(notgz).ok());
}

TEST(ObjectBodyTest, WindowPastTheEndIsAnError) {
  testing::FakeStore store;
  ASSERT_TRUE(store.Put("k", Gzip("short"), {}).ok());
  ObjectBody body(store, "k", true, 2, 100);
  EXPECT_FALSE(ReadAll(body).ok()) << "a body shorter than promised must not look complete";
  ObjectBody missing(store, "absent", false, 0, std::nullopt);
  auto r = ReadAll(missing);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sigil::download
