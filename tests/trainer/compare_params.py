"""Compares two model.safetensors files tensor by tensor.

usage: compare_params.py A B [--rtol R]
Prints the largest relative difference ‖a−b‖/‖a‖ over the tensors and exits
1 when it exceeds R (default 0: bit-identical), or when names, shapes or
dtypes differ.
"""
import sys

import numpy as np
from safetensors.numpy import load_file


def main():
    args = sys.argv[1:]
    rtol = 0.0
    if "--rtol" in args:
        i = args.index("--rtol")
        rtol = float(args[i + 1])
        del args[i : i + 2]
    a, b = load_file(args[0]), load_file(args[1])
    if sorted(a) != sorted(b):
        print("tensor names differ:", sorted(set(a) ^ set(b)))
        return 1
    worst, name = 0.0, ""
    for k in a:
        x, y = a[k].astype(np.float64), b[k].astype(np.float64)
        if x.shape != y.shape or a[k].dtype != b[k].dtype:
            print(f"{k}: {a[k].dtype}{x.shape} vs {b[k].dtype}{y.shape}")
            return 1
        rel = np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30)
        if rel > worst:
            worst, name = rel, k
    print(f"largest relative difference {worst:.3e} ({name or 'none'}) over {len(a)} tensors")
    return 0 if worst <= rtol else 1


if __name__ == "__main__":
    sys.exit(main())
