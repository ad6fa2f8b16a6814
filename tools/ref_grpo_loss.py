#!/usr/bin/env python3
"""Reference side of the GRPO-loss test: TRL's own GRPOTrainer._compute_loss.

  ref_grpo_loss.py IN.safetensors OUT.safetensors LOSS_TYPE BETA EPS_LOW EPS_HIGH

IN holds logp, old_logp, ref_logp, adv [N], mask [N,T]. The trainer object is
built without __init__ and given only what _compute_loss reads; the model
forward is replaced by the given log-probs, so TRL's loss code runs on our
tensors. OUT gets the loss and d loss / d logp. Test-only.
"""
import sys
import types
from collections import defaultdict

import torch
from safetensors.torch import load_file, save_file
from trl import GRPOTrainer


def main():
    src, dst, loss_type = sys.argv[1], sys.argv[2], sys.argv[3]
    beta, eps_low, eps_high = map(float, sys.argv[4:7])
    t = load_file(src)
    logp = t["logp"].clone().requires_grad_(True)
    n, length = logp.shape

    tr = GRPOTrainer.__new__(GRPOTrainer)
    tr.top_entropy_quantile = 1.0
    tr.off_policy_mask_threshold = None
    tr.importance_sampling_level = "token"
    tr.beta = beta
    tr.loss_type = loss_type
    tr.epsilon_low, tr.epsilon_high = eps_low, eps_high
    tr.args = types.SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=1)
    tr.use_vllm = False
    tr.aux_loss_enabled = False
    tr._entropy_bonus_enabled = False
    tr.max_completion_length = length
    tr.current_gradient_accumulation_steps = 1
    tr._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}

    class Acc:
        num_processes = 1
        sync_gradients = True

        def gather(self, x):
            return x

        def reduce(self, x, reduction="sum"):
            return x

        gather_for_metrics = gather

    tr.accelerator = Acc()
    tr.model = types.SimpleNamespace(training=False)
    tr._get_per_token_logps_and_entropies = (
        lambda *a, **k: (logp, torch.zeros_like(logp), None))
    inputs = {
        "prompt_ids": torch.zeros(n, 1, dtype=torch.long),
        "prompt_mask": torch.ones(n, 1, dtype=torch.long),
        "completion_ids": torch.zeros(n, length, dtype=torch.long),
        "completion_mask": t["mask"],
        "advantages": t["adv"],
        "old_per_token_logps": t["old_logp"],
        "ref_per_token_logps": t["ref_logp"],
        "num_items_in_batch": t["mask"].sum(),
    }
    loss = tr._compute_loss(None, inputs)
    loss.backward()
    save_file({"loss": loss.detach().reshape(1), "grad": logp.grad.contiguous()}, dst)


if __name__ == "__main__":
    main()
