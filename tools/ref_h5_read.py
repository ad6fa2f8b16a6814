#!/usr/bin/env python3
"""Reference side of tests/checkpoint/test_interop.cpp: reads a pgenrm
checkpoint with h5py alone (no pgenrm code), to prove the file is readable
from outside as docs/CHECKPOINTS.md describes it.

  ref_h5_read.py PATH

Prints JSON on stdout:
  {"step": int, "stage": str, "format": int, "counters": {...},
   "config_yaml": str, "all_fletcher32": bool,
   "tensors": {"/model/<name>": {"dtype", "shape", "fnv1a64", "first": [floats]}}}
for every tensor under /model, /optim, /prototypes and /extra. dtype is the
"dtype" attribute; 16-bit float types stored as uint16 bit patterns are
decoded with torch (bfloat16) or numpy (float16) for "first". The hash is
FNV-1a 64 over the raw little-endian bytes, as the C++ side computes it.

Not here: anything the C++ test does not call; this is test-only code.
"""
import json
import sys

import h5py
import numpy as np
import torch


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def text(ds) -> str:
    value = ds[0]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def first_values(arr: np.ndarray, dtype: str, n: int = 4) -> list:
    flat = arr.reshape(-1)[:n]
    if dtype == "bfloat16":
        return torch.from_numpy(flat.astype(np.uint16).view(np.int16).copy()).view(torch.bfloat16).float().tolist()
    if dtype == "float16":
        return flat.view(np.float16).astype(np.float64).tolist()
    if dtype.startswith("float") and not dtype.startswith("float8"):
        return flat.astype(np.float64).tolist()
    return []


def main() -> None:
    path = sys.argv[1]
    out = {"tensors": {}, "all_fletcher32": True}
    with h5py.File(path, "r") as f:
        meta = f["meta"]
        out["step"] = int(meta["step"][0])
        out["format"] = int(meta["format"][0])
        out["stage"] = text(meta["stage"])
        out["config_yaml"] = text(meta["config_yaml"])
        out["counters"] = {k: int(v[0]) for k, v in meta["counters"].items()}

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            if obj.size > 0 and not obj.fletcher32:
                out["all_fletcher32"] = False
            top = name.split("/")[0]
            if top not in ("model", "optim", "prototypes", "extra"):
                return
            dtype = obj.attrs["dtype"]
            dtype = dtype.decode() if isinstance(dtype, bytes) else str(dtype)
            arr = obj[()]
            shape = [] if "scalar" in obj.attrs else list(obj.shape)
            out["tensors"]["/" + name] = {
                "dtype": dtype,
                "shape": shape,
                "fnv1a64": fnv1a64(np.ascontiguousarray(arr).tobytes()),
                "first": first_values(np.asarray(arr), dtype),
            }

        f.visititems(visit)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
