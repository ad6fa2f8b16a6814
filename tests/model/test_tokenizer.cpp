// Tokenizer parity with Hugging Face's `tokenizers` (run through
// tools/ref_tokenize.py in the venv): ids, ids with the post-processor, and
// decoded text, line by line over tests/model/tokenizer_corpus.txt, for the
// real Llama 3.1 and Qwen3 files, for variants of them that exercise the
// other supported components, and for WordLevel files we write. Also error
// messages, invalid UTF-8, very long inputs, and load/encode speed (printed,
// never asserted: this is a shared 2-core machine).
//
// The corpus format (escapes, comments) is documented at the top of the
// corpus file; unescape() below is its only reader. The reference helper
// gets the unescaped texts as JSON strings, so both sides see the same bytes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "model/tokenizer.h"

namespace pgenrm::model {
namespace {

using Json = nlohmann::json;
using Ids = std::vector<int32_t>;
namespace fs = std::filesystem;

std::string real_tokenizer(const std::string& name) {
  return std::string(PGENRM_SHARED_DIR) + "/tokenizers/" + name + "/tokenizer.json";
}

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("pgenrm_tok_" + std::to_string(getpid()) + "_" + name))
      .string();
}

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool hex_digits_at(const std::string& s, size_t pos, size_t n) {
  return n > 0 && pos + n <= s.size() &&
         std::all_of(s.begin() + pos, s.begin() + pos + n,
                     [](unsigned char c) { return std::isxdigit(c); });
}

// \n \t \r \\ \uXXXX \UXXXXXXXX; any other backslash stays as it is.
std::string unescape(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    const char next = i + 1 < line.size() ? line[i + 1] : '\0';
    const size_t hex = next == 'u' ? 4 : next == 'U' ? 8 : 0;
    if (line[i] != '\\' || next == '\0') {
      out += line[i];
    } else if (next == 'n' || next == 't' || next == 'r' || next == '\\') {
      out += next == 'n' ? '\n' : next == 't' ? '\t' : next == 'r' ? '\r' : '\\';
      ++i;
    } else if (hex_digits_at(line, i + 2, hex)) {
      append_utf8(&out, static_cast<uint32_t>(std::stoul(line.substr(i + 2, hex), nullptr, 16)));
      i += 1 + hex;
    } else {
      out += line[i];
    }
  }
  return out;
}

struct CorpusLine {
  int line_no;  // in the corpus file; <= 0 for generated texts
  std::string text;
};

// Random strings over pieces whose interplay is where implementations drift
// (space and mark classes, contractions after symbols, added-token fragments,
// Hangul jamo, characters NFC changes). The reference is computed on the
// same strings at run time, so only their variety matters.
std::vector<std::string> random_texts(int count) {
  // clang-format off
  static const std::vector<std::string> pieces = {
      "a", "Z", "z", "e", " ", "  ", "\t", "\n", "\r", "'s", "'S", "'LL", "'", "s", "t", "0", "12", "789",
      ".", ",", "!", "?", "-", "_", "<", ">", "|", "/", "\\", "\"", "\xc2\xa0", "\xe3\x80\x80",
      "\xe2\x80\xa8", "\xc2\x85", "\xe1\xa0\x8e", "\xe2\x80\x8b", "\xef\xbb\xbf", "\x1c",
      "\xcc\x81", "\xcc\xa3", "\xcc\x88", "\xcc\x8a", "\xe0\xa5\x98", "\xe2\x84\xa6",
      "\xe2\x84\xab", "\xe1\x84\x80", "\xe1\x85\xa1", "\xe1\x86\xa8", "\xea\xb0\x80",
      "\xe4\xb8\xad", "\xe6\x97\xa5", "\xed\x95\x9c", "\xf0\x9f\x98\x80", "\xe2\x80\x8d",
      "\xf0\x9f\x8f\xbd", "\xc5\xbf", "\xe2\x84\xaa", "\xc7\x85", "\xc4\xb0", "\xc3\x9f",
      "\xef\xac\x81", "\xd9\xa1", "\xc2\xb2", "\xe2\x85\xab", "\xe0\xb8\x81", "\xe0\xb9\x88",
      "\xc3\xa9", "<|eot_id|>", "<|im_start|>", "<|im_end|>", "<think>", "<|begin_of_text|>", "<|",
      "|>", " the", "ing"};
  // clang-format on
  std::mt19937 rng(20240517);
  std::vector<std::string> texts;
  for (int i = 0; i < count; ++i) {
    std::string t;
    for (int n = static_cast<int>(rng() % 40); n > 0; --n) t += pieces[rng() % pieces.size()];
    texts.push_back(t);
  }
  return texts;
}

