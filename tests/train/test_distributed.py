"""Distribution strategies: TF_CONFIG errors, and two real worker processes training one model."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from har.cli.main import app
from har.train.distribute import read_tf_config

TINY = '[train]\nbatch_size = 2\npatience = 50\njit_compile = false\n[train.sampling]\nseq_len = 4\nsize = 64\nclips_per_video = 1\n'


@pytest.mark.parametrize("value, message", [
    (None, "needs the TF_CONFIG environment variable"),
    ("{cluster: ", "not valid JSON"),
    ('{"cluster": {"worker": ["a:1"]}}', "needs a 'cluster' and a 'task'"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}', "is not in its cluster"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "is not in its cluster"),
])
def test_bad_tf_config_is_one_clear_error(value, message, monkeypatch):
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(ValueError, match=message):
        read_tf_config()


def test_cli_multiworker_without_tf_config_exits_2(tiny_synth, tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    res = CliRunner().invoke(app, ["train", "--data", str(tiny_synth), "--strategy", "multiworker",
                                   "--out", str(tmp_path)])
    assert res.exit_code == 2 and "TF_CONFIG" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["train", "--data", str(tiny_synth), "--strategy", "horovod"])
    assert res.exit_code == 2 and "none, mirrored, multiworker" in res.output


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_two_workers_train_one_model(tiny_synth, tmp_path):
    """Two `har train` processes on 127.0.0.1 form one cluster and end with the same weights.

    Workers that trained separately would each report 1 replica (and a global
    batch of 2); only the chief may write artifacts.
    """
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for i in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                   TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
        cmd = [sys.executable, "-m", "har.cli.main", "train", "--data", str(tiny_synth), "--config", str(config),
               "--classes", "wave,jump", "--epochs", "2", "--strategy", "multiworker", "--input-pipeline", "shards",
               "--out", str(tmp_path / f"out{i}"), "--cache-dir", str(tmp_path / "cache")]  # one shared cache
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    for p in procs:
        try:
            logs.append(p.communicate(timeout=240)[0])
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("the workers did not finish in 240 s")
    for i, (p, log) in enumerate(zip(procs, logs, strict=True)):
        assert p.returncode == 0, f"worker {i}:\n{log[-3000:]}"
    digests = [re.search(r"final weights sha256 ([0-9a-f]{64})", log).group(1) for log in logs]
    assert digests[0] == digests[1]
    m = json.loads((tmp_path / "out0" / "lrcn" / "metrics.json").read_text())
    assert m["strategy"] == "multiworker" and m["replicas"] == 2 and m["global_batch_size"] == 4
    assert len(json.loads((tmp_path / "out0" / "lrcn" / "history.json").read_text())["loss"]) == 2
    assert not (tmp_path / "out1").exists() and "the chief writes the artifacts" in logs[1]

    from har.models.keras_layers import load_model
    from har.train.distribute import weights_digest

    saved = load_model(tmp_path / "out0" / "lrcn" / "model.keras")
    assert weights_digest(saved) == digests[1]  # the chief saved what worker 1 trained


def test_mirrored_strategy_trains_in_process(tiny_synth, tmp_path):
    """MirroredStrategy on this machine's devices (one CPU here): the tf.data path, batch per replica."""
    from har.train.config import load_config
    from har.train.fit import train

    cfg = load_config(None, dict(model="lrcn", data=str(tiny_synth), classes=["wave", "jump"], epochs=1,
                                 batch_size=3, seq_len=4,
                                 clips_per_video=1, strategy="mirrored", out=str(tmp_path / "out"),
                                 cache_dir=str(tmp_path / "cache")))
    m = json.loads((train(cfg) / "metrics.json").read_text())
    assert m["strategy"] == "mirrored" and m["input_pipeline"] == "memory"
    assert m["global_batch_size"] == 3 * m["replicas"] >= 3
    assert sum(map(sum, m["confusion"])) == m["split_sizes"]["test"] > 0
