"""Load an ssmkit .safetensors file with numpy alone (and into PyTorch).

ssmkit writes little-endian float64 tensors; complex arrays carry a trailing
dimension 2 (re, im).  No `safetensors` package is needed.

    /usr/bin/python3 examples/load_safetensors.py FILE.safetensors [--torch]
"""
import json
import struct
import sys

import numpy as np


def load_safetensors(path):
    """Return ({name: float64 ndarray}, {metadata key: str})."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f8").reshape(t["shape"])
    return tensors, meta


def as_complex(a):
    """[..., 2] float64 -> complex128 [...] (no copy)."""
    return np.ascontiguousarray(a).view(np.complex128)[..., 0]


if __name__ == "__main__":
    tensors, meta = load_safetensors(sys.argv[1])
    for name, a in tensors.items():
        print(name, a.shape, a.dtype)
    print("metadata:", meta)
    if "--torch" in sys.argv:
        import torch
        complex_names = ("Lambda", "B", "P", "V", "Vinv")    # init files: trailing dimension 2
        is_init = meta.get("format") == "ssmkit-init/1"
        for name, a in tensors.items():
            t = torch.from_numpy(a.copy())                    # float64 tensor
            if is_init and name in complex_names:
                t = torch.view_as_complex(t)                  # complex128, trailing 2 dropped
            print("torch", name, tuple(t.shape), t.dtype)