const std::vector<CorpusLine>& corpus() {
  static const std::vector<CorpusLine> lines = [] {
    std::ifstream in(std::string(PGENRM_SOURCE_DIR) + "/tests/model/tokenizer_corpus.txt");
    std::vector<CorpusLine> out;
    std::string line;
    for (int no = 1; std::getline(in, line); ++no)
      if (!line.empty() && line.rfind("#|", 0) != 0) out.push_back({no, unescape(line)});
    // Long runs that no hand-written line has: they stress the regex
    // (backtracking in \s+(?!\S)) and the BPE merge loop.
    out.push_back({-1, std::string(20000, ' ') + "x"});
    out.push_back({-2, std::string(20000, 'a')});
    out.push_back({-3, std::string(5000, '\n') + "end"});
    std::string words;
    for (int i = 0; i < 2000; ++i) words += "word" + std::to_string(i) + (i % 7 ? " " : ",\n\t ");
    out.push_back({-4, words});
    int k = -5;
    for (auto& t : random_texts(400)) out.push_back({k--, std::move(t)});
    return out;
  }();
  return lines;
}

std::vector<std::string> corpus_texts() {
  std::vector<std::string> texts;
  for (const auto& c : corpus()) texts.push_back(c.text);
  return texts;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs the reference helper; its stdout, one JSON value per line.
std::vector<Json> run_reference(const std::string& args) {
  const std::string python = PGENRM_PYTHON;
  if (python.empty())
    throw std::runtime_error("PGENRM_PYTHON is empty: configure with -DPGENRM_PYTHON=");
  const std::string cmd = quote(python) + " " +
                          quote(std::string(PGENRM_SOURCE_DIR) + "/tools/ref_tokenize.py") + " " +
                          args;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe)) > 0;) out.append(buf, n);
  if (pclose(pipe) != 0) throw std::runtime_error("reference failed: " + cmd);
  std::vector<Json> values;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) values.push_back(Json::parse(line));
  return values;
}

std::string write_lines(const std::string& name, const std::vector<Json>& items) {
  const std::string path = temp_file(name);
  std::ofstream out(path);
  for (const Json& j : items) out << j.dump() << "\n";
  return path;
}

std::vector<Ids> reference_encode(const std::string& tokenizer,
                                  const std::vector<std::string>& texts, bool add_special) {
  const std::string input = write_lines("texts.jsonl", {texts.begin(), texts.end()});
  std::vector<Ids> ids;
  for (const Json& j : run_reference("encode " + quote(tokenizer) + " " + quote(input) +
                                     (add_special ? " --add-special" : "")))
    ids.push_back(j.get<Ids>());
  fs::remove(input);
  return ids;
}

std::vector<std::string> reference_decode(const std::string& tokenizer, const std::vector<Ids>& ids,
                                          bool skip_special) {
  std::vector<Json> items(ids.begin(), ids.end());
  const std::string input = write_lines("ids.jsonl", items);
  std::vector<std::string> texts;
  for (const Json& j : run_reference("decode " + quote(tokenizer) + " " + quote(input) +
                                     (skip_special ? " --skip-special" : "")))
    texts.push_back(j.get<std::string>());
  fs::remove(input);
  return texts;
}

std::string label(int line_no) {
  return line_no > 0 ? "corpus line " + std::to_string(line_no)
                     : "generated text " + std::to_string(-line_no);
}

