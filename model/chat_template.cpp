// Renders Llama 3 and ChatML conversations; see chat_template.h for exactly
// which upstream templates these are and what they leave out.
#include "model/chat_template.h"

#include "core/error.h"

namespace pgenrm::model {

namespace {

// Python's str.isspace() set in UTF-8, which Jinja's `trim` (str.strip())
// removes: ASCII \t\n\v\f\r, \x1c-\x1f and space, plus Unicode whitespace.
size_t whitespace_at(const std::string& s, size_t i) {
  const auto u = [&](size_t k) {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  const unsigned char c = u(0);
  if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20)) return 1;
  if (c == 0xC2 && (u(1) == 0x85 || u(1) == 0xA0)) return 2;  // U+0085, U+00A0
  if (c == 0xE1 && u(1) == 0x9A && u(2) == 0x80) return 3;    // U+1680
  if (c == 0xE2 && u(1) == 0x80 && (u(2) <= 0x8A || u(2) == 0xA8 || u(2) == 0xA9 || u(2) == 0xAF))
    return 3;                                               // U+2000-200A, 2028, 2029, 202F
  if (c == 0xE2 && u(1) == 0x81 && u(2) == 0x9F) return 3;  // U+205F
  if (c == 0xE3 && u(1) == 0x80 && u(2) == 0x80) return 3;  // U+3000
  return 0;
}

std::string trim(const std::string& s) {
  size_t begin = 0;
  while (size_t n = whitespace_at(s, begin)) begin += n;
  size_t end = begin;  // one past the last non-whitespace character
  for (size_t i = begin; i < s.size();) {
    size_t n = whitespace_at(s, i);
    if (n == 0) {
      ++i;
      while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
      end = i;
    } else {
      i += n;
    }
  }
  return s.substr(begin, end - begin);
}

std::string render_llama3(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i == 0) out += "<|begin_of_text|>";
    out += "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n" +
           trim(messages[i].content) + "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages)
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace

std::string render_chat(ChatTemplate kind, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  return kind == ChatTemplate::kLlama3 ? render_llama3(messages, add_generation_prompt)
                                       : render_chatml(messages, add_generation_prompt);
}

ChatTemplate parse_chat_template(const std::string& name) {
  if (name == "llama3") return ChatTemplate::kLlama3;
  if (name == "chatml") return ChatTemplate::kChatML;
  throw Error("unknown chat template '" + name + "'",
              "use \"llama3\" (Llama 3 / 3.1 models) or \"chatml\" (Qwen2/Qwen3 models)");
}

std::string chat_template_name(ChatTemplate kind) {
  return kind == ChatTemplate::kLlama3 ? "llama3" : "chatml";
}

}  // namespace pgenrm::model
