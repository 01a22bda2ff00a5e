#include "download/missing_recorder.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "download/download_test_fakes.h"

namespace sigil::download {
namespace {

using std::chrono::milliseconds;

TEST(MissingRecorderTest, CountsAreExactUnderConcurrency) {
  testing::FakeDb db;
  {
    MissingSymbolsRecorder rec(db, milliseconds(5));  // flushes often, while threads record
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 5000; ++i) {
          std::string n = std::to_string((t + i) % 20);
          ASSERT_TRUE(rec.Record("m" + n + ".pdb", "ABCDEF" + n, "m" + n + ".sym", "m" + n + ".dll",
                                 "C0DE" + n));
        }
      });
    }
    for (auto& th : threads) th.join();
  }  // destructor flushes the rest
  EXPECT_EQ(db.TotalMissing(), 8 * 5000);
  EXPECT_EQ(db.missing.size(), 20u);
  for (const auto& [hash, row] : db.missing) {
    EXPECT_EQ(row.count, 2000) << row.debug_file;
    EXPECT_EQ(row.code_file, row.debug_file.substr(0, row.debug_file.size() - 4) + ".dll");
    EXPECT_EQ(hash, row.hash);
  }
}

TEST(MissingRecorderTest, FlushesInOneCallPerBatchWithHashes) {
  testing::FakeDb db;
  MissingSymbolsRecorder rec(db, milliseconds(60000));
  rec.Record("a.pdb", "AA", "a.sym", "", "");
  rec.Record("a.pdb", "AA", "a.sym", "", "");
  rec.Record("a.pdb", "AA", "a.sym", "a.dll", "");  // different fields: another symbol
  EXPECT_EQ(rec.pending_count(), 3u);
  ASSERT_TRUE(rec.Flush().ok());
  EXPECT_EQ(db.record_calls, 1);
  EXPECT_EQ(rec.pending_count(), 0u);
  db::MissingSymbolHit h;
  h.debug_file = "a.pdb";
  h.debug_id = "AA";
  h.filename = "a.sym";
  ASSERT_EQ(db.missing.count(db::MissingSymbolHash(h)), 1u);
  EXPECT_EQ(db.missing[db::MissingSymbolHash(h)].count, 2);
  ASSERT_TRUE(rec.Flush().ok());
  EXPECT_EQ(db.record_calls, 1) << "nothing pending: no database call";
}

TEST(MissingRecorderTest, FailedFlushKeepsCounts) {
  testing::FakeDb db;
  MissingSymbolsRecorder rec(db, milliseconds(60000));
  db.fail_record = true;
  rec.Record("a.pdb", "AA", "a.sym", "", "");
  EXPECT_FALSE(rec.Flush().ok());
  rec.Record("a.pdb", "AA", "a.sym", "", "");
  EXPECT_FALSE(rec.Flush().ok());
  EXPECT_EQ(rec.pending_count(), 2u);
  EXPECT_EQ(rec.failed_flushes(), 2u);
  db.fail_record = false;
  ASSERT_TRUE(rec.Flush().ok());
  EXPECT_EQ(db.TotalMissing(), 2);
}

TEST(MissingRecorderTest, BackgroundFlushHappens) {
  testing::FakeDb db;
  MissingSymbolsRecorder rec(db, milliseconds(20));
  rec.Record("a.pdb", "AA", "a.sym", "", "");
  for (int i = 0; i < 200 && db.TotalMissing() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(db.TotalMissing(), 1);
}

TEST(MissingRecorderTest, LongFieldsAndControlCharactersAreNotRecorded) {
  testing::FakeDb db;
  MissingSymbolsRecorder rec(db, milliseconds(60000));
  std::string ok150(150, 'a'), long151(151, 'a');
  EXPECT_TRUE(rec.Record(ok150, "AA", "a.sym", "", ""));
  EXPECT_FALSE(rec.Record(long151, "AA", "a.sym", "", ""));
  EXPECT_FALSE(rec.Record("a.pdb", "AA", "a.sym", long151, ""));
  EXPECT_FALSE(rec.Record("a.pdb", "AA", "a.sym", "", long151));
  EXPECT_FALSE(rec.Record("a.pdb", "AA", "a.sym", "x\ny", ""));
  EXPECT_EQ(rec.pending_count(), 1u);
}

TEST(MissingRecorderTest, PendingKeyLimitDropsNewSymbolsOnly) {
  testing::FakeDb db;
  MissingSymbolsRecorder rec(db, milliseconds(60000), /*max_pending_keys=*/3);
  for (int i = 0; i < 5; ++i) rec.Record("m" + std::to_string(i), "AA", "a.sym", "", "");
  EXPECT_EQ(rec.dropped(), 2u);
  EXPECT_TRUE(rec.Record("m0", "AA", "a.sym", "", "")) << "a pending symbol keeps counting";
  ASSERT_TRUE(rec.Flush().ok());
  EXPECT_EQ(db.TotalMissing(), 4);
  EXPECT_TRUE(rec.Record("m4", "AA", "a.sym", "", "")) << "room again after a flush";
}

}  // namespace
}  // namespace sigil::download