// Every text encodes to the reference ids; stops after a few mismatches so a
// broken build does not print thousands of lines.
void expect_same_ids(const Tokenizer& tok, const std::string& path, bool add_special) {
  const auto texts = corpus_texts();
  const auto ref = reference_encode(path, texts, add_special);
  ASSERT_EQ(ref.size(), texts.size());
  int mismatches = 0;
  for (size_t i = 0; i < texts.size() && mismatches < 5; ++i) {
    const Ids ours = tok.encode(texts[i], add_special);
    if (ours != ref[i]) ++mismatches;
    EXPECT_EQ(ours, ref[i]) << label(corpus()[i].line_no) << ": " << texts[i].substr(0, 200);
  }
}

// ------------------------------------------------------- real tokenizers ----

class RealTokenizer : public testing::TestWithParam<std::string> {
 protected:
  static const Tokenizer& tok(const std::string& name) {
    static std::map<std::string, Tokenizer> cache;
    auto it = cache.find(name);
    if (it == cache.end())
      it = cache.emplace(name, Tokenizer::from_file(real_tokenizer(name))).first;
    return it->second;
  }
  const Tokenizer& tok() const { return tok(GetParam()); }
  std::string path() const { return real_tokenizer(GetParam()); }
};

TEST_P(RealTokenizer, EncodeMatchesHuggingFace) {
  expect_same_ids(tok(), path(), /*add_special=*/false);
}

TEST_P(RealTokenizer, EncodeWithPostProcessorMatchesHuggingFace) {
  expect_same_ids(tok(), path(), /*add_special=*/true);
}

TEST_P(RealTokenizer, DecodeMatchesHuggingFaceAndRoundTrips) {
  const auto texts = corpus_texts();
  std::vector<Ids> ids;
  for (const auto& t : texts) ids.push_back(tok().encode(t));
  for (bool skip : {false, true}) {
    const auto ref = reference_decode(path(), ids, skip);
    ASSERT_EQ(ref.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_EQ(tok().decode(ids[i], skip), ref[i])
          << label(corpus()[i].line_no) << " skip=" << skip;
  }
  // Byte-level BPE loses nothing; Qwen's NFC normalizer may recompose
  // characters, and then HF's own decode (checked above) differs too.
  int normalized_lines = 0;
  const auto ref = reference_decode(path(), ids, false);
  for (size_t i = 0; i < texts.size(); ++i) {
    if (GetParam() == "qwen3" && ref[i] != texts[i]) {
      normalized_lines += corpus()[i].line_no > 0;
      continue;
    }
    EXPECT_EQ(tok().decode(ids[i]), texts[i]) << label(corpus()[i].line_no);
  }
  EXPECT_LE(normalized_lines, 10)
      << "NFC should change only some combining-mark lines of the corpus";
}

TEST_P(RealTokenizer, InvalidUtf8RoundTripsAsBytes) {
  const std::vector<std::string> texts = {"\xff",
                                          "abc\xc3",
                                          "\xc3(",
                                          "\xed\xa0\x80 surrogate",
                                          "\xf4\x90\x80\x80 too big",
                                          "\xc0\xaf overlong",
                                          "ok \xe2\x82 cut",
                                          "\xcc\x81\xff\xcc\x81 marks after a bad byte",
                                          "\xfe\xff<|im_start|>\xff<|eot_id|>\x80",
                                          std::string("nul\0inside", 10),
                                          "  \xff  \xff\n\xff"};
  for (const auto& t : texts) {
    Ids ids;
    ASSERT_NO_THROW(ids = tok().encode(t)) << t;
    EXPECT_EQ(tok().decode(ids), t);
  }
}

TEST_P(RealTokenizer, IsThreadSafe) {
  const auto texts = corpus_texts();
  std::vector<Ids> serial;
  for (const auto& t : texts) serial.push_back(tok().encode(t));
  std::vector<std::vector<Ids>> results(2);
  std::vector<std::thread> threads;
  for (auto& r : results)
    threads.emplace_back([&] {
      for (const auto& t : texts) r.push_back(tok().encode(t));
    });
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, serial);
}

