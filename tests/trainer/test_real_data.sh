#!/usr/bin/env bash
# `pgenrm train` and `pgenrm eval` on a converted real dataset (issue 9):
# the PRISM fixture tests/data/fixtures/prism_train (4 users × 4
# conversations, 48 pairs, 12 test) converted with `pgenrm data convert`,
# the Qwen3 tokenizer, hand-written teacher chains (fixtures/prism_teacher.jsonl)
# and a random-init one-layer llama (fixtures/tiny_real.yaml):
#   1. no tokenizer in data.dir and no model.hf_path → an error naming both places
#   2. no teacher.jsonl → the documented error (what it is, how to produce it)
#   3. with both: every stage runs; results.json holds random, the BT rows and
#      the P-GenRM rows with finite accuracy ± SE over the 12 test pairs, no
#      world-only rows; the dataset directory is left as converted
#   4. `pgenrm eval --checkpoint <run>/model` reports accuracy over the same
#      pairs; `--scorer oracle` is refused (no ground truth)
#   5. the Chatbot Arena fixture (no stated criteria, 1 test pair) with
#      sft.steps=0 (no teacher needed) and CRE prompts, as configs/arena.yaml
# Usage: test_real_data.sh PGENRM SOURCE_DIR SHARED_DIR
set -euo pipefail
bin=$1
src=$2
shared=$3
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1
work=$(mktemp -d)
fail() { echo "FAIL: $*  (files kept in $work)"; exit 1; }
cfg=$src/tests/trainer/fixtures/tiny_real.yaml
data=$work/prism
tok=$shared/tokenizers/qwen3/tokenizer.json
[ -f "$tok" ] || fail "no tokenizer at $tok"

"$bin" data convert --format prism "$src/tests/data/fixtures/prism_train" --out "$data" > "$work/convert.log" ||
  { cat "$work/convert.log"; fail "convert failed"; }
grep -q "pairs: 48 (train 24, val 12, test 12)" "$work/convert.log" || { cat "$work/convert.log"; fail "unexpected split"; }

train() { "$bin" train -c "$cfg" run.out_dir="$work/runs" data.dir="$data" "$@"; }

# --- 1. no tokenizer ----------------------------------------------------------
if train > "$work/no_tok.log" 2>&1; then fail "train without a tokenizer succeeded"; fi
grep -q "no tokenizer: neither $data/tokenizer.json nor model.hf_path/tokenizer.json" "$work/no_tok.log" ||
  { cat "$work/no_tok.log"; fail "the missing-tokenizer error does not name both places"; }
cp "$tok" "$data/tokenizer.json"

# --- 2. no teacher.jsonl --------------------------------------------------------
if train > "$work/no_teacher.log" 2>&1; then fail "train without teacher.jsonl succeeded"; fi
for want in "PSI (stage 1) needs teacher chains and $data/teacher.jsonl does not exist" \
            "write it with a strong LLM judge" "docs/DATASETS.md"; do
  grep -qF "$want" "$work/no_teacher.log" || { cat "$work/no_teacher.log"; fail "missing in the error: $want"; }
done
[ ! -e "$data/world.json" ] || fail "a world was generated into the real dataset's directory"

# --- 3. the whole pipeline ---------------------------------------------------------
cp "$src/tests/trainer/fixtures/prism_teacher.jsonl" "$data/teacher.jsonl"
cp "$data/pairs.jsonl" "$work/pairs.before"
t0=$(date +%s)
train > "$work/train.log" 2>&1 || { tail -40 "$work/train.log"; fail "train on real data failed"; }
echo "train: $(( $(date +%s) - t0 )) s"
cmp -s "$data/pairs.jsonl" "$work/pairs.before" || fail "train rewrote pairs.jsonl"
[ ! -e "$data/world.json" ] || fail "train generated a world into the real dataset's directory"
grep -q "stage 0: skipped (real data" "$work/train.log" || fail "no stage-0 skip line"
grep -q "reference scorers: real data has no ground truth" "$work/train.log" || fail "no reference-scorer line"
grep -q "curriculum: real pairs carry no population hard negatives" "$work/train.log" || fail "no curriculum line"
python3 - "$work/runs/real/results.json" <<'PY' || fail "results.json"
import json, math, sys
rows = {r["row"]: r for r in json.load(open(sys.argv[1]))["rows"]}
want = ["random", "BT non-personalised", "BT + history", "P-GenRM SFT only (PSI)", "P-GenRM + CRE",
        "P-GenRM + CRE + curriculum (full)"]
