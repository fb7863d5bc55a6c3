"""Fixtures: the real `rocmforge serve` binary serving the real Qwen model on the CPU.

ROCMFORGE_BIN names the binary (default: target/release/rocmforge), ROCMFORGE_QWEN the model
(default: what scripts/fetch_models.py qwen prints)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-rocmforge-test"
ARTIFACTS = ROOT / "target" / "test-artifacts"


def binary() -> str:
    return os.environ.get("ROCMFORGE_BIN", str(ROOT / "target" / "release" / "rocmforge"))


def model_path() -> str:
    if "ROCMFORGE_QWEN" in os.environ:
        return os.environ["ROCMFORGE_QWEN"]
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fetch_models.py"), "qwen"], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `rocmforge serve` process; its stderr goes to a log file kept as an artifact."""

    def __init__(self, name: str, *extra: str, api_key: str | None = API_KEY):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        self.model = Path(model_path())
        self.model_id = self.model.stem
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"server-{name}.log"
        self.log = open(self.log_path, "w")
        env = dict(os.environ)
        env.pop("ROCMFORGE_API_KEY", None)
        if api_key:
            env["ROCMFORGE_API_KEY"] = api_key
        self.proc = subprocess.Popen(
            [binary(), "serve", "-m", str(self.model), "--device", "cpu", "--port", str(self.port), *extra],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not come up:\n{self.log_path.read_text()}")

    def client(self, **kw) -> openai.OpenAI:
        # No retries: the tests look at every status code themselves.
        return openai.OpenAI(base_url=self.url + "/v1", api_key=self.api_key or "none", max_retries=0, timeout=300, **kw)

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def metrics(self) -> dict:
        """Sample name with labels -> value."""
        text = httpx.get(self.url + "/metrics", headers=self.headers(), timeout=10).text
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="session")
def server():
    s = Server("main")
    yield s
    assert s.stop() == 0, s.log_path.read_text()


@pytest.fixture(scope="session")
def client(server):
    return server.client()


@pytest.fixture(scope="session")
def tokenize():
    """Token ids of a text exactly as the server's tokenizer makes them (via `rocmforge tokenize`)."""
    import json

    def run(text: str) -> list[int]:
        out = subprocess.run([binary(), "tokenize", "-m", model_path(), text], check=True, capture_output=True, text=True)
        return json.loads(out.stdout)

    return run