TEST_P(RealTokenizer, VocabularyQueries) {
  const bool llama = GetParam() == "llama3_1";
  EXPECT_EQ(tok().model_type(), "BPE");
  EXPECT_EQ(tok().vocab_size(), llama ? 128256 : 151669);
  const std::string special = llama ? "<|eot_id|>" : "<|im_end|>";
  const int32_t special_id = llama ? 128009 : 151645;
  EXPECT_EQ(tok().token_to_id(special), special_id);
  EXPECT_EQ(tok().id_to_token(special_id), special);
  EXPECT_TRUE(tok().is_special(special_id));
  const auto space = tok().token_to_id("\xc4\xa0");  // "Ġ", the byte-level space
  ASSERT_TRUE(space.has_value());
  EXPECT_EQ(tok().encode(" "), Ids{*space});
  EXPECT_EQ(tok().id_to_token(*space), "\xc4\xa0");
  EXPECT_FALSE(tok().is_special(*space));
  EXPECT_FALSE(tok().token_to_id("no such token, surely").has_value());
  EXPECT_EQ(tok().id_to_token(-1), "");
  EXPECT_EQ(tok().id_to_token(1 << 30), "");
  EXPECT_EQ(tok().decode({-5, 1 << 30}), "");  // unknown ids are dropped
  EXPECT_TRUE(tok().encode("").empty());
  if (llama) {
    EXPECT_EQ(tok().encode("", /*add_special=*/true), Ids{128000});
  }
  if (!llama) {
    EXPECT_FALSE(
        tok().is_special(*tok().token_to_id("<think>")));  // Qwen3's <think> is not special
  }
}

TEST_P(RealTokenizer, LoadAndEncodeSpeed) {
  const auto t0 = std::chrono::steady_clock::now();
  Tokenizer fresh = Tokenizer::from_file(path());
  const auto t1 = std::chrono::steady_clock::now();
  const auto& lines = corpus();
  size_t n_lines = 0, n_bytes = 0, n_ids = 0;
  for (int rep = 0; rep < 5; ++rep)
    for (size_t i = 0; i < lines.size(); ++i)
      if (lines[i].line_no > 0) {
        n_ids += fresh.encode(lines[i].text).size();
        n_bytes += lines[i].text.size();
        ++n_lines;
      }
  const auto t2 = std::chrono::steady_clock::now();
  const double load_s = std::chrono::duration<double>(t1 - t0).count();
  const double enc_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf(
      "[ info ] %s: load %.3f s; encode %zu lines (%.1f KB, %zu ids) in %.3f s = %.0f lines/s, "
      "%.2f MB/s\n",
      GetParam().c_str(), load_s, n_lines, n_bytes / 1e3, n_ids, enc_s, n_lines / enc_s,
      n_bytes / enc_s / 1e6);
  RecordProperty("load_seconds", std::to_string(load_s));
  RecordProperty("lines_per_second", std::to_string(n_lines / enc_s));
}

INSTANTIATE_TEST_SUITE_P(Files, RealTokenizer, testing::Values("llama3_1", "qwen3"),
                         [](const auto& info) { return info.param; });

// -------------------------------------------------------------- variants ----

// The Qwen3 file with one component swapped, to cover what the two real
// files do not use (GPT-2's regex, other Split behaviors, added-token flags,
// NFD, Bert-style post-processing), each checked against HF on the corpus.
Json qwen_json() {
  static const Json j = [] {
    std::ifstream in(real_tokenizer("qwen3"));
    return Json::parse(in);
  }();
  return j;
}

Json byte_level(bool prefix, bool regex) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", prefix},
          {"trim_offsets", false},
          {"use_regex", regex}};
}

Json split(const std::string& kind, const std::string& pattern, const std::string& behavior,
           bool invert) {
  return {{"type", "Split"},
          {"pattern", {{kind, pattern}}},
          {"behavior", behavior},
          {"invert", invert}};
}

