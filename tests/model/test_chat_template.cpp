// Chat templates against transformers' apply_chat_template (through
// tools/ref_tokenize.py chat): Llama 3 with the template in
// ../shared/tokenizers/llama3_1/tokenizer_config.json; ChatML with the
// canonical ChatML template on every case and with Qwen3's own template on
// the cases where Qwen3 renders plain ChatML (no assistant turn after the
// last user turn: Qwen3 adds an empty <think> block there, by design not
// reproduced; see model/chat_template.h). A few literal strings pin the
// format even if the reference changed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "model/chat_template.h"

namespace pgenrm::model {
namespace {

using Json = nlohmann::json;
using Messages = std::vector<ChatMessage>;

struct Case {
  Messages messages;
  bool add_generation_prompt;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {{{"user", "Hello!"}}, true},
      {{{"system", "You are a careful judge."}, {"user", "Which response is better?"}}, true},
      {{{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello! How can I help?"}}, false},
      {{{"system", "S"}, {"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"}}, true},
      {{{"user", "  padded both sides \n\n"}, {"assistant", "\tanswer\t"}, {"user", "\n"}}, true},
      {{{"user", "\u3000ideographic and nbsp\u00a0"},
        {"assistant", "\x1c separator \x1f"},
        {"user", "x"}},
       true},
      {{{"user", "text with <|eot_id|> and <|im_end|> inside"}}, true},
      {{{"user", ""}, {"assistant", ""}, {"user", "empty before"}}, false},
      {{{"user", "中文、日本語、한국어 and emoji 👨‍👩‍👧"},
        {"assistant", "ok 👍"},
        {"user", "more"}},
       true},
      {{{"user", "line one\nline two\n\nline four"}}, false},
      {{{"assistant", "an assistant turn first"}, {"user", "then a user"}}, true},
  };
  return all;
}

// Qwen3's template renders ChatML exactly when no assistant turn follows the
// last user turn.
bool qwen3_plain(const Case& c) { return !c.messages.empty() && c.messages.back().role == "user"; }

Json cases_json(const std::string& template_name, bool only_qwen3_plain) {
  Json out = Json::array();
  for (const Case& c : cases()) {
    if (only_qwen3_plain && !qwen3_plain(c)) continue;
    Json messages = Json::array();
    for (const auto& m : c.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    out.push_back({{"messages", messages},
                   {"add_generation_prompt", c.add_generation_prompt},
                   {"template", template_name.empty() ? Json() : Json(template_name)}});
  }
  return out;
}

std::vector<std::string> reference(const std::string& model, const Json& cases_in) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("pgenrm_chat_" + std::to_string(getpid()) + ".json"))
                               .string();
  std::ofstream(path) << cases_in.dump();
  const std::string cmd = std::string("'") + PGENRM_PYTHON + "' '" + PGENRM_SOURCE_DIR +
                          "/tools/ref_tokenize.py' chat '" + PGENRM_SHARED_DIR + "/tokenizers/" +
                          model + "' '" + path + "'";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  std::filesystem::remove(path);
  if (status != 0) throw std::runtime_error("reference failed: " + cmd);
  std::vector<std::string> rendered;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    rendered.push_back(Json::parse(line).get<std::string>());
  return rendered;
}

void expect_matches(ChatTemplate kind, const std::string& model, const std::string& template_name,
                    bool only_qwen3_plain) {
  const auto ref = reference(model, cases_json(template_name, only_qwen3_plain));
  size_t k = 0;
  for (size_t i = 0; i < cases().size(); ++i) {
    const Case& c = cases()[i];
    if (only_qwen3_plain && !qwen3_plain(c)) continue;
    ASSERT_LT(k, ref.size());
    EXPECT_EQ(render_chat(kind, c.messages, c.add_generation_prompt), ref[k++]) << "case " << i;
  }
  EXPECT_EQ(k, ref.size());
}

TEST(ChatTemplate, Llama3MatchesTransformers) {
  expect_matches(ChatTemplate::kLlama3, "llama3_1", "", /*only_qwen3_plain=*/false);
}

TEST(ChatTemplate, ChatMLMatchesTransformersCanonicalChatML) {
  expect_matches(ChatTemplate::kChatML, "qwen3", "chatml", /*only_qwen3_plain=*/false);
}

TEST(ChatTemplate, ChatMLMatchesQwen3TemplateForPrompts) {
  expect_matches(ChatTemplate::kChatML, "qwen3", "", /*only_qwen3_plain=*/true);
}

TEST(ChatTemplate, LiteralFormats) {
  const Messages m = {{"system", "S"}, {"user", " U "}, {"assistant", "A"}};
  EXPECT_EQ(render_chat(ChatTemplate::kLlama3, m, true),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nA<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(ChatTemplate::kChatML, m, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n U <|im_end|>\n"
            "<|im_start|>assistant\nA<|im_end|>\n");
  EXPECT_EQ(render_chat(ChatTemplate::kChatML, {}, true), "<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatTemplate::kLlama3, {}, true),
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, ParseNames) {
  EXPECT_EQ(parse_chat_template("llama3"), ChatTemplate::kLlama3);
  EXPECT_EQ(parse_chat_template("chatml"), ChatTemplate::kChatML);
  EXPECT_EQ(chat_template_name(ChatTemplate::kChatML), "chatml");
  try {
    parse_chat_template("qwen");
    FAIL() << "expected pgenrm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown chat template 'qwen'"), std::string::npos);
    EXPECT_NE(e.hint().find("chatml"), std::string::npos);
  }
}

}  // namespace
}  // namespace pgenrm::model
