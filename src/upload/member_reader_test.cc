#include "upload/member_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upload/gzip_compressor.h"
#include "upload/testing/zip_builder.h"

namespace sigil::upload {
namespace {

using testing::ZipEntry;

struct Opened {
  std::string path;
  ArchivePlan plan;
  std::unique_ptr<MemberReader> reader;
};

Opened Open(const std::string& zip) {
  Opened o;
  o.path = ::testing::TempDir() + "/member-reader.zip";
  testing::WriteFileOrDie(o.path, zip);
  ArchiveFile file{o.path, 0, zip.size()};
  auto plan = InspectArchive(file, {}, false);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (plan.ok()) o.plan = std::move(plan).value();
  auto reader = MemberReader::Open(file);
  EXPECT_TRUE(reader.ok());
  if (reader.ok()) o.reader = std::move(reader).value();
  return o;
}

Result<std::string> ReadAll(MemberReader& reader, const ArchiveMember& m) {
  std::string out;
  Status s = reader.Read(m, [&](std::string_view c) {
    out.append(c);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

std::string Text(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i) s += "PUBLIC " + std::to_string(i * 7919) + " 0 sym\n";
  s.resize(n);
  return s;
}

TEST(MemberReaderTest, ReadsDeflatedAndStoredMembers) {
  std::string a = Text(3 << 20), b = Text(1000);
  auto zip = testing::MakeZip(
      {{"a.pdb/AB/a.sym", a}, {"b.pdb/CD/b.bin", b, ZipEntry::Kind::kFile, false}});
  ASSERT_TRUE(zip.ok());
  Opened o = Open(*zip);
  ASSERT_EQ(o.plan.members.size(), 2u);
  EXPECT_EQ(o.plan.members[0].method, ZIP_CM_DEFLATE);
  EXPECT_EQ(o.plan.members[1].method, ZIP_CM_STORE);
  EXPECT_EQ(*ReadAll(*o.reader, o.plan.members[0]), a);
  EXPECT_EQ(*ReadAll(*o.reader, o.plan.members[1]), b);
  // The same reader reads members again, in any order.
  EXPECT_EQ(*ReadAll(*o.reader, o.plan.members[0]), a);
}

// Several MemberStreams of one reader open at once, read a chunk each in turn.
TEST(MemberReaderTest, StreamsReadMembersSideBySide) {
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 5; ++i) {
    entries.push_back({"m.pdb/A" + std::to_string(i) + "/m.sym", Text((i + 1) * 300000 + i),
                       ZipEntry::Kind::kFile, i != 2});
  }
  auto zip = testing::MakeZip(entries);
  ASSERT_TRUE(zip.ok());
  Opened o = Open(*zip);
  ASSERT_EQ(o.plan.members.size(), 5u);
  std::vector<std::unique_ptr<MemberStream>> streams;
  for (const ArchiveMember& m : o.plan.members) {
    auto s = MemberStream::Open(*o.reader, m, nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    streams.push_back(std::move(s).value());
  }
  std::vector<std::string> out(5);
  for (size_t open = 5; open > 0;) {
    open = 0;
    for (size_t i = 0; i < 5; ++i) {
      if (streams[i] == nullptr) continue;
      auto chunk = streams[i]->Next();
      ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (chunk->empty()) {
        streams[i].reset();
        continue;
      }
      EXPECT_LE(chunk->size(), 256u * 1024);
      out[i].append(*chunk);
      ++open;
    }
  }
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(out[i], entries[i].data) << i;
}

TEST(MemberReaderTest, WrongCrcIsCorrupt) {
  for (bool deflate : {true, false}) {
    auto zip = testing::MakeZip({{"a.pdb/AB/a.sym", Text(5000), ZipEntry::Kind::kFile, deflate}});
    ASSERT_TRUE(zip.ok());
    ASSERT_TRUE(testing::PatchCrc(*zip, "a.pdb/AB/a.sym", 0x12345678).ok());
    Opened o = Open(*zip);
    auto r = ReadAll(*o.reader, o.plan.members[0]);
    EXPECT_EQ(r.status().message(), "Archive member 'a.pdb/AB/a.sym' is corrupt (CRC mismatch)");
  }
}

TEST(MemberReaderTest, LyingDeclaredSizeStopsInflating) {
  // Declares 1000 bytes but inflates to 64 MB: reading stops after the first chunk past 1000.
  auto zip = testing::MakeZip({{"a.pdb/AB/a.sym", std::string(64 << 20, 'z')}});
  ASSERT_TRUE(zip.ok());
  ASSERT_TRUE(testing::PatchUncompressedSize(*zip, "a.pdb/AB/a.sym", 1000).ok());
  Opened o = Open(*zip);
  size_t seen = 0;
  Status s = o.reader->Read(o.plan.members[0], [&](std::string_view c) {
    seen += c.size();
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("inflates to more than its declared 1000 bytes"), std::string::npos);
  EXPECT_LE(seen, 1000u);
}

TEST(MemberReaderTest, DeclaredSizeTooLargeIsCorrupt) {
  auto zip = testing::MakeZip({{"a.pdb/AB/a.sym", Text(5000)}});
  ASSERT_TRUE(zip.ok());
  ASSERT_TRUE(testing::PatchUncompressedSize(*zip, "a.pdb/AB/a.sym", 6000).ok());
  Opened o = Open(*zip);
  EXPECT_EQ(ReadAll(*o.reader, o.plan.members[0]).status().message(),
            "Archive member 'a.pdb/AB/a.sym' is corrupt (shorter than its declared size)");
}

TEST(MemberReaderTest, ConsumerErrorStopsReading) {
  auto zip = testing::MakeZip({{"a.pdb/AB/a.sym", Text(2 << 20)}});
  ASSERT_TRUE(zip.ok());
  Opened o = Open(*zip);
  int calls = 0;
  Status s = o.reader->Read(o.plan.members[0], [&](std::string_view) {
    ++calls;
    return Internal("stop");
  });
  EXPECT_EQ(s.message(), "stop");
  EXPECT_EQ(calls, 1);
}

struct Kept {
  Status status;
  bool exact = false;
  std::string data;  // inflated
  std::string raw;   // compressed, as handed over
};

Kept ReadKeeping(MemberReader& reader, const ArchiveMember& m) {
  Kept k;
  auto r = reader.ReadKeepingDeflate(
      m,
      [&](std::string_view c) {
        k.data.append(c);
        return Status::Ok();
      },
      [&](std::string_view c) {
        k.raw.append(c);
        return Status::Ok();
      });
  k.status = r.status();
  if (r.ok()) k.exact = *r;
  return k;
}

TEST(MemberReaderTest, KeepingDeflateHandsOverTheStreamItInflatesInOnePass) {
  std::string a = Text(3 << 20);  // several chunks of input and output
  auto zip = testing::MakeZip({{"a.pdb/AB/a.sym", a}});
  ASSERT_TRUE(zip.ok());
  Opened o = Open(*zip);
  const ArchiveMember& m = o.plan.members[0];
  Kept k = ReadKeeping(*o.reader, m);
  ASSERT_TRUE(k.status.ok()) << k.status.ToString();
  EXPECT_TRUE(k.exact);
  EXPECT_EQ(k.data, a);
  EXPECT_EQ(k.raw.size(), m.compressed_size);
  // Wrapped, the member's own stream is a gzip file of the member.
  auto back = testing::Gunzip(std::string(GzipHeader()) + k.raw + GzipTrailer(m.crc, m.size));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, a);
}

TEST(MemberReaderTest, KeepingDeflateFlagsBytesAfterTheStream) {
  std::string text = Text(600 * 1024);
  std::string stream = testing::RawDeflate(text);
  // 1 byte may sit in the inflater's bit buffer; 300 KB spans another read.
  for (size_t extra : {size_t{1}, size_t{7}, size_t{9}, size_t{300 * 1024}}) {
    Opened o =
        Open(testing::MakeRawZip("a.pdb/AB/a.sym", stream + std::string(extra, 'x'), ZIP_CM_DEFLATE,
                                 static_cast<uint32_t>(text.size()), testing::Crc32(text)));
    ASSERT_EQ(o.plan.members.size(), 1u);
    Kept k = ReadKeeping(*o.reader, o.plan.members[0]);
    ASSERT_TRUE(k.status.ok()) << k.status.ToString();
    EXPECT_FALSE(k.exact) << extra << " bytes after the stream";
    EXPECT_EQ(k.data, text);
  }
  // Without extra bytes the hand-made member is kept.
  Opened o = Open(testing::MakeRawZip("a.pdb/AB/a.sym", stream, ZIP_CM_DEFLATE,
                                      static_cast<uint32_t>(text.size()), testing::Crc32(text)));
  Kept k = ReadKeeping(*o.reader, o.plan.members[0]);
  ASSERT_TRUE(k.status.ok());
  EXPECT_TRUE(k.exact);
  EXPECT_EQ(k.raw, stream);
}

TEST(MemberReaderTest, KeepingDeflateDetectsTruncatedAndGarbledStreams) {
  std::string text = Text(600 * 1024);
  std::string stream = testing::RawDeflate(text);
  std::string garbled = stream;
  for (size_t i = garbled.size() / 2; i < garbled.size() / 2 + 64; ++i) garbled[i] = '\xff';
  for (const std::string& data : {stream.substr(0, stream.size() / 2), garbled}) {
    Opened o = Open(testing::MakeRawZip("a.pdb/AB/a.sym", data, ZIP_CM_DEFLATE,
                                        static_cast<uint32_t>(text.size()), testing::Crc32(text)));
    ASSERT_EQ(o.plan.members.size(), 1u);
    Kept k = ReadKeeping(*o.reader, o.plan.members[0]);
    EXPECT_EQ(k.status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(k.status.message().find("Archive member 'a.pdb/AB/a.sym' is corrupt"),
              std::string::npos)
        << k.status.message();
  }
}

TEST(MemberReaderTest, KeepingDeflateChecksCrcAndDeclaredSize) {
  auto zip = testing::MakeZip({{"a.pdb/AB/a.sym", Text(5000)}});
  ASSERT_TRUE(zip.ok());
  std::string wrong_crc = *zip;
  ASSERT_TRUE(testing::PatchCrc(wrong_crc, "a.pdb/AB/a.sym", 0x12345678).ok());
  Opened o = Open(wrong_crc);
  EXPECT_EQ(ReadKeeping(*o.reader, o.plan.members[0]).status.message(),
            "Archive member 'a.pdb/AB/a.sym' is corrupt (CRC mismatch)");

  // A bomb lying about its size stops within one chunk, before handing over its data.
  auto bomb = testing::MakeZip({{"a.pdb/AB/a.sym", std::string(64 << 20, 'z')}});
  ASSERT_TRUE(bomb.ok());
  ASSERT_TRUE(testing::PatchUncompressedSize(*bomb, "a.pdb/AB/a.sym", 1000).ok());
  Opened b = Open(*bomb);
  Kept k = ReadKeeping(*b.reader, b.plan.members[0]);
  EXPECT_NE(k.status.message().find("inflates to more than its declared 1000 bytes"),
            std::string::npos);
  EXPECT_LE(k.data.size(), 1000u);
}

TEST(MemberReaderTest, KeepingDeflateIsOnlyForDeflatedMembers) {
  auto zip = testing::MakeZip({{"a.pdb/AB/a.sym", Text(5000), ZipEntry::Kind::kFile, false}});
  ASSERT_TRUE(zip.ok());
  Opened o = Open(*zip);
  EXPECT_EQ(ReadKeeping(*o.reader, o.plan.members[0]).status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sigil::upload