Json with_pre(const Json& pre) {
  Json j = qwen_json();
  j["pre_tokenizer"] = pre;
  return j;
}

Json with_flagged_added_tokens() {
  Json j = qwen_json();
  const auto add = [&](int id, const std::string& content, bool single_word, bool lstrip,
                       bool rstrip, bool norm) {
    j["added_tokens"].push_back({{"id", id},
                                 {"content", content},
                                 {"single_word", single_word},
                                 {"lstrip", lstrip},
                                 {"rstrip", rstrip},
                                 {"normalized", norm},
                                 {"special", false}});
  };
  add(151669, "the", /*single_word=*/true, false, false, false);
  add(151670, "<|im_end|>\n", false, false, false, false);  // longer than <|im_end|>: longest wins
  add(151671, "to", false, /*lstrip=*/true, /*rstrip=*/true, false);
  add(151672, "\xc3\xa9", false, false, false, /*normalized=*/true);  // é, found after NFC
  add(151673, "ing", true, true, false, true);
  add(151674, "n\xcc\x83", false, false, false, /*normalized=*/true);  // n + tilde: matches NFC ñ
  return j;
}

struct Variant {
  std::string name;
  Json json;
};

std::vector<Variant> variants() {
  Json nfd = qwen_json();
  nfd["normalizer"] = {{"type", "Sequence"}, {"normalizers", Json::array({{{"type", "NFD"}}})}};
  Json bert = qwen_json();
  bert["post_processor"] = {{"type", "BertProcessing"},
                            {"sep", {"<|im_end|>", 151645}},
                            {"cls", {"<|im_start|>", 151644}}};
  return {
      {"gpt2_regex", with_pre(byte_level(false, true))},
      {"gpt2_regex_prefix_space", with_pre(byte_level(true, true))},
      {"prefix_space_per_split",
       with_pre({{"type", "Sequence"},
                 {"pretokenizers",
                  Json::array({split("Regex", "\\s+|\\w+|[^\\w\\s]+", "Isolated", false),
                               byte_level(true, false)})}})},
      {"merged_with_next",
       with_pre({{"type", "Sequence"},
                 {"pretokenizers", Json::array({split("Regex", "\\s+", "MergedWithNext", false),
                                                byte_level(false, false)})}})},
      {"merged_with_previous_literal",
       with_pre({{"type", "Sequence"},
                 {"pretokenizers", Json::array({split("String", ".", "MergedWithPrevious", false),
                                                byte_level(false, false)})}})},
      {"contiguous_inverted",
       with_pre({{"type", "Sequence"},
                 {"pretokenizers", Json::array({split("Regex", "\\p{L}", "Contiguous", true),
                                                byte_level(false, false)})}})},
      {"removed",
       with_pre({{"type", "Sequence"},
                 {"pretokenizers", Json::array({split("Regex", "[aeiou]", "Removed", false),
                                                byte_level(false, false)})}})},
      {"added_token_flags", with_flagged_added_tokens()},
      {"nfd", nfd},
      {"bert_post_processor", bert},
  };
}

TEST(TokenizerVariants, MatchHuggingFace) {
  for (const Variant& v : variants()) {
    SCOPED_TRACE(v.name);
    const std::string path = temp_file(v.name + ".json");
    std::ofstream(path) << v.json.dump();
    const Tokenizer tok = Tokenizer::from_file(path);
    expect_same_ids(tok, path, /*add_special=*/v.name == "bert_post_processor");
    fs::remove(path);
  }
}

// ------------------------------------------------------------- WordLevel ----

