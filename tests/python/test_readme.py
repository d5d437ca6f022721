"""The README's "Python and PyTorch" section, run as written: its Python blocks in order in one
folder (later blocks use the files earlier ones write), and its shell blocks there with build/,
examples/ and python/ linked in (the `make` line skipped: the tree is built; the robustness blocks are
test_example's, with fewer steps)."""
import os
import re
import subprocess
import sys

from common import ROOT, TMP


def _blocks():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    sec = text[text.index("## Python and PyTorch"):]
    sec = sec[:sec.index("\n## ", 3)]
    return re.findall(r"```(python|sh)\n(.*?)```", sec, re.S)


def test_readme_python_section():
    work = os.path.join(TMP, "readme")
    os.makedirs(work, exist_ok=True)
    for d in ("build", "examples", "python"):
        if not os.path.exists(os.path.join(work, d)):
            os.symlink(os.path.join(ROOT, d), os.path.join(work, d))
    import ssmkit
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), PYTHONDONTWRITEBYTECODE="1",
               SSMKIT_LIB=os.path.abspath(ssmkit._lib.path))
    ran, outputs = {"python": 0, "sh": 0}, []
    for kind, code in _blocks():
        if "torch_robustness.py" in code:
            continue
        if kind == "sh":
            code = "\n".join(ln for ln in code.splitlines() if not re.match(r"\s*make(\s|$)", ln))
            cmd = ["bash", "-euo", "pipefail", "-c", code]
        else:
            cmd = [sys.executable, "-c", code]
        p = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, (kind, code[:300], p.stdout[-1500:], p.stderr[-1500:])
        ran[kind] += 1
        outputs.append(p.stdout)
    assert ran["python"] >= 3 and ran["sh"] >= 2, ran
    # the printed values the text quotes
    joined = "\n".join(outputs)
    assert "triangular 96 1.2199558078" in joined and "('-1', '0')" in joined, joined[:800]
    assert "compare: max relative difference" in joined and "within 1e-05" in joined, joined[-800:]
    assert "<ssmkit.engine.Checkpoint adding step 8 of 8," in joined and "test loss 0.183106 acc 0.1538" in joined, \
        joined[-800:]
    return f"{ran['python']} Python and {ran['sh']} shell blocks ran as written"
