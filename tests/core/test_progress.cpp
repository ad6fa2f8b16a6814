#include <gtest/gtest.h>

#include "core/error.h"
#include "core/progress.h"

using pgenrm::core::Progress;
using pgenrm::core::ProgressMode;

TEST(Progress, DurationFormatting) {
  EXPECT_EQ(Progress::format_duration(5), "5s");
  EXPECT_EQ(Progress::format_duration(65), "1m05s");
  EXPECT_EQ(Progress::format_duration(3725), "1h02m");
  EXPECT_EQ(Progress::format_duration(-1), "?");
}

TEST(Progress, LineShowsCountRateAndEta) {
  Progress p("sft", 100, ProgressMode::kLines, 10, /*active=*/false);
  // 25 of 100 in 50 s: 0.5/s, 75 left -> 150 s.
  std::string s = p.line(25, 50.0, "loss 1.5");
  EXPECT_NE(s.find("sft 25/100 (25%)"), std::string::npos) << s;
  EXPECT_NE(s.find("0.50/s"), std::string::npos) << s;
  EXPECT_NE(s.find("eta 2m30s"), std::string::npos) << s;
  EXPECT_NE(s.find("| loss 1.5"), std::string::npos) << s;
  EXPECT_EQ(s.find('['), std::string::npos) << "no bar in line mode";
  Progress b("sft", 100, ProgressMode::kBar, 10, false);
  EXPECT_NE(b.line(50, 1.0, "").find("[############............]"), std::string::npos);
}

TEST(Progress, UnknownModeIsAnError) {
  EXPECT_THROW(pgenrm::core::parse_progress_mode("fancy"), pgenrm::Error);
}
