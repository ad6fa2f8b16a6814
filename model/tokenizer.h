// Tokenizers read from a Hugging Face tokenizer.json: byte-level BPE (Llama 3,
// Qwen2/3: pre-tokenizer regex from the file, run with PCRE2; ranked merges;
// added and special tokens matched in raw text first) and WordLevel (the
// PersonaWorld vocabulary). Pure C++, no tensors.
//
// Not here: chat templates (model/chat_template.h), model code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgenrm::model {

class Tokenizer {
 public:
  // Throws pgenrm::Error naming the file and what is unsupported or malformed.
  static Tokenizer from_file(const std::string& path);
  static Tokenizer from_json(const std::string& json_text, const std::string& source_name);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Ids for `text`. add_special = apply the file's post-processor template
  // (e.g. Llama 3's <|begin_of_text|>); added tokens written in the text are
  // always matched, as Hugging Face's encoder does.
  std::vector<int32_t> encode(std::string_view text, bool add_special = false) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  int64_t vocab_size() const;  // largest id + 1, added tokens included
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::string id_to_token(int32_t id) const;  // "" for an unknown id
  bool is_special(int32_t id) const;
  std::string model_type() const;  // "BPE" or "WordLevel"

  // How a WordLevel file splits text into words.
  //   kWhitespace      HF's Whitespace pre-tokenizer (\w+ and [^\w\s]+ runs);
  //                    whitespace is dropped and decode joins with spaces.
  //   kSpacePrefixed   a Split on kSpacePrefixedPattern: words and
  //                    punctuation runs keep one leading space, other
  //                    whitespace runs are tokens; the Fuse decoder
  //                    concatenates, so decode(encode(x)) == x for text in
  //                    the vocabulary (what a model that writes JSON needs).
  enum class WordSplit { kWhitespace, kSpacePrefixed };
  static constexpr const char* kSpacePrefixedPattern = " ?[A-Za-z0-9_]+| ?[^A-Za-z0-9_\\s]+|\\s+";

  // Writes a WordLevel tokenizer.json that Hugging Face's `tokenizers`
  // loads; `vocab` order gives the ids, the `special` tokens are appended
  // after it as added special tokens.
  static void write_word_level(const std::string& path, const std::vector<std::string>& vocab,
                               const std::string& unk_token,
                               const std::vector<std::string>& special,
                               WordSplit split = WordSplit::kWhitespace);

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgenrm::model
