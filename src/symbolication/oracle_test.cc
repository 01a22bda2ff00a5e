// Checks every probe address of every Breakpad oracle file (../shared/testdata/oracle, see its
// README) against the index built from the matching .sym: all fields equal, every row.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "symbolication/index_builder.h"
#include "symbolication/symbol_index.h"

namespace sigil::symbolication {
namespace {

namespace fs = std::filesystem;

const fs::path kTestData = fs::path(SIGIL_SHARED_DIR) / "testdata";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ReadGzip(const fs::path& p) {
  gzFile gz = gzopen(p.c_str(), "rb");
  if (gz == nullptr) return {};
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(gz, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(gz);
  return out;
}

// oracle/<group>/<rel>.(breakpad_)oracle.tsv.gz -> the .sym it was generated from.
fs::path SymFor(const fs::path& oracle) {
  fs::path rel = fs::relative(oracle, kTestData / "oracle");
  std::string group = rel.begin()->string();
  fs::path rest;
  for (auto it = std::next(rel.begin()); it != rel.end(); ++it) rest /= *it;
  std::string name = rest.string();
  for (std::string suffix : {".breakpad_oracle.tsv.gz", ".oracle.tsv.gz"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      name.resize(name.size() - suffix.size());
      break;
    }
  }
  if (group == "symbolic") return kTestData / "loose-symbols" / "symbolic" / name;
  if (group == "tecken-loose") return kTestData / "loose-symbols" / "tecken" / name;
  if (group == "breakpad-format") return kTestData / "breakpad-format" / name;
  return kTestData / "symbols" / name;  // breakpad-symbols, tecken-symbols
}

std::string Hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The oracle's row format for one lookup.
std::string FormatRow(const std::string& addr, const LookupResult& r) {
  std::string row = addr;
  if (!r.found) return row + "\t\t\t\t\t\t\t";
  row += "\t" + std::string(r.function) + "\t" + Hex(r.function_base) + "\t" + std::string(r.file) +
         "\t" + std::to_string(r.line) + "\t" + (r.has_line_record ? Hex(r.line_base) : "") + "\t" +
         (r.is_multiple ? "1" : "0") + "\t";
  for (size_t i = 0; i < r.inlines.size(); ++i) {
    const InlineFrame& f = r.inlines[i];
    if (i > 0) row += " ;; ";
    row += std::string(f.function) + "|" + Hex(f.function_base) + "|" + std::string(f.file) + "|" +
           std::to_string(f.line);
  }
  return row;
}

TEST(OracleTest, EveryProbeOfEveryOracleFileMatches) {
  ASSERT_TRUE(fs::exists(kTestData / "oracle")) << kTestData;
  std::vector<fs::path> oracles;
  for (const auto& entry : fs::recursive_directory_iterator(kTestData / "oracle")) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > 14 && name.ends_with("oracle.tsv.gz")) {
      oracles.push_back(entry.path());
    }
  }
  std::sort(oracles.begin(), oracles.end());
  ASSERT_GE(oracles.size(), 30u);
  uint64_t rows = 0, mismatches = 0;
  for (const fs::path& oracle : oracles) {
    fs::path sym = SymFor(oracle);
    ASSERT_TRUE(fs::exists(sym)) << "no .sym for " << oracle << " (looked at " << sym << ")";
    auto built = BuildIndex(ReadFile(sym));
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    auto index = SymbolIndex::FromBytes(std::move(built->bytes));
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    std::istringstream in(ReadGzip(oracle));
    std::string line;
    LookupResult r;
    uint64_t file_rows = 0;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::string addr = line.substr(0, line.find('\t'));
      (*index)->Lookup(std::stoull(addr, nullptr, 16), &r);
      std::string got = FormatRow(addr, r);
      ++file_rows;
      if (got != line) {
        if (++mismatches <= 20) {
          ADD_FAILURE() << oracle.filename() << "\n  expected: " << line << "\n  got:      " << got;
        }
      }
    }
    rows += file_rows;
  }
  std::printf("oracle: %zu files, %llu rows checked, %llu mismatches\n", oracles.size(),
              static_cast<unsigned long long>(rows), static_cast<unsigned long long>(mismatches));
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(rows, 100000u);
}

}  // namespace
}  // namespace sigil::symbolication
