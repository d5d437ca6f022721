"""Helpers shared by the Python tests: the CLI, a scratch folder, TSV and safetensors readers."""
import atexit
import json
import os
import shutil
import struct
import subprocess
import tempfile

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.environ.get("SSM_BIN", os.path.join(ROOT, "build", "ssmkit"))
TMP = tempfile.mkdtemp(prefix="ssmkit-py-")
atexit.register(shutil.rmtree, TMP, True)


def cli(*args, check=True):
    """Run the ssmkit binary; returns (rc, stdout, stderr)."""
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"ssmkit {' '.join(map(str, args))}: rc {p.returncode}: {p.stderr.strip()}")
    return p.returncode, p.stdout, p.stderr


def tmp(name):
    return os.path.join(TMP, name)


_experiments = {}


def experiment(name, *args):
    """Run `ssmkit experiment NAME ARGS --out DIR -q` once per argument list (memoised across the tests);
    returns DIR.  The figure is drawn too (plots/NAME.gp from the checkout), so every plot script runs
    on fresh data: a gnuplot failure fails the run."""
    key = (name,) + tuple(map(str, args))
    if key not in _experiments:
        d = tmp("exp-" + "_".join(k.strip("-").replace(".", "p") for k in key))
        os.makedirs(d, exist_ok=True)
        p = subprocess.run([BIN, "experiment", name, *map(str, args), "--out", d, "-q"], capture_output=True,
                           text=True, env=dict(os.environ, SSMKIT_PLOTS=os.path.join(ROOT, "plots")))
        if p.returncode != 0 or "gnuplot failed" in p.stderr:
            raise AssertionError(f"experiment {' '.join(key)}: rc {p.returncode}: {p.stderr.strip()}")
        _experiments[key] = d
    return _experiments[key]


def cli_json(*args):
    """Run the CLI with --json among args: stdout must be exactly one line, one JSON object."""
    _, out, _ = cli(*args)
    lines = out.splitlines()
    assert len(lines) == 1, f"ssmkit {' '.join(map(str, args))}: {len(lines)} lines on stdout"
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def read_tsv(path):
    """A numeric ssmkit table (names on the first line, '#' comments, blank lines between blocks)."""
    lines = open(path).read().splitlines()
    rows = [ln.split() for ln in lines[1:] if ln.strip() and not ln.startswith("#")]
    return np.array(rows, dtype=float)


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    hdr = json.loads(raw[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    out = {k: np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f8").reshape(v["shape"])
           for k, v in hdr.items()}
    return out, meta


def rel(a, b):
    """max |a − b| / max(1, max |b|)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))
