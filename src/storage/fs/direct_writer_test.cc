#include "storage/fs/direct_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"
#include "support/temp_dir.h"

namespace sigil::storage::fs {
namespace {

std::string Pattern(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

Fd NewFile(const std::string& path) {
  return Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
}

// Appends `data` in pieces of the given sizes (cycled), then finishes.
void WriteInPieces(DirectWriter& writer, std::string_view data, const std::vector<size_t>& pieces) {
  size_t k = 0;
  while (!data.empty()) {
    const size_t n = std::min(data.size(), pieces[k++ % pieces.size()]);
    ASSERT_TRUE(writer.Append(data.substr(0, n)).ok());
    data.remove_prefix(n);
  }
  ASSERT_TRUE(writer.Finish().ok());
  ASSERT_TRUE(writer.Written().ok());
}

TEST(DirectWriterTest, FileHoldsExactlyTheAppendedBytesAtEverySizeAroundTheAlignment) {
  test::TempDir dir("sigil-direct-writer");
  const size_t kBuf = kDirectIoBufferBytes;
  const std::vector<size_t> sizes = {
      0, 1, 511, 4095, 4096, 4097, kBuf - 1, kBuf, kBuf + 1, 2 * kBuf + 4096, 3 * kBuf + 123,
      // Many buffers: all but the first go out in the background, one in flight at a time.
      17 * kBuf + 4097};
  const std::vector<std::vector<size_t>> splits = {{1 << 30}, {1000, 7, 65536}, {kBuf}, {4096}};
  int file = 0;
  for (bool try_direct : {true, false}) {
    for (size_t size : sizes) {
      for (const auto& pieces : splits) {
        const std::string path = dir.Join("f" + std::to_string(file++));
        Fd fd = NewFile(path);
        ASSERT_TRUE(fd.valid());
        const std::string data = Pattern(size, static_cast<uint32_t>(size));
        {
          DirectWriter writer(fd.get(), try_direct);
          if (!try_direct) {
            EXPECT_FALSE(writer.direct());
          }
          WriteInPieces(writer, data, pieces);
          EXPECT_EQ(writer.size(), size);
          EXPECT_FALSE(writer.direct());  // taken off at Finish
        }
        EXPECT_EQ(::fcntl(fd.get(), F_GETFL) & O_DIRECT, 0);
        struct stat st;
        ASSERT_EQ(::fstat(fd.get(), &st), 0);
        EXPECT_EQ(static_cast<size_t>(st.st_size), size) << path;
        EXPECT_EQ(test::ReadFile(path), data) << "size " << size << " direct " << try_direct;
      }
    }
  }
}

// Writers on many threads at once share the background writes and the buffer pool; each file
// still holds exactly its bytes, also when a writer is destroyed without Finish (it waits for its
// write in flight before the descriptor is closed).
TEST(DirectWriterTest, ConcurrentWritersEachGetTheirExactBytes) {
  test::TempDir dir("sigil-direct-writer-mt");
  constexpr int kThreads = 6;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 4; ++round) {
        const std::string path = dir.Join("t" + std::to_string(t) + "-" + std::to_string(round));
        Fd fd = NewFile(path);
        const size_t size = (5 + t + round) * kDirectIoBufferBytes + 977 * t;
        const std::string data = Pattern(size, static_cast<uint32_t>(t * 10 + round));
        {
          DirectWriter writer(fd.get(), true);
          for (size_t at = 0; at < size; at += 70001) {
            if (!writer.Append(std::string_view(data).substr(at, 70001)).ok())
              failures[t] = "append failed";
          }
          if (round == 3) continue;  // destroyed unfinished: must not write after the close
          if (!writer.Finish().ok() || !writer.Written().ok()) failures[t] = "finish failed";
        }
        if (test::ReadFile(path) != data) failures[t] = "wrong bytes in " + path;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const std::string& f : failures) EXPECT_EQ(f, "");
}

// A write that fails in the background (here: past the file size limit, EFBIG) comes back from a
// later Append, from Finish or from Written, naming the file.
TEST(DirectWriterTest, BackgroundWriteErrorsComeBackFromAppendOrFinish) {
  test::TempDir dir("sigil-direct-writer");
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 3 * kDirectIoBufferBytes;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  for (bool try_direct : {true, false}) {
    Fd fd = NewFile(dir.Join(try_direct ? "big-direct" : "big-plain"));
    ASSERT_TRUE(fd.valid());
    DirectWriter writer(fd.get(), try_direct);
    const std::string data = Pattern(kDirectIoBufferBytes, 9);
    Status s;
    for (int i = 0; i < 8 && s.ok(); ++i) s = writer.Append(data, "temp file big");
    if (s.ok()) s = writer.Finish("temp file big");
    if (s.ok()) s = writer.Written();
    EXPECT_FALSE(s.ok()) << "direct " << try_direct;
    // The write's own error, not a later one (Finish's truncate past the limit would fail too).
    EXPECT_NE(s.message().find("writing temp file big"), std::string::npos) << s.ToString();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
}

TEST(DirectWriterTest, UsesDirectIoWhereTheFilesystemAllowsIt) {
  test::TempDir dir("sigil-direct-writer");
  Fd probe(::open(dir.Join("probe").c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600));
  if (!probe.valid()) GTEST_SKIP() << "the test directory's filesystem refuses O_DIRECT";
  Fd fd = NewFile(dir.Join("f"));
  DirectWriter writer(fd.get(), true);
  EXPECT_TRUE(writer.direct());
  EXPECT_NE(::fcntl(fd.get(), F_GETFL) & O_DIRECT, 0);
  ASSERT_TRUE(writer.Append(Pattern(kDirectIoBufferBytes + 10, 1)).ok());
  EXPECT_TRUE(writer.direct());  // the whole buffer went out directly
  ASSERT_TRUE(writer.Finish().ok());
  ASSERT_TRUE(writer.Written().ok());
  EXPECT_EQ(::fcntl(fd.get(), F_GETFL) & O_DIRECT, 0);
  // The descriptor reads normally afterwards (an unaligned buffer and offset).
  char buf[17];
  EXPECT_EQ(::pread(fd.get(), buf + 1, 13, 5), 13);
  EXPECT_EQ(std::string(buf + 1, 13), Pattern(kDirectIoBufferBytes + 10, 1).substr(5, 13));
}

TEST(DirectWriterTest, AppendAfterFinishFailsAndFinishTwiceIsHarmless) {
  test::TempDir dir("sigil-direct-writer");
  Fd fd = NewFile(dir.Join("f"));
  DirectWriter writer(fd.get(), true);
  ASSERT_TRUE(writer.Append("abc").ok());
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_TRUE(writer.Finish().ok());
  ASSERT_TRUE(writer.Written().ok());
  Status late = writer.Append("d", "object x");
  EXPECT_FALSE(late.ok());
  EXPECT_NE(late.message().find("object x"), std::string::npos) << late.ToString();
  EXPECT_EQ(test::ReadFile(dir.Join("f")), "abc");
}

TEST(DirectWriterTest, WriteErrorsAreStatusesNamingTheFile) {
  test::TempDir dir("sigil-direct-writer");
  const std::string path = dir.Join("ro");
  { Fd create = NewFile(path); }
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));  // not writable: every write fails (EBADF)
  ASSERT_TRUE(fd.valid());
  for (bool try_direct : {true, false}) {
    DirectWriter writer(fd.get(), try_direct);
    Status s = writer.Append(Pattern(kDirectIoBufferBytes * 2, 3), "temp file x");
    if (s.ok()) s = writer.Finish("temp file x");
    if (s.ok()) s = writer.Written();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("temp file x"), std::string::npos) << s.ToString();
  }
}

}  // namespace
}  // namespace sigil::storage::fs
