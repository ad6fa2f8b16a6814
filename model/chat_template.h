// Chat templates, rendered to the exact text Hugging Face transformers'
// apply_chat_template produces for plain system/user/assistant messages:
//
//   kLlama3 — the Llama 3 template shipped in the Llama 3.1 tokenizer_config
//     of ../shared/tokenizers: <|begin_of_text|> once, then per message
//     <|start_header_id|>{role}<|end_header_id|>\n\n{content, trimmed}<|eot_id|>;
//     generation prompt <|start_header_id|>assistant<|end_header_id|>\n\n.
//     Deliberately NOT Llama 3.1's Meta template, which injects a system
//     header with "Cutting Knowledge Date" and today's date: that makes the
//     prompt depend on the day it is rendered, which breaks reproducible
//     rollouts and caching of prompt prefixes.
//   kChatML — Qwen's ChatML: <|im_start|>{role}\n{content}<|im_end|>\n per
//     message; generation prompt <|im_start|>assistant\n. Content is kept
//     verbatim. Deliberately not the Qwen3 extras: no <think>...</think>
//     block is inserted into or stripped from assistant turns after the last
//     user turn, and there is no tool-call rendering; a Qwen3 model trained
//     with this project sees plain ChatML in training and at inference alike.
//
// Not here: tokenization (model/tokenizer.h) and prompt wording (data/).
#pragma once

#include <string>
#include <vector>

namespace pgenrm::model {

enum class ChatTemplate { kLlama3, kChatML };

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (any role is rendered as given)
  std::string content;
};

// add_generation_prompt appends the header that makes the model answer as
// the assistant.
std::string render_chat(ChatTemplate kind, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt);

// "llama3" or "chatml"; throws pgenrm::Error naming the accepted names.
ChatTemplate parse_chat_template(const std::string& name);
std::string chat_template_name(ChatTemplate kind);

}  // namespace pgenrm::model
