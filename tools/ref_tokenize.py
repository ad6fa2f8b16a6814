#!/usr/bin/env python3
"""Reference outputs from Hugging Face's own code, for the tokenizer and
chat-template parity tests (tests/model/). Test-only: needs the venv's
`tokenizers` (and `transformers` for `chat`).

  ref_tokenize.py encode TOKENIZER_JSON TEXTS [--add-special]
      TEXTS holds one JSON string per line (the test writes it after
      unescaping tests/model/tokenizer_corpus.txt). Prints one JSON array of
      ids per line: Tokenizer.from_file(p).encode(text, add_special_tokens).ids
  ref_tokenize.py decode TOKENIZER_JSON IDS [--skip-special]
      IDS holds one JSON array of ids per line; prints one JSON string per line.
  ref_tokenize.py chat MODEL_DIR CASES
      CASES is a JSON list of {"messages": [...], "add_generation_prompt": b,
      "template": null | "chatml"}; prints one JSON string per case, rendered
      by transformers' apply_chat_template with the tokenizer_config.json of
      MODEL_DIR (or the canonical ChatML template when "template" is "chatml").

Output is compact JSON, one item per line, in input order.
"""
import argparse
import json
import sys

# The canonical ChatML template (as in transformers' chat-template docs).
CHATML = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def emit(items):
    out = sys.stdout
    for item in items:
        out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")


def cmd_encode(args):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(args.tokenizer)
    emit(tok.encode(t, add_special_tokens=args.add_special).ids for t in read_lines(args.texts))


def cmd_decode(args):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(args.tokenizer)
    emit(tok.decode(ids, skip_special_tokens=args.skip_special) for ids in read_lines(args.ids))


def cmd_chat(args):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f)
    emit(tok.apply_chat_template(c["messages"], tokenize=False,
                                 add_generation_prompt=c["add_generation_prompt"],
                                 chat_template=CHATML if c.get("template") == "chatml" else None)
         for c in cases)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("encode")
    e.add_argument("tokenizer")
    e.add_argument("texts")
    e.add_argument("--add-special", action="store_true")
    e.set_defaults(fn=cmd_encode)
    d = sub.add_parser("decode")
    d.add_argument("tokenizer")
    d.add_argument("ids")
    d.add_argument("--skip-special", action="store_true")
    d.set_defaults(fn=cmd_decode)
    c = sub.add_parser("chat")
    c.add_argument("model_dir")
    c.add_argument("cases")
    c.set_defaults(fn=cmd_chat)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
