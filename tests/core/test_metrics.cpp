#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/metrics.h"

TEST(Metrics, OneJsonObjectPerStepAppendedAndNanAsNull) {
  auto path = (std::filesystem::temp_directory_path() / "pgenrm_metrics_test.jsonl").string();
  std::filesystem::remove(path);
  {
    pgenrm::core::MetricsWriter w(path);
    w.write(1, "sft", {{"loss", 2.5}, {"lr", 1e-4}});
    w.write(2, "sft", {{"loss", std::nan("")}});
  }
  {
    pgenrm::core::MetricsWriter w(path);  // a resumed run appends
    w.write(3, "cre", {{"reward_mean", 0.5}});
  }
  std::ifstream in(path);
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["step"], 1);
  EXPECT_EQ(rows[0]["stage"], "sft");
  EXPECT_DOUBLE_EQ(rows[0]["loss"].get<double>(), 2.5);
  EXPECT_TRUE(rows[1]["loss"].is_null());
  EXPECT_EQ(rows[2]["stage"], "cre");
}

TEST(Metrics, UnwritablePathIsAClearError) {
  try {
    pgenrm::core::MetricsWriter w("/nonexistent-dir/m.jsonl");
    FAIL();
  } catch (const pgenrm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open metrics file"), std::string::npos);
  }
}
