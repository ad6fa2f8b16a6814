// `pgenrm tokenize`: a filter over stdin, one line in, one line out, so other
// tools (and people) can check ids against Hugging Face's.
//   encode (default): each line's bytes, without its '\n', become a compact
//     JSON array of ids, e.g. [128000,9906]; a '\r' before the '\n' is part
//     of the text. --add-special applies the file's post-processor.
//   --decode: each line is a JSON array of ids; prints the decoded bytes and
//     '\n' (a decoded '\n' is printed as is). --skip-special drops special
//     tokens.
// A malformed line stops the run with a message naming its line number and
// exit code 2. Output is flushed per line so a co-process can read answers.
//
// Not here: batching, offsets, chat templates.
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "launch/cli.h"
#include "launch/commands.h"
#include "model/tokenizer.h"

namespace pgenrm::launch {

namespace {

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

// The ids of one --decode line; an error names what is wrong with it.
std::vector<int32_t> parse_ids(const std::string& line, int64_t vocab_size) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) throw Error("expected a JSON array of token ids, e.g. [9906,1917]");
  std::vector<int32_t> ids;
  for (const auto& v : j) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= vocab_size)
      throw Error("'" + v.dump() + "' is not a token id (0.." + std::to_string(vocab_size - 1) +
                  ")");
    ids.push_back(v.get<int32_t>());
  }
  return ids;
}

int run_filter(const model::Tokenizer& tok, const TokenizeArgs& args) {
  std::string line;
  for (int64_t line_no = 1; std::getline(std::cin, line); ++line_no) {
    try {
      if (args.decode) {
        std::cout << tok.decode(parse_ids(line, tok.vocab_size()), args.skip_special) << '\n';
      } else {
        std::cout << ids_json(tok.encode(line, args.add_special)) << '\n';
      }
    } catch (const Error& e) {
      std::cerr << "pgenrm tokenize: stdin line " << line_no << ": " << e.what() << "\n";
      return kExitUsage;
    }
    std::cout.flush();
  }
  return kExitOk;
}

}  // namespace

int cmd_tokenize(const TokenizeArgs& args) {
  std::optional<model::Tokenizer> tok;
  try {
    tok.emplace(model::Tokenizer::from_file(args.tokenizer));
  } catch (const Error& e) {
    std::cerr << "pgenrm tokenize: " << e.what() << "\n";
    return kExitUsage;
  }
  if (args.skip_special && !args.decode)
    std::cerr << "pgenrm tokenize: --skip-special only applies with --decode; ignored\n";
  return run_filter(*tok, args);
}

}  // namespace pgenrm::launch
