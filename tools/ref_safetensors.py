#!/usr/bin/env python3
"""Reference side of tests/model/test_safetensors.cpp, using Hugging Face's
own `safetensors` package.

  ref_safetensors.py write PATH   write a fixed set of tensors with
                                  safetensors.torch.save_file, print digests
  ref_safetensors.py digest PATH  read PATH with safetensors, print digests

Digests are JSON on stdout: {"metadata": {...}, "tensors": {name: {"dtype",
"shape", "fnv1a64"}}}, the hash over the tensor's raw little-endian bytes, so
the C++ side can compare bit for bit without a hashing library.

Not here: anything the C++ test does not call; this is test-only code.
"""
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

_DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
    torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
    torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
    torch.uint16: "U16", torch.uint32: "U32", torch.uint64: "U64", torch.complex64: "C64",
    torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2",
}
if hasattr(torch, "float8_e8m0fnu"):
    _DTYPE_NAMES[torch.float8_e8m0fnu] = "F8_E8M0"


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def raw_bytes(t: torch.Tensor) -> bytes:
    return bytes(t.contiguous().reshape(-1).view(torch.uint8).numpy())


def digest(tensors, metadata):
    return {
        "metadata": metadata or {},
        "tensors": {
            name: {"dtype": _DTYPE_NAMES[t.dtype], "shape": list(t.shape), "fnv1a64": fnv1a64(raw_bytes(t))}
            for name, t in tensors.items()
        },
    }


def reference_tensors():
    g = torch.Generator().manual_seed(1234)
    return {
        "model.embed_tokens.weight": torch.randn(11, 6, generator=g).to(torch.bfloat16),
        "model.layers.0.mlp.up_proj.weight": torch.randn(5, 3, generator=g).to(torch.float16),
        "model.norm.weight": torch.randn(6, generator=g),
        "lm_head.bias": torch.randn(7, generator=g, dtype=torch.float64),
        "position_ids": torch.arange(9, dtype=torch.int64).reshape(3, 3),
        "mask": torch.rand(4, 2, generator=g) > 0.5,
        "scalar": torch.tensor(2.5, dtype=torch.bfloat16),
        "empty": torch.zeros(0, 4, dtype=torch.float16),
        "odd_bf16": torch.randn(3, generator=g).to(torch.bfloat16),  # 6 bytes: the layout must still align what follows
        "bytes": torch.randint(0, 256, (5,), generator=g, dtype=torch.uint8),
    }


def main(argv):
    if len(argv) != 3 or argv[1] not in ("write", "digest"):
        sys.exit(__doc__)
    path = argv[2]
    if argv[1] == "write":
        tensors = reference_tensors()
        metadata = {"format": "pt"}  # one key: HF's map order is random beyond that
        save_file(tensors, path, metadata=metadata)
    else:
        tensors = load_file(path)
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata()
    json.dump(digest(tensors, metadata), sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv)
