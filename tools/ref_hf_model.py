#!/usr/bin/env python3
"""Reference side of the logits-parity tests: Hugging Face transformers.

  ref_hf_model.py make ARCH DIR   tiny random ARCH model (llama with Llama-3.1
                                  rope scaling, qwen2, qwen3) saved with
                                  save_pretrained in DIR, plus DIR/ref.safetensors:
                                  input_ids [2,T], logits [2,T,V], greedy [1,32]
                                  continuation of input_ids[0] and the smallest
                                  top-1/top-2 logit gap seen while generating.
  ref_hf_model.py check DIR REF   loads DIR (a model we wrote) with transformers
                                  and writes DIR/check.safetensors with its
                                  logits on REF's input_ids.
  ref_hf_model.py cuda DIR REF    transformers on the GPU (TF32 off) on REF's
                                  input_ids: DIR/cuda.safetensors with logits_fp32
                                  and logits_bf16 (the model cast to bfloat16).
Test-only: the project never imports Python at run time.
"""
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM,
                          Qwen3Config, Qwen3ForCausalLM)

COMMON = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)


def build(arch):
    if arch == "llama":
        cfg = LlamaConfig(**COMMON, rope_theta=500000.0, rms_norm_eps=1e-5,
                          rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                        "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                        "original_max_position_embeddings": 16})
        return LlamaForCausalLM(cfg)
    if arch == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**COMMON, rope_theta=10000.0))
    if arch == "qwen3":
        return Qwen3ForCausalLM(Qwen3Config(**COMMON, head_dim=24, tie_word_embeddings=True,
                                            rope_theta=1000000.0))
    raise SystemExit(f"unknown arch {arch}")


def greedy(model, prompt, n):
    ids, gap = prompt.clone(), float("inf")
    for _ in range(n):
        logits = model(ids).logits[:, -1, :]
        top2 = logits.topk(2, dim=-1).values
        gap = min(gap, float(top2[0, 0] - top2[0, 1]))
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
    return ids[:, prompt.shape[1]:], gap


def make(arch, out):
    # Seeds are tried in order until greedy decoding is unambiguous (every
    # step's top-two gap far above the parity tolerance).
    for seed in range(50):
        torch.manual_seed(seed)
        model = build(arch).eval()
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "norm" in name:
                    p.copy_(1.0 + 0.1 * torch.randn_like(p))
                else:
                    p.normal_(0.0, 0.15)
                    if name.endswith("bias"):
                        p.normal_(0.0, 0.3)
            input_ids = torch.randint(0, COMMON["vocab_size"], (2, 40))
            logits = model(input_ids).logits
            gen, gap = greedy(model, input_ids[:1, :12], 32)
        if gap > 1e-2:
            break
    model.save_pretrained(out)
    save_file({"input_ids": input_ids, "logits": logits.contiguous(), "greedy": gen,
               "gap": torch.tensor([gap])}, f"{out}/ref.safetensors")


def check(model_dir, ref):
    r = load_file(ref)
    cls = {"llama": LlamaForCausalLM, "qwen2": Qwen2ForCausalLM, "qwen3": Qwen3ForCausalLM}
    import json
    arch = json.load(open(f"{model_dir}/config.json"))["model_type"]
    model = cls[arch].from_pretrained(model_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(r["input_ids"]).logits
    save_file({"logits": logits.contiguous()}, f"{model_dir}/check.safetensors")


def cuda(model_dir, ref):
    r = load_file(ref)
    cls = {"llama": LlamaForCausalLM, "qwen2": Qwen2ForCausalLM, "qwen3": Qwen3ForCausalLM}
    import json
    arch = json.load(open(f"{model_dir}/config.json"))["model_type"]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out = {}
    for name, dtype in (("logits_fp32", torch.float32), ("logits_bf16", torch.bfloat16)):
        model = cls[arch].from_pretrained(model_dir, dtype=dtype).eval().cuda()
        with torch.no_grad():
            out[name] = model(r["input_ids"].cuda()).logits.float().cpu().contiguous()
    save_file(out, f"{model_dir}/cuda.safetensors")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "cuda":
        cuda(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
