#!/usr/bin/env python3
"""PyTorch eager reference for bench_train_gpu (issue 10, check 4): the same
config (config.json written by bench_train_gpu --config-out DIR), batch,
sequence length and steps, trained with transformers' model in two ways:
  bf16     parameters in bfloat16, torch AdamW (fused where available)
  amp      fp32 parameters, autocast to bfloat16, torch AdamW (fused)
Prints one JSON line per way: tokens/s, model TFLOP/s, MFU (same FLOP count
as bench_train_gpu).
  ref_train_eager.py DIR [--device cuda|cpu] [--batch B] [--seq T] [--steps N] [--peak-tflops P]
Test/bench-only: the project never imports Python at run time.
"""
import argparse
import json
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def run(cfg, args, way):
    dev = torch.device(args.device)
    torch.manual_seed(0)
    dtype = torch.bfloat16 if way == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_config(cfg, dtype=dtype).to(dev).train()
    fused = dev.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0, fused=fused)
    ids = torch.randint(0, cfg.vocab_size, (args.batch, args.seq), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=way == "amp"):
            logits = model(ids).logits[:, :-1].float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    step()
    step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    n_params = sum(p.numel() for p in model.parameters())
    tokens = args.batch * args.seq * args.steps
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    flops = tokens * (6.0 * n_params + 12.0 * cfg.num_hidden_layers * args.seq * cfg.num_attention_heads * hd)
    tflops = flops / secs / 1e12
    print(json.dumps({"impl": f"pytorch eager ({way})", "device": args.device, "params": n_params,
                      "batch": args.batch, "seq": args.seq, "steps": args.steps, "seconds": secs,
                      "tokens_per_s": tokens / secs, "model_tflops": tflops, "mfu": tflops / args.peak_tflops,
                      "loss": loss}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    args = ap.parse_args()
    cfg = AutoConfig.from_pretrained(args.dir)
    for way in ("bf16", "amp"):
        run(cfg, args, way)


if __name__ == "__main__":
    main()
