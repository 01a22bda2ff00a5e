// Parser and index semantics the oracle files do not exercise: line endings, NUL bytes, strtoull
// quirks, INLINE without a FUNC, out-of-order records, huge functions, overlapping inline ranges.
#include "symbolication/sym_parser.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <initializer_list>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "symbolication/index_builder.h"
#include "symbolication/symbol_index.h"

namespace sigil::symbolication {
namespace {

std::unique_ptr<SymbolIndex> Index(std::string_view sym, BuildStats* stats = nullptr,
                                   const BuildOptions& options = {}) {
  auto built = BuildIndex(sym, options);
  EXPECT_TRUE(built.ok());
  if (stats) *stats = built->stats;
  auto idx = SymbolIndex::FromBytes(std::move(built->bytes));
  EXPECT_TRUE(idx.ok()) << idx.status().ToString();
  return std::move(idx).value();
}

LookupResult At(const SymbolIndex& idx, uint64_t a) {
  LookupResult r;
  idx.Lookup(a, &r);
  return r;
}

TEST(SymParserTest, NumbersFollowStrtoull) {
  EXPECT_EQ(StrToULL("1a2B", 16).value, 0x1a2bu);
  EXPECT_EQ(StrToULL("0x10", 16).value, 0x10u);
  EXPECT_EQ(StrToULL("0x", 16).consumed, 1u);  // "0", stops at 'x'
  EXPECT_EQ(StrToULL("-1", 16).value, UINT64_MAX);
  EXPECT_EQ(StrToULL("ffffffffffffffffff", 16).value, UINT64_MAX);  // overflow saturates
  EXPECT_EQ(StrToULL("zz", 16).consumed, 0u);
  EXPECT_EQ(StrToL("-5", 10).value, -5);
  EXPECT_EQ(StrToL("99999999999999999999", 10).value, INT64_MAX);
  std::vector<std::string_view> t;
  EXPECT_TRUE(Tokenize("a  b c d e", 4, &t));
  EXPECT_EQ(t[3], "d e");
  EXPECT_FALSE(Tokenize("a b", 4, &t));
}

TEST(SymParserTest, CrLfBareCrAndNamesWithSpaces) {
  std::string sym =
      "MODULE windows x86 ABCD0 my module.pdb\r\n"
      "INFO CODE_ID 1234 my.dll\r\n"
      "FILE 1 c:\\src\\a file.cc\r"
      "FUNC m 1000 10 4 Foo::Bar(int, char const*) const\r\n"
      "1000 8 10 1\r\n"
      "1008 8 11 1\r"
      "PUBLIC m 2000 0 public name with spaces\n";
  BuildStats stats;
  auto idx = Index(sym, &stats);
  EXPECT_EQ(stats.parse.errors, 0u);
  EXPECT_EQ(idx->debug_file(), "my module.pdb");
  EXPECT_EQ(idx->code_file(), "my.dll");
  auto r = At(*idx, 0x1009);
  EXPECT_EQ(r.function, "Foo::Bar(int, char const*) const");
  EXPECT_TRUE(r.is_multiple);
  EXPECT_EQ(r.file, "c:\\src\\a file.cc");
  EXPECT_EQ(r.line, 11);
  r = At(*idx, 0x2005);
  EXPECT_EQ(r.function, "public name with spaces");
  EXPECT_TRUE(r.is_public);
  EXPECT_EQ(r.function_base, 0x2000u);
}

TEST(SymParserTest, NulBytesReadAsUnderscoreAndMalformedLinesAreCounted) {
  std::string sym = std::string("MODULE Linux x86 AB x\nFUNC 10 10 0 a") + '\0' + "b\n10 10 1 0\n";
  sym += "garbage line\nFUNC zz 1 0 bad\n5 5 5 5\nINLINE 0 1 0 10 4\nPUBLIC 0 0 zero\n";
  sym += std::string(3, '\0');  // trailing NULs are ignored
  BuildStats stats;
  auto idx = Index(sym, &stats);
  EXPECT_EQ(At(*idx, 0x12).function, "a_b");
  EXPECT_EQ(stats.parse.errors_by_kind[static_cast<int>(ParseError::kNulInData)], 1u);
  EXPECT_EQ(stats.parse.errors_by_kind[static_cast<int>(ParseError::kBadFunc)], 1u);
  // "garbage line" is a bad line record of FUNC a; "5 5 5 5" follows the bad FUNC.
  EXPECT_EQ(stats.parse.errors_by_kind[static_cast<int>(ParseError::kBadLine)], 1u);
  EXPECT_EQ(stats.parse.errors_by_kind[static_cast<int>(ParseError::kLineWithoutFunc)], 1u);
  EXPECT_EQ(stats.parse.errors_by_kind[static_cast<int>(ParseError::kInlineWithoutFunc)], 1u);
  EXPECT_FALSE(At(*idx, 0).found);  // PUBLIC at 0 ignored
}

TEST(SymParserTest, InlineBeforeAnyFuncOrAfterPublicIsSkipped) {
  std::string sym =
      "MODULE Linux x86 AB x\nINLINE_ORIGIN 0 f\nINLINE 0 1 0 0 10 4\n"
      "PUBLIC 100 0 p\nINLINE 0 1 0 0 100 4\n"
      "FUNC 200 10 0 g\nINLINE 0 7 0 200 4\n";
  BuildStats stats;
  auto idx = Index(sym, &stats);
  EXPECT_EQ(stats.parse.errors_by_kind[static_cast<int>(ParseError::kInlineWithoutFunc)], 2u);
  auto r = At(*idx, 0x201);
  ASSERT_EQ(r.inlines.size(), 1u);  // old form (odd field count) under g
  EXPECT_EQ(r.inlines[0].function, "f");
  EXPECT_EQ(r.line, 7);
}

TEST(SymParserTest, MaxErrorsStopsLikeBreakpadWhenAsked) {
  std::string sym = "MODULE Linux x86 AB x\n";
  for (int i = 0; i < 150; ++i) sym += "bogus\n";
  sym += "FUNC 10 10 0 late\n";
  BuildOptions breakpad;
  breakpad.parse.max_errors = 100;
  BuildStats stats;
  EXPECT_FALSE(At(*Index(sym, &stats, breakpad), 0x10).found);
  EXPECT_TRUE(stats.parse.stopped_early);
  EXPECT_TRUE(At(*Index(sym), 0x10).found);  // default: skip and keep going
}

TEST(SymParserTest, OutOfOrderAndOverlappingRecordsEarlierWins) {
  std::string sym =
      "MODULE Linux x86 AB x\nFILE 0 a.c\n"
      "FUNC 3000 100 0 third\n3050 10 30 0\n3000 60 31 0\n"  // second line overlaps the first:
                                                             // dropped
      "FUNC 1000 100 0 first\n1000 100 10 0\n"
      "FUNC 1080 100 0 overlapping\n1080 10 99 0\n"  // overlaps "first": dropped with its lines
      "FUNC 2000 0 0 empty\n"
      "PUBLIC 2000 0 pub\nPUBLIC 2000 0 dup\n";
  BuildStats stats;
  auto idx = Index(sym, &stats);
  EXPECT_EQ(At(*idx, 0x1085).function, "first");
  EXPECT_EQ(At(*idx, 0x1085).line, 10);
  EXPECT_EQ(At(*idx, 0x2000).function, "pub");  // size-0 FUNC ignored, first PUBLIC wins
  EXPECT_EQ(At(*idx, 0x3055).line, 30);
  EXPECT_FALSE(At(*idx, 0x3000).has_line_record);
  EXPECT_EQ(At(*idx, 0x3000).function, "third");
  EXPECT_EQ(At(*idx, 0x2fff).function, "pub");  // PUBLIC covers up to the next FUNC
  EXPECT_EQ(stats.parse.errors_by_kind[static_cast<int>(ParseError::kBadPublic)], 1u);
}

TEST(SymParserTest, FunctionsLongerThan4GiBKeepTheirLines) {
  std::string sym =
      "MODULE Linux x86 AB x\nFILE 0 big.c\n"
      "FUNC 1000 300000000 0 huge\n"
      "1000 10 1 0\n"
      "100000ff0 20 2 0\n"  // straddles the 4 GiB segment boundary
      "200000000 10 3 0\n"
      "INLINE_ORIGIN 0 in\nINLINE 0 5 0 0 100000f00 200\n";
  auto idx = Index(sym);
  EXPECT_EQ(At(*idx, 0x1005).line, 1);
  auto r = At(*idx, 0x100001005);
  EXPECT_EQ(r.line_base, 0x100000ff0u);
  ASSERT_EQ(r.inlines.size(), 1u);
  EXPECT_EQ(r.inlines[0].function_base, 0x100000f00u);
  EXPECT_EQ(r.inlines[0].line, 2);
  EXPECT_EQ(r.line, 5);
  EXPECT_EQ(At(*idx, 0x200000005).line, 3);
  EXPECT_FALSE(At(*idx, 0x250000000).has_line_record);
  EXPECT_EQ(At(*idx, 0x250000000).function, "huge");
  EXPECT_FALSE(At(*idx, 0x300001000).found);
}

// A FUNC costs one index segment per 4 GiB it spans; sizes near 2^64 (a hostile 100-byte file
// found by the fuzzer: "FUNC 2 -7a40 ...") must fail cleanly instead of allocating ~200 GiB.
TEST(SymParserTest, FunctionsSpanningMostOfTheAddressSpaceAreRefused) {
  for (const char* func : {"2 -7a40", "0 fffffffffffffffe", "10 1000000000000001"}) {
    std::string sym = std::string("MODULE Linux x86 AB x\nFUNC ") + func + " 0 f\n10 1 1 0\n";
    auto built = BuildIndex(sym);
    ASSERT_FALSE(built.ok()) << func;
    EXPECT_EQ(built.status().code(), StatusCode::kTooLarge) << func;
    EXPECT_NE(built.status().message().find("2^48"), std::string::npos)
        << built.status().ToString();
  }
  // The budget is summed over FUNCs: 17 FUNCs of 2^44 bytes each exceed 2^48 in total.
  std::string many = "MODULE Linux x86 AB x\n";
  for (unsigned i = 0; i < 17; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "FUNC %x00000000000 100000000000 0 f\n", i);
    many += line;
  }
  EXPECT_FALSE(BuildIndex(many).ok());
  // Exactly at the budget (2^48 bytes in one FUNC) still builds and answers.
  auto idx = Index("MODULE Linux x86 AB x\nFUNC 0 1000000000000 0 wide\nfffffffffff0 10 7 0\n");
  EXPECT_EQ(At(*idx, 0xfffffffffff5).line, 7);
  EXPECT_EQ(At(*idx, 0x7fffffffffff).function, "wide");
}

TEST(SymParserTest, InlineNestingFollowsContainedRangeMap) {
  std::string sym =
      "MODULE Linux x86 AB x\nFILE 0 a.c\nFILE 1 b.c\n"
      "INLINE_ORIGIN 0 outer\nINLINE_ORIGIN 1 inner\nINLINE_ORIGIN 2 same\n"
      "FUNC 100 100 0 f\n100 100 9 0\n"
      "INLINE 0 20 1 0 110 10 140 20\n"  // two ranges
      "INLINE 1 30 1 1 110 8\n"
      "INLINE 1 40 0 2 140 20\n"   // equal range: nests inside outer's second range
      "INLINE 3 50 0 1 150 1\n"    // level jumps by 2: parent lost, skipped
      "INLINE 0 60 0 7 150 20\n";  // partial overlap with outer: rejected; origin 7 unknown
  auto idx = Index(sym);
  auto r = At(*idx, 0x112);
  ASSERT_EQ(r.inlines.size(), 2u);
  EXPECT_EQ(r.inlines[0].function, "inner");
  EXPECT_EQ(r.inlines[0].line, 9);
  EXPECT_EQ(r.inlines[1].function, "outer");
  EXPECT_EQ(r.inlines[1].file, "b.c");
  EXPECT_EQ(r.inlines[1].line, 30);
  EXPECT_EQ(r.file, "b.c");
  EXPECT_EQ(r.line, 20);
  r = At(*idx, 0x145);
  ASSERT_EQ(r.inlines.size(), 2u);
  EXPECT_EQ(r.inlines[0].function, "same");
  EXPECT_EQ(r.inlines[1].function, "outer");
  EXPECT_EQ(r.inlines[1].function_base, 0x140u);
  EXPECT_EQ(At(*idx, 0x165).inlines.size(), 0u);
}

// Call sites are numbered as inline nodes are emitted; INLINE_ORIGIN and FILE records that come
// after the FUNCs using them, FUNCs out of address order, and an origin that never comes (Breakpad:
// "<name omitted>") make the builder number them again at the end. Lookups must not change.
TEST(SymParserTest, InlineCallSitesResolveWhereverTheirRecordsAre) {
  const std::string head = "MODULE Linux x86 AB x\n";
  const std::string defs = "FILE 0 a.c\nFILE 1 b.c\nINLINE_ORIGIN 0 outer\nINLINE_ORIGIN 1 inner\n";
  const std::string f1 =
      "FUNC 100 100 0 f\n100 100 9 0\nINLINE 0 20 1 0 110 10\nINLINE 1 30 1 1 110 8\n"
      "INLINE 0 40 0 5 150 10\n";  // origin 5 never comes
  const std::string f2 = "FUNC 300 100 0 g\n300 100 7 1\nINLINE 0 50 0 1 310 10\n";
  const std::string variants[] = {head + defs + f1 + f2, head + f1 + f2 + defs,
                                  head + f2 + f1 + defs, head + f2 + defs + f1};
  for (const std::string& sym : variants) {
    SCOPED_TRACE(sym);
    auto idx = Index(sym);
    auto r = At(*idx, 0x112);
    ASSERT_EQ(r.inlines.size(), 2u);
    EXPECT_EQ(r.inlines[0].function, "inner");
    EXPECT_EQ(r.inlines[1].function, "outer");
    EXPECT_EQ(r.inlines[1].file, "b.c");
    EXPECT_EQ(r.inlines[1].line, 30);
    EXPECT_EQ(r.file, "b.c");
    EXPECT_EQ(r.line, 20);
    r = At(*idx, 0x152);
    ASSERT_EQ(r.inlines.size(), 1u);
    EXPECT_EQ(r.inlines[0].function, "<name omitted>");
    EXPECT_EQ(r.file, "a.c");  // old-form INLINE: the line record's file
    EXPECT_EQ(r.line, 40);
    r = At(*idx, 0x312);
    ASSERT_EQ(r.inlines.size(), 1u);
    EXPECT_EQ(r.inlines[0].function, "inner");
    EXPECT_EQ(r.inlines[0].file, "b.c");
    EXPECT_EQ(r.function, "g");
  }
}

// The builder nests INLINE ranges with a sorted sweep when no two of a function's ranges partly
// overlap and with the ContainedRangeMap emulation otherwise: both must write the same index.
// Random functions, half of them nested by construction (with equal ranges, ranges leaving the
// FUNC, several ranges per INLINE), half from a coarse grid (partial overlaps).
TEST(SymParserTest, InlineSweepBuildsWhatTheEmulationBuilds) {
  std::mt19937_64 rng(17);
  auto hex = [](uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  for (int round = 0; round < 40; ++round) {
    std::string sym = "MODULE Linux x86 AB x\nFILE 0 a.c\nFILE 1 b.c\n";
    for (int o = 0; o < 6; ++o)
      sym += "INLINE_ORIGIN " + std::to_string(o) + " o" + std::to_string(o) + "\n";
    uint64_t base = 0x1000;
    for (int fn = 0; fn < 20; ++fn) {
      const uint64_t size = 0x40 + rng() % 0x400;
      sym += "FUNC " + hex(base) + " " + hex(size) + " 0 f" + std::to_string(fn) + "\n";
      sym += hex(base) + " " + hex(size) + " 7 0\n";
      const bool nested = fn % 2 == 0;
      // (level, lo, hi) intervals to place children in; ranges may leave the FUNC a little.
      std::vector<std::tuple<int, uint64_t, uint64_t>> work = {
          {0, base - 0x10, base + size + 0x10}};
      for (size_t w = 0; w < work.size() && w < 60; ++w) {
        auto [level, lo, hi] = work[w];
        if (level > 3 || hi - lo < 4) continue;
        const int records = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < records; ++k) {
          std::string line = "INLINE " + std::to_string(level) + " " + std::to_string(rng() % 90) +
                             " " + std::to_string(rng() % 2) + " " + std::to_string(rng() % 6);
          const int ranges = 1 + static_cast<int>(rng() % 3);
          for (int x = 0; x < ranges; ++x) {
            uint64_t a, b;
            if (nested) {  // a slice of the parent interval (equal to it now and then)
              const uint64_t span = hi - lo;
              a = (rng() % 4 == 0) ? lo : lo + rng() % span;
              b = (rng() % 4 == 0) ? hi : a + rng() % (hi - a + 1);
            } else {  // coarse grid: equal ranges and partial overlaps
              a = base - 0x10 + (rng() % 8) * (size / 6);
              b = a + (1 + rng() % 4) * (size / 6) - 1;
            }
            line += " " + hex(a) + " " + hex(b - a + (rng() % 16 == 0 ? 0 : 1));  // some size 0
            if (nested && b > a) work.emplace_back(level + 1, a, b);
          }
          sym += line + "\n";
        }
      }
      base += size + rng() % 0x40;
    }
    auto fast = BuildIndex(sym);
    auto exact = BuildIndex(sym, BuildOptions{.emulate_inline_tree = true});
    ASSERT_TRUE(fast.ok() && exact.ok());
    ASSERT_GT(fast->stats.inline_nodes, 0u);
    EXPECT_EQ(fast->stats.inline_nodes, exact->stats.inline_nodes) << sym;
    EXPECT_TRUE(fast->bytes == exact->bytes) << sym;
  }
}

// The line-record fast path (block-at-a-time hex and decimal scanners) reads numbers exactly as
// the strtoull/strtol path does: the same records with two spaces between fields take only the
// general path, and must parse to the same values and errors. Digit runs of every length (past
// 16 hex / 9 decimal digits too), mixed case, junk after a number.
TEST(SymParserTest, FastLineNumbersMatchTheGeneralPath) {
  struct Lines : SymVisitor {
    std::vector<LineRecord> lines;
    void OnModule(const ModuleRecord&) override {}
    void OnCodeId(std::string_view, std::string_view) override {}
    void OnFile(const FileRecord&) override {}
    void OnInlineOrigin(const InlineOriginRecord&) override {}
    void OnFunc(const FuncRecord&) override {}
    void OnLine(const LineRecord& r) override { lines.push_back(r); }
    void OnInline(const InlineRecord&) override {}
    bool OnPublic(const PublicRecord&) override { return true; }
  };
  std::mt19937_64 rng(23);
  const char* hex_digits = "0123456789abcdefABCDEF";
  auto digits = [&](bool hex) {
    std::string out;
    const size_t n = 1 + rng() % (rng() % 4 == 0 ? 20 : 9);
    for (size_t i = 0; i < n; ++i) out += hex ? hex_digits[rng() % 22] : char('0' + rng() % 10);
    if (rng() % 16 == 0) out += "xg:-"[rng() % 4];  // junk after the number
    return out;
  };
  std::string single = "FUNC 0 ffffffff 0 f\n", doubled = single;
  for (int i = 0; i < 20000; ++i) {
    const std::string f[4] = {digits(true), digits(true), digits(false), digits(false)};
    single += f[0] + " " + f[1] + " " + f[2] + " " + f[3] + "\n";
    doubled += f[0] + "  " + f[1] + "  " + f[2] + "  " + f[3] + "\n";
  }
  // The same single-spaced records with CR LF endings (split before they are read) and without
  // the last line's LF (the record then ends at the end of the text).
  std::string crlf;
  for (char c : single) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const std::string unterminated = single.substr(0, single.size() - 1);
  Lines a, b, c, d;
  const ParseStats sa = ParseSym(single, a), sb = ParseSym(doubled, b), sc = ParseSym(crlf, c),
                   sd = ParseSym(unterminated, d);
  EXPECT_EQ(sa.errors, sb.errors);
  EXPECT_EQ(sa.errors, sc.errors);
  EXPECT_EQ(sa.errors, sd.errors);
  EXPECT_GT(a.lines.size(), 5000u);
  for (const Lines* other : {&b, &c, &d}) {
    ASSERT_EQ(a.lines.size(), other->lines.size());
    for (size_t i = 0; i < a.lines.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(a.lines[i].address, other->lines[i].address);
      EXPECT_EQ(a.lines[i].size, other->lines[i].size);
      EXPECT_EQ(a.lines[i].line, other->lines[i].line);
      EXPECT_EQ(a.lines[i].file_id, other->lines[i].file_id);
    }
  }
}

// The FILE, PUBLIC, INLINE_ORIGIN and STACK WIN / CFI INIT fast paths (single-spaced fields) read
// what the general path reads: each line again with one more space where the general path skips
// it (before the first field, or before the STACK body) takes only the general path, and must give
// the same records and errors. Random fields: numbers with signs, "0x", junk, too many digits;
// names starting with digits or '-'; missing and empty fields.
TEST(SymParserTest, FieldFastPathsMatchTheGeneralPath) {
  struct Records : SymVisitor {
    std::string log;
    void OnModule(const ModuleRecord&) override {}
    void OnCodeId(std::string_view, std::string_view) override {}
    void OnFile(const FileRecord& r) override {
      log += "F " + std::to_string(r.id) + " " + std::string(r.name) + "\n";
    }
    void OnInlineOrigin(const InlineOriginRecord& r) override {
      log += "O " + std::to_string(r.id) + " " + std::string(r.name) + "\n";
    }
    void OnFunc(const FuncRecord&) override {}
    void OnLine(const LineRecord&) override {}
    void OnInline(const InlineRecord&) override {}
    bool OnPublic(const PublicRecord& r) override {
      log += "P " + std::to_string(r.is_multiple) + " " + std::to_string(r.address) + " " +
             std::string(r.name) + "\n";
      return true;
    }
    void OnError(ParseError e, uint64_t line) override {
      log += "E " + std::to_string(static_cast<int>(e)) + " " + std::to_string(line) + "\n";
    }
  };
  std::mt19937_64 rng(29);
  auto pick = [&](std::initializer_list<const char*> l) {
    return std::string(l.begin()[rng() % l.size()]);
  };
  auto number = [&] {
    return pick({"0",
                 "7",
                 "12",
                 "ff",
                 "1a2B",
                 "00000000004",
                 "123456789",
                 "1234567890",
                 "+5",
                 "-1",
                 "0x10",
                 "1x",
                 "x",
                 "",
                 "\t4",
                 "99999999999999999999",
                 "fffffffffffffff",
                 "ffffffffffffffff",
                 "4294967297",
                 "2147483648"});
  };
  auto name = [&] {
    return pick({"main", "Foo::Bar(int) const", "12 name", "-1 name", "- x", "7", "-", " lead", "a",
                 "operator new[](unsigned long)"});
  };
  std::string single, spaced;
  for (int i = 0; i < 20000; ++i) {
    std::string head, body;
    switch (rng() % 5) {
      case 0:
        head = "FILE ", body = number() + " " + name();
        break;
      case 1:
        head = "PUBLIC ",
        body = (rng() % 3 == 0 ? "m " : "") + number() + " " + number() + " " + name();
        break;
      case 2:
        head = "INLINE_ORIGIN ",
        body = number() + " " + (rng() % 3 == 0 ? number() + " " : "") + name();
        break;
      case 3: {
        head = "STACK WIN ", body = pick({"0", "4", "5", "x", "a", "04", "+4", "\t", "-0"});
        const int fields = 8 + static_cast<int>(rng() % 5);
        for (int f = 0; f < fields; ++f) body += " " + number();
        if (rng() % 2 == 0) body += " " + name();
        break;
      }
      default:
        head = "STACK CFI ", body = pick({"INIT ", "INIT"}) + number() + " " + number() +
                                    pick({"", " ", " .cfa: $rsp 8 +", "  x"});
        break;
    }
    if (rng() % 8 == 0) body.insert(rng() % (body.size() + 1), " ");
    if (rng() % 16 == 0 && !body.empty()) body.erase(rng() % body.size(), 1);
    single += head + body + "\n";
    spaced += head + " " + body + "\n";
  }
  Records a, b;
  const ParseStats sa = ParseSym(single, a), sb = ParseSym(spaced, b);
  EXPECT_EQ(sa.errors, sb.errors);
  EXPECT_GT(sa.errors, 1000u);
  EXPECT_LT(sa.errors, 19000u);
  EXPECT_TRUE(a.log == b.log);
  // Line by line, for a readable failure.
  size_t pa = 0, pb = 0;
  while (pa < a.log.size() && pb < b.log.size()) {
    const size_t ea = a.log.find('\n', pa), eb = b.log.find('\n', pb);
    ASSERT_EQ(a.log.substr(pa, ea - pa), b.log.substr(pb, eb - pb));
    pa = ea + 1, pb = eb + 1;
  }
}

// STACK CFI delta records are valid when rules follow the address (Breakpad's ParseStackInfo);
// the fast check and the general path agree on every form.
TEST(SymParserTest, StackCfiRecordsAreCheckedLikeBreakpad) {
  struct Case {
    std::string line;
    uint64_t errors;
  };
  const std::string long_address(40, 'a');
  const Case cases[] = {
      {"STACK CFI 1234 .cfa: $rsp 8 +", 0},
      {"STACK CFI 1234", 1},
      {"STACK CFI 1234 ", 1},
      {"STACK CFI 1234  x", 0},
      {"STACK CFI  1234 x", 0},  // general path: fields split on repeated spaces
      {"STACK CFI " + long_address + " .cfa: $rsp 8 +", 0},
      {"STACK CFI " + long_address, 1},
      {"STACK CFI INIT 1000 10 .cfa: $rsp 8 +", 0},
      {"STACK CFI INIT 1000 10", 1},
      {"STACK CFI INIT", 1},
      {"STACK CFI I", 1},
      {"STACK CFI", 1},
      {"STACK WIN 4 1000 10 0 0 0 0 0 0 1 prog", 0},
      {"STACK WIN 5 1000 10 0 0 0 0 0 0 1 prog", 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.line);
    for (const char* ending : {"\n", "\r\n", ""}) {
      BuildStats stats;
      Index("MODULE Linux x86_64 AB x\nFUNC 1000 10 0 f\n" + c.line + ending, &stats);
      EXPECT_EQ(stats.parse.errors, c.errors);
      EXPECT_EQ(stats.parse.errors_by_kind[static_cast<int>(ParseError::kBadStack)], c.errors);
    }
  }
}

}  // namespace
}  // namespace sigil::symbolication
