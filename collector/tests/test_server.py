"""`speclab-collect serve`: every refusal (token, Origin, Host, sizes, traversal, model/dataset validation,
remote code), and a job's life: submit, progress over SSE, cancel, resume, server restart, files served."""

import hashlib
import http.client
import json
import os
import time

import numpy as np
import pytest

from speclab_collect.reader import column, read_trace
from speclab_collect.run import RunOptions, collect
from speclab_collect.server import Policy, make_server

TOKEN = "test-token-123"
ORIGIN = "http://localhost:5173"
TINY = {
    "model_type": "mixtral",
    "vocab_size": 300,
    "hidden_size": 32,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_local_experts": 4,
    "num_experts_per_tok": 2,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    with open(d / "docs.jsonl", "w") as f:
        for i in range(60):
            f.write(json.dumps({"text": f"Doc {i}. " + "routing tokens to experts " * (i % 4 + 1)}) + "\n")
    return d


@pytest.fixture(scope="module")
def server(tmp_path_factory, data):
    # One server for the refusal tests: none of them creates a job.
    srv = make_server(tmp_path_factory.mktemp("root"), 0, TOKEN, policy=Policy(data_roots=[data]))
    srv.start()
    yield srv
    srv.stop()


def request(srv, method, path, body=None, headers=None, host=None, raw=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host if host is not None else f"127.0.0.1:{srv.port}")
    h = {"Authorization": f"token {TOKEN}"}
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None:
        h.setdefault("Content-Type", "application/json")
        h.setdefault("Content-Length", str(len(data)))
    for k, v in h.items():
        if v is not None:
            conn.putheader(k, v)
    conn.endheaders()
    if data is not None:
        conn.send(data)
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = payload
    return resp.status, dict(resp.getheaders()), parsed


def job_spec(data, name="j1", **over):
    spec = {
        "name": name,
        "config": TINY,
        "model": "tiny-random",
        "datasets": [{"source": str(data / "docs.jsonl"), "budget": 1500}],
        "seqLen": 32,
        "batchSize": 2,
        "dtype": "fp32",
        "shardTokens": 200,
        "threads": 1,
    }
    spec.update(over)
    return spec


# ------------------------------------------------------------------------------------------- refusals


def test_token_required(server):
    assert request(server, "GET", "/api/jobs", headers={"Authorization": None})[0] == 401
    assert request(server, "GET", "/api/jobs", headers={"Authorization": "token wrong"})[0] == 401
    assert request(server, "GET", "/api/jobs", headers={"Authorization": f"Basic {TOKEN}"})[0] == 401
    assert request(server, "GET", "/traces/x/manifest.json", headers={"Authorization": None})[0] == 401
    assert request(server, "GET", "/api/jobs")[0] == 200
    assert request(server, "GET", "/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert request(server, "GET", f"/api/jobs?token={TOKEN}", headers={"Authorization": None})[0] == 200


def test_foreign_origin_refused_allowed_origin_gets_cors(server):
    status, _, body = request(server, "GET", "/api/jobs", headers={"Origin": "http://evil.example"})
    assert status == 403 and "Origin" in body["error"]
    status, headers, _ = request(server, "GET", "/api/jobs", headers={"Origin": ORIGIN})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == ORIGIN
    # Preflight: allowed origin only.
    status, headers, _ = request(server, "OPTIONS", "/api/jobs", headers={"Origin": ORIGIN, "Authorization": None})
    assert status == 204 and "Authorization" in headers["Access-Control-Allow-Headers"]
    assert request(server, "OPTIONS", "/api/jobs", headers={"Origin": "http://evil.example"})[0] == 403
    assert request(server, "OPTIONS", "/api/jobs", headers={"Origin": "null"})[0] == 403


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost.evil.example", "127.0.0.2:{port}", ""])
def test_foreign_host_refused(server, host):
    """DNS rebinding: a page on evil.example resolved to 127.0.0.1 still sends Host: evil.example."""
    status, _, body = request(server, "GET", "/api/jobs", host=host.format(port=server.port))
    assert status == 403 and "Host" in body["error"]
    for ok in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "localhost"):
        assert request(server, "GET", "/api/jobs", host=ok)[0] == 200


def test_request_size_and_type_limits(server, data):
    assert request(server, "POST", "/api/jobs", raw=b"{" + b" " * (70 * 1024) + b"}")[0] == 413
    assert request(server, "GET", "/api/jobs?x=" + "a" * 5000)[0] == 414
    assert request(server, "POST", "/api/jobs", raw=b"{}", headers={"Content-Length": None})[0] == 411
    assert request(server, "POST", "/api/jobs", raw=json.dumps(job_spec(data)).encode(), headers={"Content-Type": "text/plain"})[0] == 415
    assert request(server, "POST", "/api/jobs", raw=b"{nope")[0] == 400
    assert request(server, "DELETE", "/api/jobs")[0] == 405


@pytest.mark.parametrize(
    "over, status, message",
    [
        ({"config": None, "model": "../../etc"}, 400, "must be absolute"),
        ({"config": None, "model": "/no/such/model"}, 400, "no such local model folder"),
        ({"config": None, "model": "evil; rm -rf /"}, 400, "neither a local model folder nor a Hugging Face id"),
        ({"config": None, "model": None}, 400, "model is required"),
        ({"trustRemoteCode": True}, 403, "allow-remote-code"),
        ({"datasets": ["/etc/passwd"]}, 403, "must be under"),
        ({"datasets": ["relative/file.jsonl"]}, 400, "neither a known dataset"),
        ({"datasets": [{"source": "imdb", "budget": -5}]}, 400, "positive token count"),
        ({"name": "../x"}, 400, "name must be"),
        ({"dtype": "int3"}, 400, "dtype must be one of"),
        ({"gpuMemory": "$(reboot)"}, 400, "gpuMemory must look like"),
        ({"batchSize": 0}, 400, "batchSize must be an integer"),
        ({"shell": "ls"}, 400, "unknown fields: shell"),
        ({"config": ["x"]}, 400, "config must be a JSON object"),
    ],
)
def test_job_validation(server, data, over, status, message):
    spec = {k: v for k, v in {**job_spec(data), **over}.items() if v is not None}
    got, _, body = request(server, "POST", "/api/jobs", spec)
    assert got == status and message in body["error"], body
    assert request(server, "GET", "/api/jobs")[2]["jobs"] == []


def test_trust_remote_code_only_with_server_flag(tmp_path, data):
    srv = make_server(tmp_path / "r2", 0, TOKEN, policy=Policy(allow_remote_code=True, data_roots=[data]))
    try:
        srv.runner.start = lambda: None  # validation only: nothing runs
        assert srv.runner._queue is not None
        build = __import__("speclab_collect.server", fromlist=["build_job"]).build_job
        _, args, _ = build(job_spec(data, trustRemoteCode=True), srv.policy, tmp_path / "cfg")
        assert "--trust-remote-code" in args
    finally:
        srv.server_close()


def test_file_serving_stays_inside_the_trace_folder(data, tmp_path):
    server = make_server(tmp_path / "root", 0, TOKEN, policy=Policy(data_roots=[data]))
    server.runner.start = lambda: None  # a job on record but never run: we fill its folder by hand
    server.start()
    try:
        _check_files(server, data, tmp_path)
    finally:
        server.stop()


def _check_files(server, data, tmp_path):
    status, _, _ = request(server, "POST", "/api/jobs", job_spec(data, name="files"))
    assert status == 201
    folder = server.root / "traces" / "files"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text('{"ok": 1}')
    secret = tmp_path / "secret.arrow"
    secret.write_text("secret")
    os.symlink(secret, folder / "link.arrow")
    assert request(server, "GET", "/traces/files/manifest.json")[2] == {"ok": 1}
    for bad in (
        "/traces/files/link.arrow",
        "/traces/files/..%2F..%2Fjobs.sqlite",
        "/traces/files/../../jobs.sqlite",
        "/traces/files/%2e%2e",
        "/traces/..%2Froot/jobs.sqlite",
        "/traces/files/jobs.sqlite",
        "/traces/nojob/manifest.json",
        "/traces/files/.speclab-tmp-manifest.json",
    ):
        status, _, body = request(server, "GET", bad)
        assert status == 404, (bad, body)


# ------------------------------------------------------------------------------------------- a job's life


def sse_events(srv, name, stop_when):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    conn.request("GET", f"/api/jobs/{name}/events?token={TOKEN}", headers={"Origin": ORIGIN})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/event-stream"
    assert resp.getheader("Access-Control-Allow-Origin") == ORIGIN
    events = []
    while True:
        line = resp.fp.readline().decode()
        if not line:
            break
        if line.startswith("data: "):
            events.append(json.loads(line[6:]))
            if stop_when(events[-1]):
                break
    conn.close()
    return events


def wait_for(cond, timeout=120):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out")


def shards_on_disk(srv, name):
    m = srv.root / "traces" / name / "manifest.json"
    return len(json.loads(m.read_text())["shards"]) if m.exists() else 0


def test_job_submit_progress_cancel_resume_restart_serve(tmp_path, data, monkeypatch):
    monkeypatch.setenv("SPECLAB_COLLECT_TEST_DELAY", "0.1")  # inherited by the job subprocesses
    root = tmp_path / "root"
    srv = make_server(root, 0, TOKEN, policy=Policy(data_roots=[data]))
    srv.start()
    try:
        status, _, body = request(srv, "POST", "/api/jobs", job_spec(data))
        assert status == 201 and body["job"]["status"] == "queued"
        assert request(srv, "POST", "/api/jobs", job_spec(data))[0] == 409  # names are unique
        # Progress streams over SSE until the first shards are published; then cancel.
        events = sse_events(srv, "j1", lambda j: (j.get("progress") or {}).get("event") == "progress")
        assert events[-1]["status"] == "running" and events[-1]["progress"]["total"] == 1500
        wait_for(lambda: shards_on_disk(srv, "j1") >= 2)
        status, _, body = request(srv, "POST", "/api/jobs/j1/cancel")
        assert status == 200 and body["job"]["status"] == "cancelled"
        assert request(srv, "POST", "/api/jobs/j1/cancel")[0] == 409
        cut = shards_on_disk(srv, "j1")
        assert 2 <= cut < 8
        # Resume, let it publish more, then stop the whole server mid-run.
        assert request(srv, "POST", "/api/jobs/j1/resume")[2]["job"]["status"] == "queued"
        wait_for(lambda: shards_on_disk(srv, "j1") > cut)
    finally:
        srv.stop()
    assert json.loads((root / "traces/j1/manifest.json").read_text())["source"]["complete"] is False

    # A new server on the same folder knows the job and finishes it.
    monkeypatch.setenv("SPECLAB_COLLECT_TEST_DELAY", "0")
    srv = make_server(root, 0, TOKEN, policy=Policy(data_roots=[data]))
    srv.start()
    try:
        jobs = request(srv, "GET", "/api/jobs")[2]["jobs"]
        assert [j["name"] for j in jobs] == ["j1"] and jobs[0]["status"] in ("queued", "running")
        events = sse_events(srv, "j1", lambda j: j["status"] in ("done", "failed", "cancelled"))
        assert events[-1]["status"] == "done", request(srv, "GET", "/api/jobs/j1/log")[2]
        status, headers, manifest = request(srv, "GET", "/traces/j1/manifest.json", headers={"Origin": ORIGIN})
        assert status == 200 and headers["Access-Control-Allow-Origin"] == ORIGIN
        assert manifest["source"]["complete"] and manifest["source"]["resumedTimes"] == 2
        first = manifest["shards"][0]
        status, _, shard = request(srv, "GET", f"/traces/j1/{first['file']}")
        assert status == 200 and hashlib.sha256(shard).hexdigest() == first["sha256"]
        log = request(srv, "GET", "/api/jobs/j1/log")[2]
        assert log.count(b"--- ") == 3  # three runs: first, resumed, after the restart
    finally:
        srv.stop()

    # Same arrays as one uninterrupted run of the same job.
    ref = tmp_path / "ref"
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    collect(
        RunOptions(
            out=str(ref),
            datasets=[str(data / "docs.jsonl") + ":1500"],
            model="tiny-random",
            config_json=str(root / "configs/j1.json"),
            seq_len=32,
            batch_size=2,
            dtype="fp32",
            shard_tokens=200,
            progress="none",
            threads=1,
        )
    )
    (_, a), (_, b) = read_trace(ref), read_trace(root / "traces/j1")
    for k in ("seq", "pos", "dataset", "token_id"):
        np.testing.assert_array_equal(column(a, k), column(b, k))
    np.testing.assert_array_equal(column(a, "experts", 4), column(b, "experts", 4))
    np.testing.assert_array_equal(column(a, "logits", 8), column(b, "logits", 8))


def test_event_history_replays_every_change_of_the_current_run(tmp_path):
    """A stream gets every change in order, none coalesced, also when it connects after they happened; a
    resumed job's stream starts at the resume, not at the end of the run before it."""
    from speclab_collect.server import JobStore

    store = JobStore(tmp_path / "jobs.sqlite")
    store.add("j", {"name": "j"}, [])
    store.update("j", status="running", progress={"event": "start", "tokens": 0, "total": 30})
    for t in (10, 20, 30):
        store.update("j", progress={"event": "progress", "tokens": t, "total": 30})
    store.update("j", progress={"event": "done", "tokens": 30, "total": 30})
    store.update("j", status="done")
    with store.changed:
        late = store.since("j", -1)
    assert [j["status"] for _, j in late] == ["queued", "running", "running", "running", "running", "running", "done"]
    assert [j["progress"]["tokens"] for _, j in late if j["progress"] and j["progress"]["event"] == "progress"] == [10, 20, 30]
    versions = [v for v, _ in late]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    with store.changed:
        assert store.since("j", versions[-1]) == []
        assert [j["progress"]["tokens"] for _, j in store.since("j", versions[3])] == [30, 30, 30]

    store.update("j", status="queued", progress=None)  # resumed
    with store.changed:
        assert [j["status"] for _, j in store.since("j", -1)] == ["queued"]

    other = JobStore(tmp_path / "jobs.sqlite")  # a restarted server knows the job, not its history
    with other.changed:
        assert [j["status"] for _, j in other.since("j", -1)] == ["queued"]
        assert other.since("j", 0) == []
