"""examples/torch_robustness.py: a few steps on one CPU and, when torchrun is there, with 2 processes
(DistributedDataParallel, gloo)."""
import importlib.util
import os
import re
import subprocess
import sys

from common import ROOT, cli, tmp

EX = os.path.join(ROOT, "examples", "torch_robustness.py")
ARGS = ["--task", "synthetic", "--steps", "4", "-N", "16", "--H", "16", "--n-train", "64", "--n-test", "64",
        "--threads", "1"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _check_output(out):
    losses = [float(x) for x in re.findall(r"loss ([0-9.]+)", out)]
    accs = re.findall(r"test accuracy (clean|with Fourier noise[^:]*):? ([0-9.]+)", out)
    assert len(losses) >= 2 and all(l == l and l < 10 for l in losses), out
    assert len(accs) == 3, out
    return losses, accs


def test_example_one_process():
    init = tmp("ex-ptd16.safetensors")
    cli("init", "ptd", "-N", 16, "--eps", "0.1", "-o", init, "-q")
    p = subprocess.run([sys.executable, EX, "--init", init, *ARGS], capture_output=True, text=True, env=_env(),
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    losses, accs = _check_output(p.stdout)
    return f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, clean acc {accs[0][1]}"


def _free_port():
    """A TCP port nobody listens on now (the machine is shared: a fixed port collides)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_example_torchrun_two_processes():
    if importlib.util.find_spec("torch.distributed.run") is None:
        return "skipped (no torch.distributed.run)"
    # --redirects/--tee given explicitly: Debian's torch 1.13 torchrun fails on their default "0"
    # under Python 3.11 (Std.from_str returns None: IntFlag no longer iterates the 0 member)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--redirects", "1", "--tee", "1", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), EX, "--init", "s4d-lin", *ARGS]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-2000:])
    assert "2 processes" in p.stdout, p.stdout
    losses, accs = _check_output(p.stdout)
    return f"torchrun --nproc_per_node 2 (gloo DDP): loss {losses[0]:.3f} -> {losses[-1]:.3f}"
