#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace sigil {
namespace {

TEST(MetricsTest, CountersWithLabels) {
  Metrics m;
  auto& family = m.AddCounter("http_requests_total", "Requests.", {"route", "status"});
  Counter& ok = family.WithLabels({"download", "200"});
  Counter& missing = family.WithLabels({"download", "404"});
  ok.Inc();
  ok.Inc(4);
  missing.Inc();
  EXPECT_EQ(&family.WithLabels({"download", "200"}), &ok);  // stable handle
  EXPECT_EQ(ok.Value(), 5u);
  EXPECT_EQ(m.RenderPrometheus(),
            "# HELP http_requests_total Requests.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{route=\"download\",status=\"200\"} 5\n"
            "http_requests_total{route=\"download\",status=\"404\"} 1\n");
}

TEST(MetricsTest, ReRegisteringReturnsTheSameFamily) {
  Metrics m;
  auto& a = m.AddCounter("x_total", "X.", {"l"});
  auto& b = m.AddCounter("x_total", "X.", {"l"});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsDeathTest, ConflictingRegistrationAborts) {
  Metrics m;
  m.AddCounter("x_total", "X.", {"l"});
  EXPECT_DEATH(m.AddGauge("x_total", "X.", {"l"}), "different kind");
  EXPECT_DEATH(m.AddCounter("x_total", "X.", {"other"}), "different kind or labels");
  EXPECT_DEATH(m.AddCounter("bad name", "X."), "invalid metric name");
  EXPECT_DEATH(m.AddCounter("y_total", "Y.", {"__reserved"}), "invalid label name");
  auto& f = m.AddCounter("z_total", "Z.", {"a", "b"});
  EXPECT_DEATH(f.WithLabels({"only-one"}), "label values");
}

TEST(MetricsTest, GaugesAndEscaping) {
  Metrics m;
  auto& g = m.AddGauge("temperature", "Line one\nline \\two.", {"where"});
  g.WithLabels({"a\"b\\c\nd"}).Set(1.5);
  Gauge& plain = m.AddGauge("level", "Level.").Get();
  plain.Add(3);
  plain.Sub(0.5);
  EXPECT_DOUBLE_EQ(plain.Value(), 2.5);
  EXPECT_EQ(m.RenderPrometheus(),
            "# HELP level Level.\n"
            "# TYPE level gauge\n"
            "level 2.5\n"
            "# HELP temperature Line one\\nline \\\\two.\n"
            "# TYPE temperature gauge\n"
            "temperature{where=\"a\\\"b\\\\c\\nd\"} 1.5\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics m;
  auto& h = m.AddHistogram("latency_seconds", "Latency.", {"route"}, {0.1, 1, 0.5});
  Histogram& d = h.WithLabels({"download"});
  d.Observe(0.05);
  d.Observe(0.1);  // le is inclusive
  d.Observe(0.3);
  d.Observe(2);
  EXPECT_EQ(m.RenderPrometheus(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{route=\"download\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{route=\"download\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{route=\"download\",le=\"1\"} 3\n"
            "latency_seconds_bucket{route=\"download\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{route=\"download\"} 2.45\n"
            "latency_seconds_count{route=\"download\"} 4\n");
}

TEST(MetricsTest, CallbackGaugesLiveAsLongAsTheirRegistration) {
  Metrics m;
  double depth = 7;
  {
    Metrics::CallbackRegistration reg =
        m.AddCallbackGauge("queue_depth", "Depth.", {{"pool", "worker"}}, [&] { return depth; });
    Metrics::CallbackRegistration reg2 =
        m.AddCallbackGauge("queue_depth", "Depth.", {{"pool", "worker"}}, [] { return 1.0; });
    EXPECT_EQ(m.RenderPrometheus(),
              "# HELP queue_depth Depth.\n"
              "# TYPE queue_depth gauge\n"
              "queue_depth{pool=\"worker\"} 8\n");
    Metrics::CallbackRegistration moved = std::move(reg2);
    depth = 2;
    moved.Reset();
    EXPECT_NE(m.RenderPrometheus().find("queue_depth{pool=\"worker\"} 2\n"), std::string::npos);
  }
  EXPECT_EQ(m.RenderPrometheus(), "");
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Metrics m;
  Counter& c = m.AddCounter("c_total", "C.").Get();
  Histogram& h = m.AddHistogram("h", "H.", {}, {1}).Get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        h.Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.Value(), 80000u);
  Histogram::Snapshot snap = h.Collect();
  EXPECT_EQ(snap.count, 80000u);
  EXPECT_DOUBLE_EQ(snap.sum, 40000);
}

}  // namespace
}  // namespace sigil
