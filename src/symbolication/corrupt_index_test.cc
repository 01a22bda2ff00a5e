// Truncated and bit-flipped indexes: the loader rejects them, or (with the checksum off, as a
// crafted file with a valid CRC would be) accepts only files whose every reference is in bounds, so
// lookups never read outside the data. Run under the asan preset to have ASan check the reads.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "symbolication/index_builder.h"
#include "symbolication/symbol_index.h"

namespace sigil::symbolication {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(SIGIL_SHARED_DIR) / "testdata";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string BuildFrom(const char* rel) {
  auto built = BuildIndex(Slurp(kData / rel));
  EXPECT_TRUE(built.ok());
  return built->bytes;
}

// An index's header and section offsets.
struct Layout {
  format::Header header;
  uint64_t offsets[format::kSectionCount];
};
Layout LayoutOf(const std::string& index) {
  Layout layout;
  std::memcpy(&layout.header, index.data(), sizeof(layout.header));
  format::SectionOffsets(layout.header, layout.offsets);
  return layout;
}

// Looks up addresses around every range start plus random ones.
void Exercise(const SymbolIndex& index, std::mt19937_64& rng) {
  LookupResult r;
  for (int i = 0; i < 2000; ++i) {
    uint64_t a = (i % 2) ? rng() : (rng() % 0x40000);
    index.Lookup(a, &r);
    for (const InlineFrame& f : r.inlines) ASSERT_LE(f.function.size(), index.size_bytes());
  }
}

TEST(CorruptIndexTest, EveryTruncationIsRejected) {
  std::string good =
      BuildFrom("symbols/linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.new.sym");
  ASSERT_TRUE(SymbolIndex::FromBytes(good).ok());
  for (size_t len = 0; len < good.size(); ++len) {
    auto idx = SymbolIndex::FromBytes(good.substr(0, len));
    ASSERT_FALSE(idx.ok()) << "truncated to " << len;
    EXPECT_EQ(idx.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(CorruptIndexTest, BitFlipsAreCaughtByTheChecksum) {
  std::string good =
      BuildFrom("symbols/linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.new.sym");
  for (size_t pos = 0; pos < good.size(); ++pos) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ (1 << (pos % 8)));
    ASSERT_FALSE(SymbolIndex::FromBytes(bad).ok()) << "flip at " << pos;
  }
}

TEST(CorruptIndexTest, WithoutChecksumCorruptReferencesAreRejectedOrHarmless) {
  std::mt19937_64 rng(42);
  for (const char* rel :
       {"symbols/ssltunnel/8A07C88A3DA44E20A3490D88791183060/ssltunnel.sym",
        "symbols/linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.old.sym",
        "breakpad-format/module1.out"}) {
    std::string good = BuildFrom(rel);
    size_t accepted = 0, rejected = 0;
    for (int trial = 0; trial < 600; ++trial) {
      std::string bad = good;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) {
        size_t pos = rng() % bad.size();
        if (trial % 3 == 0) {
          bad[pos] = static_cast<char>(rng());  // random byte
        } else {
          bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
        }
      }
      auto idx = SymbolIndex::FromBytes(bad, OpenOptions{.verify_checksum = false});
      if (!idx.ok()) {
        ++rejected;
        continue;
      }
      ++accepted;
      Exercise(**idx, rng);
    }
    EXPECT_GT(rejected, 0u) << rel;
    EXPECT_GT(accepted, 0u) << rel;  // data bytes (names, addresses) are not structural
  }
}

// A direct-table entry above its bucket's start would send a lookup below its range slice (the
// v1 search layer had the same hazard, found by index_loader_fuzzer).
TEST(CorruptIndexTest, DirectTableMustNotPointAboveItsBucket) {
  std::string good = BuildFrom("breakpad-format/module1.out");
  const auto [h, offsets] = LayoutOf(good);
  ASSERT_GE(h.section_sizes[format::kRangeDirect], 8u);
  std::string bad = good;
  uint32_t first = 1;
  std::memcpy(bad.data() + offsets[format::kRangeDirect], &first, sizeof(first));
  auto idx = SymbolIndex::FromBytes(bad, OpenOptions{.verify_checksum = false});
  ASSERT_FALSE(idx.ok());
  EXPECT_NE(idx.status().message().find("range direct"), std::string::npos)
      << idx.status().message();
}

// Found by index_loader_fuzzer: a range whose next entry points past the restart points made the
// loader read beyond LineSkips while checking them.
TEST(CorruptIndexTest, RangeSlicesPastTheirTablesAreRejected) {
  std::string good = BuildFrom("symbols/ssltunnel/8A07C88A3DA44E20A3490D88791183060/ssltunnel.sym");
  const auto [h, offsets] = LayoutOf(good);
  ASSERT_GE(h.section_sizes[format::kRangeEntries], 3 * sizeof(format::RangeEntry));
  for (size_t field :
       {offsetof(format::RangeEntry, line_pos), offsetof(format::RangeEntry, skip_begin),
        offsetof(format::RangeEntry, inline_begin)}) {
    std::string bad = good;
    const uint32_t huge = 0x7FFFFFF0u;
    std::memcpy(bad.data() + offsets[format::kRangeEntries] + sizeof(format::RangeEntry) + field,
                &huge, sizeof(huge));
    auto idx = SymbolIndex::FromBytes(bad, OpenOptions{.verify_checksum = false});
    ASSERT_FALSE(idx.ok()) << field;
    EXPECT_NE(idx.status().message().find("range slices"), std::string::npos)
        << idx.status().message();
  }
}

// Version 3 records carry (offset, size) string references: one reaching past the string data is
// rejected at open, for every kind of record that holds one.
TEST(CorruptIndexTest, StringReferencesPastTheStringDataAreRejected) {
  std::string good = BuildFrom("symbols/ssltunnel/8A07C88A3DA44E20A3490D88791183060/ssltunnel.sym");
  const auto [h, offsets] = LayoutOf(good);
  ASSERT_GT(h.section_sizes[format::kSymbols], 0u);
  ASSERT_GT(h.section_sizes[format::kInlineSites], 0u);
  ASSERT_GT(h.section_sizes[format::kFiles], 0u);
  const uint32_t past = static_cast<uint32_t>(h.string_bytes);
  struct Case {
    size_t at;
    const char* message;
  };
  for (const Case& c :
       {Case{offsets[format::kSymbols] + offsetof(format::SymbolRecord, name_offset),
             "symbol name"},
        Case{offsets[format::kInlineSites] + offsetof(format::InlineSite, name), "inline name"},
        Case{offsets[format::kFiles], "file name"},
        Case{offsetof(format::Header, module_id), "module string"}}) {
    std::string bad = good;
    std::memcpy(bad.data() + c.at, &past, sizeof(past));  // offset = end, size stays > 0
    auto idx = SymbolIndex::FromBytes(bad, OpenOptions{.verify_checksum = false});
    ASSERT_FALSE(idx.ok()) << c.message;
    EXPECT_NE(idx.status().message().find(c.message), std::string::npos) << idx.status().message();
    // A size that overflows 32 bits when added to its offset (a u32 sum would wrap to 0 and pass).
    // For a symbol this sets both flag bits too; its size is then 1 GiB - 1.
    bad = good;
    const uint32_t wrap[2] = {1, 0xFFFFFFFFu};
    std::memcpy(bad.data() + c.at, wrap, sizeof(wrap));
    idx = SymbolIndex::FromBytes(bad, OpenOptions{.verify_checksum = false});
    ASSERT_FALSE(idx.ok()) << c.message << " (size)";
    EXPECT_NE(idx.status().message().find(c.message), std::string::npos) << idx.status().message();
  }
}

// InlineStarts must hold one start per inline node. Its size is moved by one u32 within its 8-byte
// padding, so every later section keeps its offset and only the count is wrong.
TEST(CorruptIndexTest, InlineStartCountMustMatchTheInlineNodes) {
  std::string good = BuildFrom("symbols/ssltunnel/8A07C88A3DA44E20A3490D88791183060/ssltunnel.sym");
  format::Header h = LayoutOf(good).header;
  ASSERT_GT(h.section_sizes[format::kInlines], 0u);
  uint64_t& starts_size = h.section_sizes[format::kInlineStarts];
  starts_size = starts_size % 8 == 0 ? starts_size - 4 : starts_size + 4;
  std::string bad = good;
  std::memcpy(bad.data(), &h, sizeof(h));
  auto idx = SymbolIndex::FromBytes(bad, OpenOptions{.verify_checksum = false});
  ASSERT_FALSE(idx.ok());
  EXPECT_NE(idx.status().message().find("inline start count mismatch"), std::string::npos)
      << idx.status().message();
}

// A parent in another range's block would send the lookups' parent walk into another function's
// inline nodes (wrong frames from a crafted file): rejected at open.
TEST(CorruptIndexTest, InlineParentMustBeAnEarlierNodeOfItsRange) {
  std::string good = BuildFrom("symbols/ssltunnel/8A07C88A3DA44E20A3490D88791183060/ssltunnel.sym");
  const auto [h, offsets] = LayoutOf(good);
  size_t ranges = h.section_sizes[format::kRangeEntries] / sizeof(format::RangeEntry);
  const auto* entries =
      reinterpret_cast<const format::RangeEntry*>(good.data() + offsets[format::kRangeEntries]);
  uint32_t node = format::kNone;
  for (size_t i = 0; i + 1 < ranges && node == format::kNone; ++i) {
    if (entries[i].inline_begin > 0 && entries[i + 1].inline_begin > entries[i].inline_begin)
      node = entries[i].inline_begin;  // the first node of a range that is not the first block
  }
  ASSERT_NE(node, format::kNone);
  std::string bad = good;
  const uint32_t other_range = 0;  // node 0 lies in an earlier range's block
  std::memcpy(bad.data() + offsets[format::kInlines] + node * sizeof(format::InlineNode) +
                  offsetof(format::InlineNode, parent),
              &other_range, sizeof(other_range));
  auto idx = SymbolIndex::FromBytes(bad, OpenOptions{.verify_checksum = false});
  ASSERT_FALSE(idx.ok());
  EXPECT_NE(idx.status().message().find("is not an earlier node of its range"), std::string::npos)
      << idx.status().message();
  EXPECT_TRUE(SymbolIndex::FromBytes(good, OpenOptions{.verify_checksum = false}).ok());
}

TEST(CorruptIndexTest, OlderFormatVersionIsRejectedByName) {
  std::string good = BuildFrom("breakpad-format/module1.out");
  for (uint32_t version : {1u, format::kIndexVersion + 1}) {
    std::string other = good;
    std::memcpy(other.data() + offsetof(format::Header, version), &version, sizeof(version));
    auto idx = SymbolIndex::FromBytes(other, OpenOptions{.verify_checksum = false});
    ASSERT_FALSE(idx.ok());
    EXPECT_EQ(idx.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(idx.status().message().find("version " + std::to_string(version) + ", expected " +
                                          std::to_string(format::kIndexVersion)),
              std::string::npos)
        << idx.status().message();
  }
}

TEST(CorruptIndexTest, ForeignAndTornFilesOnDisk) {
  fs::path dir = fs::temp_directory_path() / ("sigil-corrupt-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string good = BuildFrom("breakpad-format/module1.out");
  std::ofstream(dir / "torn.symidx", std::ios::binary) << good.substr(0, good.size() / 2);
  std::ofstream(dir / "foreign.symidx", std::ios::binary)
      << Slurp(kData / "breakpad-format/module1.out");
  auto torn = SymbolIndex::Open((dir / "torn.symidx").string());
  EXPECT_EQ(torn.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(torn.status().message().find("truncated"), std::string::npos)
      << torn.status().message();
  auto foreign = SymbolIndex::Open((dir / "foreign.symidx").string());
  EXPECT_EQ(foreign.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SymbolIndex::Open((dir / "absent.symidx").string()).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(WriteIndexFile((dir / "ok.symidx").string(), good).ok());
  auto ok = SymbolIndex::Open((dir / "ok.symidx").string());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->debug_id(), "111111111111111111111111111111111");
  EXPECT_EQ((*ok)->code_file(), "module1.exe");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sigil::symbolication
