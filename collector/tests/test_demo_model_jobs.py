"""The trained demo model through the paths users take: `run` with bitsandbytes quantisation (refused, with the
reason, because transformers 5.x bitsandbytes does not reach fused expert weights), the job server (a job on the
trained model, and the same refusal arriving in the notebook as the job's error), and `serve`'s origin options."""

import json
import subprocess
import sys
import time
import types

import pytest
import torch

from speclab_collect import cli
from speclab_collect.demo import demo_model_dir
from speclab_collect.models import LoadOptions, ModelError, load_model, require_bitsandbytes
from speclab_collect.reader import column, read_trace
from speclab_collect.server import DEFAULT_ORIGINS, Policy, check_origins, make_server

MODEL = demo_model_dir()
DATA = MODEL / "eval-python.jsonl"


@pytest.fixture
def fake_bnb(monkeypatch):
    """bitsandbytes 'installed' on a machine with a 'GPU': what the user with a 3090 has."""
    monkeypatch.setitem(sys.modules, "bitsandbytes", types.ModuleType("bitsandbytes"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


def test_fused_experts_refused_even_with_bitsandbytes_present(fake_bnb):
    require_bitsandbytes()  # the dependency check passes ...
    for q in ("int8", "int4"):  # ... and the fused experts are still named, before any weight is read
        with pytest.raises(ModelError) as e:
            load_model(LoadOptions(model=str(MODEL), quantization=q, device="cpu"))
        msg = str(e.value)
        assert f"--quantization {q}" in msg and "model.layers.0.mlp.experts." in msg and "12 tensors" in msg
        assert "bitsandbytes does not quantise" in msg and "--allow-unquantized-experts" in msg and "--gpu-memory" in msg


def test_run_command_says_why_and_writes_nothing(tmp_path):
    out = tmp_path / "q"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "speclab_collect",
            "run",
            "--model",
            str(MODEL),
            "--tokenizer",
            "bytes",
            "--dataset",
            f"python={DATA}",
            "--quantization",
            "int4",
            "--out",
            str(out),
            "--progress",
            "jsonl",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert events[-1]["event"] == "error" and "fused 3-D weights" in events[-1]["message"]
    assert "speclab-collect run: error: --quantization int4: this transformers stores each layer's experts" in r.stderr
    assert not list(out.glob("*.arrow")) if out.exists() else True


def _wait(srv, name, timeout=240):
    t0 = time.time()
    while time.time() - t0 < timeout:
        job = srv.store.get(name)
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {name} did not end: {srv.store.get(name)}")


def test_server_jobs_on_the_trained_model(tmp_path):
    srv = make_server(tmp_path / "root", 0, "tok-123456789", policy=Policy(model_roots=[MODEL], data_roots=[MODEL]))
    srv.start()
    try:
        from speclab_collect.server import build_job

        base = {
            "model": str(MODEL),
            "tokenizer": "bytes",
            "datasets": [{"source": str(DATA), "budget": 400, "label": "python"}],
            "seqLen": 512,
            "batchSize": 2,
            "dtype": "fp32",
            "shardTokens": 256,
            "threads": 1,
        }
        for spec in ({**base, "name": "ok"}, {**base, "name": "q4", "quantization": "int4"}):
            name, args, spec = build_job(spec, srv.policy, srv.root / "configs")
            srv.store.add(name, spec, args)
            srv.runner.submit(name)
        ok, q4 = _wait(srv, "ok"), _wait(srv, "q4")
        assert ok["status"] == "done", ok
        m, t = read_trace(srv.root / "traces" / "ok")
        assert (m["numLayers"], m["numExperts"], m["topK"], m["datasets"]) == (6, 8, 2, ["python"])
        assert len(column(t, "token_id")) == 400
        # What the Collect panel shows for the quantised job: the collector's own explanation.
        assert q4["status"] == "failed" and "fused 3-D weights" in q4["error"] and "bitsandbytes" in q4["error"]
    finally:
        srv.stop()


def test_allowed_origins_are_exact_and_printed(tmp_path):
    assert check_origins([]) == DEFAULT_ORIGINS
    assert check_origins(["http://localhost:4196", "https://notebook.example:8443"]) == (
        "http://localhost:4196",
        "https://notebook.example:8443",
    )
    for bad in ("*", "null", "http://localhost:5173/", "localhost:5173", "http://a.example/path"):
        with pytest.raises(ValueError, match="exact origin"):
            check_origins([bad])
    assert cli.main(["serve", "--out-root", str(tmp_path / "r"), "--allow-origin", "*"]) == 2
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "speclab_collect",
            "serve",
            "--port",
            "0",
            "--out-root",
            str(tmp_path / "r"),
            "--allow-origin",
            "http://localhost:4196",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [p.stderr.readline() for _ in range(4)]
    finally:
        p.terminate()
        p.wait(30)
    assert lines[1].strip().startswith("http://127.0.0.1:") and "?token=" in lines[1]
    assert lines[3].strip() == "notebook origins allowed: http://localhost:4196 (others: --allow-origin ORIGIN)"