TEST(WordLevel, WrittenFileMatchesHuggingFace) {
  const std::string path = temp_file("wordlevel.json");
  const std::vector<std::string> vocab = {"the", "a", "cat", "sat",     "on",  "mat",
                                          ".",   ",", "!",   "brevity", "café"};
  Tokenizer::write_word_level(path, vocab, "[UNK]", {"[UNK]", "[PAD]", "<eos>"});
  const Tokenizer tok = Tokenizer::from_file(path);
  EXPECT_EQ(tok.model_type(), "WordLevel");
  EXPECT_EQ(tok.vocab_size(), 14);
  EXPECT_EQ(tok.token_to_id("cat"), 2);
  EXPECT_EQ(tok.token_to_id("<eos>"), 13);
  EXPECT_TRUE(tok.is_special(13));
  EXPECT_EQ(tok.encode("the cat sat."), (Ids{0, 2, 3, 6}));

  const std::vector<std::string> texts = {
      "the cat sat on the mat.",    "The cat sat on the hat!", "a dog, a cat, a mat",
      "unknown words everywhere",   "the<eos>cat [PAD] [UNK]", "  spaced\tout\nthe   cat  ",
      "café brevity naïve",         "the,cat!!the...cat",      "",
      "under_score mid-dash don't", "日本 the 123 cat42"};
  const auto ref = reference_encode(path, texts, false);
  ASSERT_EQ(ref.size(), texts.size());
  std::vector<Ids> ours;
  for (size_t i = 0; i < texts.size(); ++i) {
    ours.push_back(tok.encode(texts[i]));
    EXPECT_EQ(ours.back(), ref[i]) << texts[i];
  }
  for (bool skip : {false, true}) {
    const auto ref_text = reference_decode(path, ours, skip);
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_EQ(tok.decode(ours[i], skip), ref_text[i]) << texts[i];
  }
  fs::remove(path);
}

TEST(WordLevel, SpacePrefixedFileMatchesHuggingFaceAndRoundTrips) {
  // The split a model that writes JSON needs: whitespace survives decoding.
  const std::string path = temp_file("wordlevel_fused.json");
  const std::vector<std::string> vocab = {"{\"", " \"", "rationale", "\":", " A", ".", " 7",
                                          "\n",  " ",     "Persona",   ":",   " brevity", " (",
                                          "40",   "%)",    "\"}",      " the", "the"};
  Tokenizer::write_word_level(path, vocab, "[UNK]", {"[UNK]", "<JSON_START>"},
                              Tokenizer::WordSplit::kSpacePrefixed);
  const Tokenizer tok = Tokenizer::from_file(path);
  const std::vector<std::string> texts = {"<JSON_START>{\"rationale\": \" A. 7\"}",
                                          "Persona: the brevity (40%)\nthe",
                                          "the the\nthe", "unknown  text\n\nhere", ""};
  const auto ref = reference_encode(path, texts, false);
  ASSERT_EQ(ref.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(tok.encode(texts[i]), ref[i]) << texts[i];
  std::vector<Ids> ours;
  for (const auto& t : texts) ours.push_back(tok.encode(t));
  const auto ref_text = reference_decode(path, ours, false);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(tok.decode(ours[i]), ref_text[i]);
  // In-vocabulary text comes back exactly, whitespace included.
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(tok.decode(tok.encode(texts[i])), texts[i]);
  fs::remove(path);
}

TEST(WordLevel, WriteRejectsBadVocabularies) {
  const std::string path = temp_file("bad_wordlevel.json");
  const auto message = [&](const std::vector<std::string>& vocab, const std::string& unk) {
    try {
      Tokenizer::write_word_level(path, vocab, unk, {});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"a", "b"}, "[UNK]").find("unk_token '[UNK]'"), std::string::npos);
  EXPECT_NE(message({"a", "a", "[UNK]"}, "[UNK]").find("appears twice"), std::string::npos);
  EXPECT_NE(message({"a b", "[UNK]"}, "[UNK]").find("whitespace"), std::string::npos);
  EXPECT_THROW(Tokenizer::write_word_level("/nonexistent-dir/x.json", {"[UNK]"}, "[UNK]", {}),
               Error);
  fs::remove(path);
}

// ---------------------------------------------------------------- errors ----

