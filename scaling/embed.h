// Text embeddings for prototypes (DESIGN.md §7): the mean over real tokens
// of a decoder's final hidden states, L2-normalised. The embedding model is
// any HF-format decoder (scaling.embed_model), by default the reward model's
// own backbone. Also: the Part-1 analysis of a chain, the text that is
// embedded for a user.
//
// Not here: which chains are generated for the analysis (scaling/build.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "model/tokenizer.h"
#include "model/transformer.h"

namespace pgenrm::scaling {

// The Part-1 analysis of a chain: the text after "PART 1: Preference
// Modeling" and before "PART 2" (both trimmed; a chain cut off before PART 2
// keeps what it wrote). A chain without the PART 1 header gives its text up
// to PART 2, so a malformed chain still yields something to embed.
std::string part1_text(const std::string& chain_text);

// One line of Part 1: the text after `field` (e.g. "Persona:") up to the
// end of its line, trimmed; "" when the chain has no such line before
// PART 2.
std::string part1_field(const std::string& chain_text, const std::string& field);

// Part 2's criteria and weights: the text after "A. Evaluation Criteria &
// Weights:" up to "B. Scoring Breakdown" (or the end of the chain),
// trimmed, e.g. "1. warmth (60%) 2. depth (20%) 3. formality (20%)"; ""
// when the chain has no such section.
std::string criteria_text(const std::string& chain_text);

// What of a user's chain is embedded for retrieval (DESIGN.md §7 says "the
// Part-1 analysis"; which part of it carries the user is measured in
// docs/RESULTS.md):
//   kPart1            all of Part 1 (Persona, Scenario, Criteria derivation)
//   kPersona          the Persona line only
//   kCriteria         Part 2's criteria and weights only
//   kPersonaCriteria  the Persona line, a newline, the criteria and weights
enum class AnalysisText { kPart1, kPersona, kCriteria, kPersonaCriteria };
// "part1", "persona", "criteria", "persona+criteria"; parse throws on another.
std::string to_string(AnalysisText t);
AnalysisText parse_analysis_text(const std::string& name);
// Whether the selection needs Part 2 (the chain must not stop at "PART 2").
bool needs_part2(AnalysisText t);
// The text of `chain_text` that `t` selects. A selection that finds nothing
// (a malformed chain) falls back to part1_text, so something is embedded.
std::string analysis_text(const std::string& chain_text, AnalysisText t);

class Embedder {
 public:
  // `model` and `tok` must outlive the embedder. `bos` < 0: no BOS token.
  // Texts longer than the model's context keep their first tokens.
  Embedder(model::TransformerImpl& model, const model::Tokenizer& tok, int64_t bos, int64_t batch);

  // [N, C] float32 on CPU, each row of unit L2 norm (an empty text embeds
  // the BOS token alone; with no BOS, token 0).
  at::Tensor embed(const std::vector<std::string>& texts) const;
  int64_t dim() const;

 private:
  model::TransformerImpl& model_;
  const model::Tokenizer& tok_;
  int64_t bos_, batch_;
};

}  // namespace pgenrm::scaling
