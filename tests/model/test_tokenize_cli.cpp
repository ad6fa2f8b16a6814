// `pgenrm tokenize` (launch/cmd_tokenize.cpp) as a filter: stdin and stdout
// are swapped for string streams, the real Llama 3.1 file does the work.
// Parity of the ids themselves is test_tokenizer.cpp's job.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "launch/cli.h"
#include "launch/commands.h"

namespace pgenrm::launch {
namespace {

struct Result {
  int code;
  std::string out, err;
};

Result run(const std::string& input, TokenizeArgs args) {
  if (args.tokenizer.empty())
    args.tokenizer = std::string(PGENRM_SHARED_DIR) + "/tokenizers/llama3_1/tokenizer.json";
  std::istringstream in(input);
  std::ostringstream out, err;
  auto* old_in = std::cin.rdbuf(in.rdbuf());
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int code = cmd_tokenize(args);
  std::cin.rdbuf(old_in);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {code, out.str(), err.str()};
}

TEST(TokenizeCli, EncodesEachLine) {
  const Result r = run("Hello world\n\n<|eot_id|>\n", {});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "[9906,1917]\n[]\n[128009]\n");
}

TEST(TokenizeCli, AddSpecialAppliesThePostProcessor) {
  TokenizeArgs args;
  args.add_special = true;
  EXPECT_EQ(run("Hello world", args).out, "[128000,9906,1917]\n");
}

TEST(TokenizeCli, DecodesAndSkipsSpecial) {
  TokenizeArgs args;
  args.decode = true;
  EXPECT_EQ(run("[128000,9906,1917]\n[]\n", args).out, "<|begin_of_text|>Hello world\n\n");
  args.skip_special = true;
  EXPECT_EQ(run("[128000,9906,1917]\n", args).out, "Hello world\n");
}

TEST(TokenizeCli, MalformedLineNamesItsNumber) {
  TokenizeArgs args;
  args.decode = true;
  for (const std::string bad : {"[1,2", "{\"a\":1}", "[1,\"x\"]", "[-1]", "[999999999]", "[1.5]"}) {
    const Result r = run("[9906]\n[1917]\n" + bad + "\n[9906]\n", args);
    EXPECT_EQ(r.code, kExitUsage) << bad;
    EXPECT_NE(r.err.find("stdin line 3"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "Hello\n world\n") << bad;  // lines before the bad one were answered
  }
}

TEST(TokenizeCli, BadTokenizerFileIsAUsageError) {
  TokenizeArgs args;
  args.tokenizer = std::string(PGENRM_SOURCE_DIR) + "/tests/model/tokenizer_corpus.txt";
  const Result r = run("x\n", args);
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("malformed JSON"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pgenrm::launch
