// The WordLevel vocabulary of a PersonaWorld directory: every token of the
// world's texts, prompts and teacher chains, split exactly as the
// tokenizer.json's space-prefixed pre-tokenizer splits
// (model::Tokenizer::kSpacePrefixedPattern: a word or punctuation run with at
// most one leading space, or a run of whitespace), plus special tokens and
// the numbers a model may write in a chain (0..100, with and without a
// leading space). The file's Fuse decoder concatenates tokens, so decoding
// what a model writes gives back exact text — newlines and spacing included
// — which the chain parser needs.
//
// Not here: encoding (model/tokenizer.h reads the file we write).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pgenrm::data {

// <pad> <unk> <bos> <eos>, the ChatML markers and the chain's JSON markers:
// added as special tokens, so each stays one id and decodes verbatim.
const std::vector<std::string>& world_special_tokens();

// The pieces the tokenizer's pre-tokenizer produces for ASCII `text`, after
// cutting out the special tokens (which the tokenizer matches first).
// Throws pgenrm::Error on non-ASCII text (the world's lexicon is ASCII).
std::vector<std::string> pretokenize(std::string_view text);

class VocabBuilder {
 public:
  VocabBuilder();  // starts with the numbers and role names
  void add_text(std::string_view text);
  // A lexicon entry: its tokens at the start of a text and after a space.
  void add_word(std::string_view word);
  // Sorted, specials first (<pad> = 0).
  std::vector<std::string> tokens() const;
  // Writes tokenizer.json through model::Tokenizer::write_word_level.
  void write(const std::string& path) const;

 private:
  std::set<std::string> words_;
};

}  // namespace pgenrm::data
