// SymbolIndex::LookupBatch answers exactly what Lookup answers, for every batch size (around its
// group size and its pipeline's depth too) and for addresses outside the module; the oracle test
// checks Lookup itself against Breakpad.
#include "symbolication/symbol_index.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "symbolication/index_builder.h"

namespace sigil::symbolication {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(SIGIL_SHARED_DIR) / "testdata";

std::unique_ptr<SymbolIndex> IndexOf(const char* rel, uint64_t batch_prefetch_min_bytes) {
  std::ifstream in(kData / rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto built = BuildIndex(ss.str());
  EXPECT_TRUE(built.ok());
  auto index = SymbolIndex::FromBytes(
      std::move(built->bytes), OpenOptions{.batch_prefetch_min_bytes = batch_prefetch_min_bytes});
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return std::move(index).value();
}

void ExpectSame(const LookupResult& a, const LookupResult& b, uint64_t address) {
  SCOPED_TRACE(testing::Message() << "address 0x" << std::hex << address);
  EXPECT_EQ(a.found, b.found);
  EXPECT_EQ(a.function, b.function);
  EXPECT_EQ(a.function_base, b.function_base);
  EXPECT_EQ(a.is_multiple, b.is_multiple);
  EXPECT_EQ(a.is_public, b.is_public);
  EXPECT_EQ(a.file, b.file);
  EXPECT_EQ(a.line, b.line);
  EXPECT_EQ(a.has_line_record, b.has_line_record);
  EXPECT_EQ(a.line_base, b.line_base);
  ASSERT_EQ(a.inlines.size(), b.inlines.size());
  for (size_t k = 0; k < a.inlines.size(); ++k) {
    EXPECT_EQ(a.inlines[k].function, b.inlines[k].function);
    EXPECT_EQ(a.inlines[k].function_base, b.inlines[k].function_base);
    EXPECT_EQ(a.inlines[k].file, b.inlines[k].file);
    EXPECT_EQ(a.inlines[k].line, b.inlines[k].line);
  }
}

TEST(SymbolIndexTest, LookupBatchMatchesLookup) {
  std::mt19937_64 rng(5);
  size_t with_inlines = 0, found = 0;
  for (const char* rel :
       {"symbols/ssltunnel/8A07C88A3DA44E20A3490D88791183060/ssltunnel.sym",
        "symbols/linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.new.sym",
        "symbols/kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym",
        "symbols/microdump/breakpad_unittests/D6D1FEC9A15DE7F38A236898871A2E770/"
        "breakpad_unittests.sym",
        "breakpad-format/module3_bad.out"}) {
    for (uint64_t min_bytes : {uint64_t{0}, ~uint64_t{0}}) {  // staged walk, plain loop
      SCOPED_TRACE(rel);
      std::unique_ptr<SymbolIndex> index = IndexOf(rel, min_bytes);
      // Mostly addresses inside the module, some below and far above it.
      std::vector<uint64_t> addresses;
      for (int i = 0; i < 3000; ++i) {
        uint64_t a = (i % 2) ? rng() % 0x200000 : 0x4000 + rng() % 0x6000;  // small modules too
        if (i % 50 == 0) a = rng();
        if (i % 77 == 0) a = 0;
        addresses.push_back(a);
      }
      LookupResult single;
      std::vector<LookupResult> batch(addresses.size() + 3);
      batch[0].inlines.resize(7);  // stale contents must be cleared
      for (size_t size : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{111},
                          size_t{112}, size_t{113}, addresses.size()}) {
        index->LookupBatch(std::span<const uint64_t>(addresses.data(), size), batch);
        for (size_t i = 0; i < size; ++i) {
          index->Lookup(addresses[i], &single);
          ExpectSame(batch[i], single, addresses[i]);
          if (size == addresses.size() && min_bytes == 0) {
            found += single.found;
            with_inlines += !single.inlines.empty();
          }
        }
      }
    }
  }
  EXPECT_GT(found, 1000u);
  EXPECT_GT(with_inlines, 100u);
}

// The builder codes each FUNC's lines as the FUNC ends and reassembles the line stream when the
// FUNCs come out of address order or a line names a FILE record that comes later: both give the
// same answers as the input in order.
TEST(SymbolIndexTest, OutOfOrderFuncsAndLateFileRecordsAnswerTheSame) {
  std::ifstream in(kData /
                       "symbols/microdump/breakpad_unittests/D6D1FEC9A15DE7F38A236898871A2E770/"
                       "breakpad_unittests.sym",
                   std::ios::binary);
  std::string line, head, files;
  std::vector<std::string> blocks;  // FUNC/PUBLIC/STACK record with the lines that follow it
  while (std::getline(in, line)) {
    if (line.rfind("MODULE", 0) == 0 || line.rfind("INFO", 0) == 0) {
      head += line + "\n";
    } else if (line.rfind("FILE", 0) == 0) {
      files += line + "\n";
    } else if (line.rfind("FUNC", 0) == 0 || line.rfind("PUBLIC", 0) == 0 ||
               line.rfind("STACK", 0) == 0 || blocks.empty()) {
      blocks.push_back(line + "\n");
    } else {
      blocks.back() += line + "\n";
    }
  }
  ASSERT_GT(blocks.size(), 1000u);
  std::string in_order = head + files, reversed = head + files, files_last = head;
  for (const std::string& b : blocks) in_order += b;
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) reversed += *it;
  for (size_t i = 0; i < blocks.size(); ++i) files_last += blocks[i];
  files_last += files;
  // Both at once: no FUNC is coded as it ends and the uncoded ones are put in address order.
  std::string reversed_files_last = head;
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) reversed_files_last += *it;
  reversed_files_last += files;
  auto open = [](const std::string& sym) {
    auto built = BuildIndex(sym);
    EXPECT_TRUE(built.ok());
    return std::move(SymbolIndex::FromBytes(std::move(built->bytes))).value();
  };
  std::unique_ptr<SymbolIndex> expected = open(in_order);
  std::mt19937_64 rng(9);
  size_t with_file = 0;
  for (const std::string& variant : {reversed, files_last, reversed_files_last}) {
    std::unique_ptr<SymbolIndex> index = open(variant);
    LookupResult a, b;
    for (int i = 0; i < 20000; ++i) {
      const uint64_t address = rng() % 0x200000;
      expected->Lookup(address, &a);
      index->Lookup(address, &b);
      ExpectSame(a, b, address);
      with_file += !a.file.empty();
    }
  }
  EXPECT_GT(with_file, 10000u);
}

}  // namespace
}  // namespace sigil::symbolication
