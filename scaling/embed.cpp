#include "scaling/embed.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"
#include "model/generate.h"

namespace pgenrm::scaling {

namespace {
std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}
}  // namespace

std::string part1_text(const std::string& chain_text) {
  static const std::string kHeader = "PART 1: Preference Modeling";
  std::string s = chain_text;
  const auto p2 = s.find("PART 2");
  if (p2 != std::string::npos) s = s.substr(0, p2);
  const auto h = s.find(kHeader);
  if (h != std::string::npos) s = s.substr(h + kHeader.size());
  return trim(s);
}

std::string part1_field(const std::string& chain_text, const std::string& field) {
  std::string s = chain_text.substr(0, std::min(chain_text.size(), chain_text.find("PART 2")));
  size_t at = 0;
  for (;;) {  // the field must start a line (or the text)
    at = s.find(field, at);
    if (at == std::string::npos) return "";
    if (at == 0 || s[at - 1] == '\n') break;
    at += field.size();
  }
  const size_t b = at + field.size();
  const size_t e = s.find('\n', b);
  return trim(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
}

std::string criteria_text(const std::string& chain_text) {
  static const std::string kHead = "A. Evaluation Criteria & Weights:", kEnd = "B. Scoring Breakdown";
  const auto h = chain_text.find(kHead);
  if (h == std::string::npos) return "";
  const size_t b = h + kHead.size();
  const auto e = chain_text.find(kEnd, b);
  return trim(chain_text.substr(b, e == std::string::npos ? std::string::npos : e - b));
}

std::string to_string(AnalysisText t) {
  switch (t) {
    case AnalysisText::kPart1: return "part1";
    case AnalysisText::kPersona: return "persona";
    case AnalysisText::kCriteria: return "criteria";
    case AnalysisText::kPersonaCriteria: return "persona+criteria";
  }
  return "?";
}

AnalysisText parse_analysis_text(const std::string& name) {
  for (auto t : {AnalysisText::kPart1, AnalysisText::kPersona, AnalysisText::kCriteria,
                 AnalysisText::kPersonaCriteria})
    if (name == to_string(t)) return t;
  throw Error("unknown analysis text '" + name + "'", "use part1, persona, criteria or persona+criteria");
}

bool needs_part2(AnalysisText t) {
  return t == AnalysisText::kCriteria || t == AnalysisText::kPersonaCriteria;
}

std::string analysis_text(const std::string& chain_text, AnalysisText t) {
  std::string s;
  switch (t) {
    case AnalysisText::kPart1: return part1_text(chain_text);
    case AnalysisText::kPersona: s = part1_field(chain_text, "Persona:"); break;
    case AnalysisText::kCriteria: s = criteria_text(chain_text); break;
    case AnalysisText::kPersonaCriteria: {
      const std::string p = part1_field(chain_text, "Persona:"), c = criteria_text(chain_text);
      s = p.empty() || c.empty() ? p + c : p + "\n" + c;
      break;
    }
  }
  return s.empty() ? part1_text(chain_text) : s;
}

Embedder::Embedder(model::TransformerImpl& model, const model::Tokenizer& tok, int64_t bos, int64_t batch)
    : model_(model), tok_(tok), bos_(bos), batch_(std::max<int64_t>(1, batch)) {}

int64_t Embedder::dim() const { return model_.config().d_model; }

at::Tensor Embedder::embed(const std::vector<std::string>& texts) const {
  at::NoGradGuard no_grad;
  const bool was_training = model_.is_training();
  model_.eval();
  const auto device = model_.lm_head_weight().device();
  const int64_t max_len = model_.config().max_seq_len;
  std::vector<at::Tensor> out;
  for (size_t start = 0; start < texts.size(); start += batch_) {
    const size_t end = std::min(texts.size(), start + static_cast<size_t>(batch_));
    std::vector<std::vector<int64_t>> ids;
    for (size_t i = start; i < end; ++i) {
      std::vector<int64_t> row;
      if (bos_ >= 0) row.push_back(bos_);
      for (int32_t t : tok_.encode(texts[i])) row.push_back(t);
      if (static_cast<int64_t>(row.size()) > max_len) row.resize(max_len);
      if (row.empty()) row.push_back(0);  // no BOS and no text: token 0 stands in
      ids.push_back(std::move(row));
    }
    at::Tensor ids_BT, keep_BT;
    model::left_pad(ids, 0, &ids_BT, &keep_BT);
    at::Tensor keep_dev = keep_BT.to(device);
    at::Tensor h = model_.hidden(ids_BT.to(device), keep_dev).to(at::kFloat);  // [B,T,C]
    at::Tensor m = keep_dev.to(at::kFloat).unsqueeze(-1);
    at::Tensor mean = (h * m).sum(1) / m.sum(1).clamp_min(1.0);
    out.push_back(mean.to(at::kCPU));
  }
  model_.train(was_training);
  if (out.empty()) return at::zeros({0, dim()}, at::kFloat);
  at::Tensor e = at::cat(out, 0);
  return e / e.norm(2, 1, true).clamp_min(1e-12);
}

}  // namespace pgenrm::scaling
