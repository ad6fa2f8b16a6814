#!/usr/bin/env bash
# GRPO step time on the demo model, three ways on the same machine and
# checkpoint (a run's checkpoint at the CRE boundary, i.e. after PSI):
#   local  one process, 2 intra-op threads, rollouts in-process
#   sync   mpirun -np 2: 1 learner + 1 rollout rank, 1 thread each, on-policy
#   async  the same, one step off (grpo.max_staleness=1): generation of
#          step s+1 overlaps the update of step s
# Prints the mean step time (rollout/wait + update) over steps 3..N.
# Usage: bench/bench_rollout.sh CHECKPOINT.h5 [CONFIG] [STEPS]
#   e.g. bench/bench_rollout.sh runs/demo/checkpoints/ckpt-00000750.h5
set -euo pipefail
ckpt=$1
config=${2:-configs/demo.yaml}
steps=${3:-12}
bin=${PGENRM:-build/bin/pgenrm}
python=${PYTHON:-python3}
export OMP_WAIT_POLICY=PASSIVE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
common="--config $config run.out_dir=$out grpo.steps=$steps curriculum.steps=0 eval.pairs=8 eval.seeds=1 eval.ind=[]
        log.progress=off --resume $ckpt"
"$bin" train $common run.name=local run.threads=2 > "$out/local.log" 2>&1
mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS=1 "$bin" train $common run.name=sync run.threads=1 dist.rollouts=1 \
  > "$out/sync.log" 2>&1
mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS=1 "$bin" train $common run.name=async run.threads=1 dist.rollouts=1 \
  grpo.max_staleness=1 > "$out/async.log" 2>&1
for r in local sync async; do
  "$python" - "$out/$r/metrics.jsonl" "$r" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"stage":"cre"' in l][2:]
n = len(rows)
mean = lambda k: sum(x.get(k, 0) for x in rows) / n
print(f"{sys.argv[2]:6s} steps {n}  step {mean('rollout_s') + mean('update_s'):.2f} s  "
      f"(rollout/wait {mean('rollout_s'):.2f} s, update {mean('update_s'):.2f} s, staleness {mean('staleness'):.2f})")
PY
done
rm -rf "$out"
