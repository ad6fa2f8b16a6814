// `pgenrm data stats|validate|convert|rank` as a user meets them: exit codes,
// the report's counts and file:line messages, --strict, and a converted
// directory that data::read_dataset reads.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "data/io.h"
#include "tests/data/helpers.h"
#include "tests/data/real_helpers.h"

namespace pgenrm::data {
namespace {

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

Result run(const std::string& args) {
  const std::string cmd = std::string(PGENRM_BINARY_DIR) + "/bin/pgenrm " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

using testing::fixture;

bool has(const Result& r, const std::string& s) { return r.out.find(s) != std::string::npos; }

TEST(DataCli, StatsReportsPairsFilteredAndPerUserCounts) {
  const Result r = run("data stats --format prism " + fixture("prism"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r, "pairs: 8 (train 8, val 0, test 0)")) << r.out;
  EXPECT_TRUE(has(r, "users: 4 (3 with pairs, 2 with stated criteria")) << r.out;
  EXPECT_TRUE(has(r, "score_gap_below_10: 4")) << r.out;
  EXPECT_TRUE(has(r, "pairs per user: min 1, median 1, mean 2.66667, max 6")) << r.out;
}

TEST(DataCli, ValidateListsBadRowsWithFileLineAndFails) {
  Result r = run("data validate --format prism " + fixture("prism_bad"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(has(r, "prism_bad/conversations.jsonl:3: missing key \"conversation_history\"")) << r.out;
  EXPECT_TRUE(has(r, "duplicate_id: 2")) << r.out;
  EXPECT_TRUE(has(r, "invalid: 7 bad rows")) << r.out;
  r = run("data validate --format arena " + fixture("arena"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r, "valid: no bad rows")) << r.out;
  EXPECT_TRUE(has(r, "tie: 1")) << r.out;
}

TEST(DataCli, StrictStopsAtTheFirstBadRow) {
  const Result r = run("data stats --strict --format prb " + fixture("prb_bad"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(has(r, "prb_bad/rows.jsonl:2: not valid JSON")) << r.out;
  EXPECT_TRUE(has(r, "[malformed_json]")) << r.out;
  EXPECT_FALSE(has(r, "rows.jsonl:3")) << "strict must stop at the first bad row: " << r.out;
}

TEST(DataCli, ConvertWritesADirectoryReadDatasetReads) {
  const std::string dir = testing::temp_dir("cli_convert_prb");
  const Result r = run("data convert --format prb " + fixture("prb") + " --out " + dir);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r, "test items: 3 (h = 3, 1 with an empty history)")) << r.out;
  const Dataset ds = read_dataset(dir);
  EXPECT_EQ(ds.pairs.size(), 8u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/prb_test.jsonl"));
  EXPECT_EQ(run("data convert --format arena " + fixture("arena")).code, 2);  // no --out
}

TEST(DataCli, RankReportsSpearmanAgainstTheGroundTruth) {
  const Result r = run("data rank --format lampqa " + fixture("lampqa/Art_and_Entertainment.json") +
                       " --candidates " + fixture("lampqa/candidates.jsonl"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(has(r, "Spearman rho mean 0.75 over 2 of 3 rows (0 undefined, 1 with an unknown id)")) << r.out;
}

TEST(DataCli, MissingFormatOrPathsIsAUsageError) {
  EXPECT_EQ(run("data stats " + fixture("prism")).code, 2);
  EXPECT_EQ(run("data stats --format prism").code, 2);
  EXPECT_EQ(run("data stats --format csv " + fixture("prism")).code, 2);
}

}  // namespace
}  // namespace pgenrm::data