ind = [n for n in rows if n.startswith("full, Ind-2")]
for name in want + ind:
    r = rows.get(name)
    if r is None: sys.exit(f"no row {name!r}; rows: {list(rows)}")
    acc, se = r.get("accuracy"), r.get("se")
    if not (isinstance(acc, float) or isinstance(acc, int)) or not math.isfinite(acc) or not 0 <= acc <= 1:
        sys.exit(f"{name}: accuracy {acc!r}")
    if se is None or not math.isfinite(se) or se < 0: sys.exit(f"{name}: se {se!r}")
    if r.get("n_pairs") != 12: sys.exit(f"{name}: n_pairs {r.get('n_pairs')} (want the 12 test pairs)")
if not ind: sys.exit("no Ind-2 row")
for name in rows:
    if "oracle" in name or "ceiling" in name or "non-personalised scorer" in name:
        sys.exit(f"world-only row {name!r} on real data")
s0 = [r for n, r in rows.items() if n.startswith("stage 0")]
if len(s0) != 1 or "skipped" not in s0[0]: sys.exit(f"stage 0 row: {s0}")
print("results:", {n: round(rows[n]["accuracy"], 3) for n in want + ind})
PY
[ -f "$work/runs/real/model/tokenizer.json" ] || fail "the saved model has no tokenizer.json"

# --- 4. pgenrm eval on the checkpoint ---------------------------------------------
"$bin" eval -c "$cfg" data.dir="$data" --checkpoint "$work/runs/real/model" --out "$work/eval.json" \
  > "$work/eval.log" 2>&1 || { tail -20 "$work/eval.log"; fail "eval on real data failed"; }
python3 - "$work/eval.json" <<'PY' || fail "eval report"
import json, math, sys
r = json.load(open(sys.argv[1]))
if r.get("n_pairs") != 12 or not math.isfinite(r.get("accuracy", float("nan"))): sys.exit(f"report {r}")
if "oracle_accuracy" in r: sys.exit("oracle_accuracy on real data")
print("eval: accuracy", r["accuracy"], "±", r["se"])
PY
if "$bin" eval -c "$cfg" data.dir="$data" --scorer oracle > "$work/oracle.log" 2>&1; then
  fail "--scorer oracle on real data succeeded"
fi
grep -q "needs a PersonaWorld's ground truth" "$work/oracle.log" || { cat "$work/oracle.log"; fail "oracle error"; }
# --- 5. Chatbot Arena, no PSI --------------------------------------------------------
"$bin" data convert --format arena "$src/tests/data/fixtures/arena" --out "$work/arena" > /dev/null
cp "$tok" "$work/arena/tokenizer.json"
"$bin" train -c "$cfg" run.out_dir="$work/runs_arena" data.dir="$work/arena" sft.steps=0 grpo.steps=0 \
  curriculum.steps=0 eval.prompt=cre eval.ind=[1] > "$work/arena.log" 2>&1 ||
  { tail -20 "$work/arena.log"; fail "train on the Arena fixture failed"; }
python3 - "$work/runs_arena/real/results.json" <<'PY' || fail "arena results.json"
import json, math, sys
rows = {r["row"]: r for r in json.load(open(sys.argv[1]))["rows"]}
for name in ["random", "BT non-personalised", "BT + history", "P-GenRM SFT only (PSI)"]:
    r = rows.get(name)
    if r is None or r.get("n_pairs") != 1 or not math.isfinite(r["accuracy"]): sys.exit(f"{name}: {r}")
PY
rm -rf "$work"
echo "test_real_data: ok"
