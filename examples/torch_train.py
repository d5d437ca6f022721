#!/usr/bin/python3
"""examples/torch_train.py — `ssmkit train` in plain PyTorch: the same model, initial weights, data,
data order, dropout masks, AdamW, schedule and clipping, so that the loss curve is the engine's.

    build/ssmkit train adding --init ptd16.safetensors --d-model 16 --layers 2 --n-train 256 --epochs 4 \\
        --seq-len 100 --log engine.tsv
    /usr/bin/python3 examples/torch_train.py adding --init ptd16.safetensors --d-model 16 --layers 2 \\
        --n-train 256 --epochs 4 --seq-len 100 --compare engine.tsv

Takes `ssmkit train`'s options (the model, optimiser and data ones; same defaults) and prints one line
per epoch as `ssmkit train` does.  --compare LOG.tsv (the engine's --log) prints the relative
difference of every train and validation loss and exits 1 when one exceeds --tol (default 1e-5: the
two runs differ only by float32 rounding, ~1e-7 per step, which training amplifies slowly; see the
README).  --float64 trains in double instead (the engine stays float32, so the difference does not
shrink).  --save FILE.pt writes the trained state_dict (the engine's parameter names).

The weights, the data and the per-epoch permutation come from libssmkit (ssmkit.engine); everything
after that — forward, autograd, torch.optim.AdamW, LambdaLR — is PyTorch (ssmkit.torch.engine_train)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np   # noqa: E402
import torch         # noqa: E402

from ssmkit.engine import Engine, TASKS                    # noqa: E402
from ssmkit.torch import engine_train                      # noqa: E402

VALUED = {"init": str, "eps": float, "d_model": int, "d_state": int, "layers": int, "dropout": float, "dt_min": float,
          "dt_max": float, "lr": float, "lr_ssm": float, "wd": float, "clip": float, "warmup": int, "epochs": int,
          "steps": int, "batch": int, "threads": int, "seed": int, "seq_len": int, "n_train": int, "n_val": int,
          "n_test": int, "data": str}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("task", choices=TASKS)
    for name, kind in VALUED.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    for flag in ("glu", "prenorm", "freeze_ssm"):
        p.add_argument("--" + flag.replace("_", "-"), action="store_true")
    p.add_argument("--compare", metavar="LOG.tsv", help="ssmkit train's --log of the same run")
    p.add_argument("--tol", type=float, default=1e-5, help="largest relative loss difference accepted (1e-5)")
    p.add_argument("--float64", action="store_true", help="train in double")
    p.add_argument("--save", metavar="FILE.pt", help="write the trained state_dict")
    return p.parse_args(argv)


def compare(rows, path, tol):
    """Relative differences of the train and validation losses against the engine's log; True when all
    are within tol."""
    log = np.atleast_2d(np.loadtxt(path))
    if log.shape[0] != len(rows):
        print(f"compare: {path} has {log.shape[0]} epochs, this run {len(rows)}", file=sys.stderr)
        return False
    worst = 0.0
    for r, e in zip(rows, log):
        d = [abs(r[k] - e[c]) / abs(e[c]) for k, c in (("train_loss", 2), ("val_loss", 4))]
        worst = max(worst, *d)
        print(f"  epoch {e[0]:6.2f}  train loss ssmkit {e[2]:.8f} torch {r['train_loss']:.8f} (rel {d[0]:.1e})  "
              f"val loss ssmkit {e[4]:.8f} torch {r['val_loss']:.8f} (rel {d[1]:.1e})")
    ok = worst <= tol
    print(f"compare: max relative difference {worst:.2e} ({'within' if ok else 'ABOVE'} {tol:g})")
    return ok


def main(argv):
    a = parse(argv)
    opts = {k: getattr(a, k) for k in VALUED if getattr(a, k) is not None}
    opts.update({k: True for k in ("glu", "prenorm", "freeze_ssm") if getattr(a, k)})
    torch.set_num_threads(1)    # the engine's sums are deterministic; so are these
    e = Engine(a.task, **opts)
    print(f"torch_train: {a.task}, {e.total_steps} steps of {e.cfg.batch} ({e.spe} per epoch), "
          f"{sum(v.size for v in e.params.values())} parameters, {'float64' if a.float64 else 'float32'}")
    model, losses, rows = engine_train(e, dtype=torch.float64 if a.float64 else torch.float32)
    for r in rows:
        print(f"epoch {r['epoch']:6.2f}  step {r['step']:6d}  train loss {r['train_loss']:.4f} acc {r['train_acc']:.4f}"
              f"  val loss {r['val_loss']:.4f} acc {r['val_acc']:.4f}")
    if a.save:
        torch.save(model.state_dict(), a.save)
    return 0 if not a.compare or compare(rows, a.compare, a.tol) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
