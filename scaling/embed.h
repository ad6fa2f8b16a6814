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
