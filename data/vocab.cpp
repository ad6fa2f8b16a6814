// Vocabulary collection for the world's WordLevel tokenizer.
#include "data/vocab.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/error.h"
#include "model/tokenizer.h"

namespace pgenrm::data {

namespace {

bool is_word(unsigned char c) { return std::isalnum(c) || c == '_'; }
bool is_space(unsigned char c) {
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// One segment without special tokens, split as kSpacePrefixedPattern
// (" ?[A-Za-z0-9_]+| ?[^A-Za-z0-9_\s]+|\s+") splits it, leftmost-first.
void split_plain(std::string_view text, std::vector<std::string>* out) {
  size_t i = 0;
  auto run = [&](size_t j, bool word) {
    while (j < text.size() && !is_space(static_cast<unsigned char>(text[j])) &&
           is_word(static_cast<unsigned char>(text[j])) == word)
      ++j;
    return j;
  };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80)
      throw Error("non-ASCII byte in PersonaWorld text: '" + std::string(text.substr(i, 16)) + "'",
                  "the world's lexicon and templates must stay ASCII");
    size_t j;
    if (c == ' ' && i + 1 < text.size() && !is_space(static_cast<unsigned char>(text[i + 1]))) {
      j = run(i + 1, is_word(static_cast<unsigned char>(text[i + 1])));  // " word" / " ,."
    } else if (is_space(c)) {
      j = i;
      while (j < text.size() && is_space(static_cast<unsigned char>(text[j]))) ++j;
    } else {
      j = run(i, is_word(c));
    }
    out->emplace_back(text.substr(i, j - i));
    i = j;
  }
}

}  // namespace

const std::vector<std::string>& world_special_tokens() {
  static const std::vector<std::string> kSpecial = {"<pad>",        "<unk>",        "<bos>",
                                                    "<eos>",        "<|im_start|>", "<|im_end|>",
                                                    "<JSON_START>", "<JSON_END>"};
  return kSpecial;
}

std::vector<std::string> pretokenize(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t best = std::string_view::npos, len = 0;
    for (const auto& sp : world_special_tokens())
      if (size_t at = text.find(sp); at < best) best = at, len = sp.size();
    split_plain(text.substr(0, best), &out);
    if (best == std::string_view::npos) break;
    out.emplace_back(text.substr(best, len));
    text.remove_prefix(best + len);
  }
  return out;
}

VocabBuilder::VocabBuilder() {
  for (int i = 0; i <= 100; ++i) {
    words_.insert(std::to_string(i));
    words_.insert(" " + std::to_string(i));
  }
  for (int i = 0; i < 10; ++i) words_.insert("0" + std::to_string(i));  // "6.05"
  for (const char* w : {"system", "user", "assistant"}) add_word(w);
}

void VocabBuilder::add_word(std::string_view word) {
  add_text(word);
  add_text(" " + std::string(word));
}

void VocabBuilder::add_text(std::string_view text) {
  for (auto& t : pretokenize(text)) words_.insert(std::move(t));
}

std::vector<std::string> VocabBuilder::tokens() const {
  const auto& special = world_special_tokens();
  std::vector<std::string> out = special;
  for (const auto& w : words_)
    if (std::find(special.begin(), special.end(), w) == special.end()) out.push_back(w);
  return out;
}

void VocabBuilder::write(const std::string& path) const {
  model::Tokenizer::write_word_level(path, tokens(), "<unk>", world_special_tokens(),
                                     model::Tokenizer::WordSplit::kSpacePrefixed);
}

}  // namespace pgenrm::data