std::string load_error(const std::string& json_text) {
  try {
    Tokenizer::from_json(json_text, "test.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

void expect_error(const std::string& json_text, const std::vector<std::string>& parts) {
  const std::string message = load_error(json_text);
  for (const auto& p : parts)
    EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
}

Json minimal_word_level() {
  return {{"model",
           {{"type", "WordLevel"}, {"vocab", {{"a", 0}, {"[UNK]", 1}}}, {"unk_token", "[UNK]"}}},
          {"pre_tokenizer", {{"type", "WhitespaceSplit"}}}};
}

TEST(TokenizerErrors, MissingFileNamesThePath) {
  try {
    Tokenizer::from_file("/no/such/dir/tokenizer.json");
    FAIL() << "expected pgenrm::Error";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("cannot open tokenizer file '/no/such/dir/tokenizer.json'"),
        std::string::npos);
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(TokenizerErrors, MalformedJson) {
  expect_error("{\"model\": {\"type\": \"BPE\",", {"malformed JSON", "test.json"});
  expect_error("[1, 2, 3]", {"not a JSON object", "test.json"});
  expect_error("{}", {"no field 'model'", "test.json"});
}

TEST(TokenizerErrors, UnsupportedComponentsAreNamed) {
  Json j = minimal_word_level();
  j["model"]["type"] = "Unigram";
  expect_error(j.dump(), {"unsupported model type 'Unigram'", "test.json", "BPE"});

  j = minimal_word_level();
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}};
  expect_error(j.dump(),
               {"unsupported pre_tokenizer type 'Metaspace'", "test.json", "supported are"});

  j = minimal_word_level();
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_error(j.dump(), {"unsupported normalizer type 'Lowercase'"});

  j = minimal_word_level();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_error(j.dump(), {"unsupported decoder type 'WordPiece'"});

  j = minimal_word_level();
  j["post_processor"] = {{"type", "Nonsense"}};
  expect_error(j.dump(), {"unsupported post_processor type 'Nonsense'"});

  j = minimal_word_level();
  j["truncation"] = {{"max_length", 8}};
  expect_error(j.dump(), {"'truncation' is set"});

  j = minimal_word_level();
  j["pre_tokenizer"] = split("Regex", "(unclosed", "Isolated", false);
  expect_error(j.dump(), {"cannot compile the regex '(unclosed'"});

  j = minimal_word_level();
  j["pre_tokenizer"] = split("Regex", "a", "Sideways", false);
  expect_error(j.dump(), {"unknown Split behavior 'Sideways'"});
}

TEST(TokenizerErrors, BpeProblemsAreNamed) {
  const Json bpe = {
      {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}}}, {"merges", {"a b"}}}},
      {"pre_tokenizer", byte_level(false, true)}};
  expect_error(bpe.dump(), {"merge token 'ab' is not in the vocab"});

  Json no_byte_level = bpe;
  no_byte_level["model"]["merges"] = Json::array();
  no_byte_level["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error(no_byte_level.dump(), {"BPE without a final ByteLevel pre_tokenizer"});

  Json fallback = bpe;
  fallback["model"]["merges"] = Json::array();
  fallback["model"]["byte_fallback"] = true;
  expect_error(fallback.dump(), {"byte_fallback"});

  Json bad_merge = bpe;
  bad_merge["model"]["merges"] = {"a b c"};
  expect_error(bad_merge.dump(), {"malformed merge"});

  Json bad_vocab = bpe;
  bad_vocab["model"]["vocab"] = {{"a", "zero"}};
  expect_error(bad_vocab.dump(), {"unexpected content", "test.json"});
}

TEST(TokenizerErrors, WordLevelWithoutUnkThrowsOnUnknownWord) {
  Json j = minimal_word_level();
  j["model"]["unk_token"] = "<missing>";
  const Tokenizer tok = Tokenizer::from_json(j.dump(), "test.json");
  EXPECT_EQ(tok.encode("a a"), (Ids{0, 0}));
  try {
    tok.encode("a zebra");
    FAIL() << "expected pgenrm::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'zebra' is not in the vocabulary"), std::string::npos);
  }
}

}  // namespace
}  // namespace pgenrm::model
