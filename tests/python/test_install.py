"""`pip install --no-build-isolation ./python` (what the README tells users) works offline and gives a
package that runs from another folder; done on a copy of python/ so that the tree stays clean."""
import importlib.util
import os
import shutil
import subprocess
import sys

from common import ROOT, TMP


def test_pip_install():
    if importlib.util.find_spec("pip") is None or importlib.util.find_spec("setuptools") is None:
        return "skipped (no pip or setuptools for this interpreter)"
    src, site = os.path.join(TMP, "pysrc"), os.path.join(TMP, "site")
    shutil.copytree(os.path.join(ROOT, "python"), src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index",
                        "--quiet", "--target", site, src], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    assert p.returncode == 0, p.stderr[-2000:]
    code = ("import ssmkit, ssmkit.engine, ssmkit.torch, ssmkit.s5; assert ssmkit.__file__.startswith(%r); "
            "print(ssmkit.eig('hippo:legs:8', prec=128).route)" % site)
    import ssmkit   # the library this suite runs on, by an absolute path (the test runs elsewhere)
    env = dict(os.environ, PYTHONPATH=site, PYTHONDONTWRITEBYTECODE="1", SSMKIT_LIB=os.path.abspath(ssmkit._lib.path))
    q = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=TMP, env=env, timeout=120)
    assert q.returncode == 0 and q.stdout.strip() == "triangular", (q.stdout, q.stderr[-2000:])
    mods = sorted(f for f in os.listdir(os.path.join(site, "ssmkit")) if f.endswith(".py"))
    return f"pip install --no-build-isolation: {len(mods)} modules, imported and run from another folder"
