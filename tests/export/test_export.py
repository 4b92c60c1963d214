"""End to end: a tiny trained LRCN -> `har export` -> bundle + parity check -> LiteRT without TensorFlow.

One LRCN is trained once (3 synthetic classes, 1 epoch) and exported once
with the parity check; the tests then read what that run wrote and redo its
figures independently. Accuracy of a 1-epoch model means nothing, so the
tests check parity with Keras, never accuracy itself (`har bench` compares
the variants and reports the goals: tests/export/test_bench.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from har.edge.bundle import BundleError, load_bundle  # noqa: E402
from har.edge.interpreter import StreamingClassifier, TfliteModel, WindowClassifier  # noqa: E402
from har.edge.preprocess import normalize  # noqa: E402

CLASSES = ("idle", "wave", "jump")  # for the ConvLSTM model made here
CHECKED = ["keras", "int8", "streaming-int8"]  # Keras and the bundle's own models, nothing else
ROW_FIELDS = {"name", "kind", "files", "bytes", "test_accuracy", "macro_f1", "agreement_with_keras", "max_abs_diff"}


@pytest.fixture(scope="module")
def exported(tiny_model_dir, tmp_path_factory):
    """`har export` of the session's tiny LRCN (tests/conftest.py), with the parity check, once."""
    from typer.testing import CliRunner

    from har.cli.main import app
    from har.export.checks import load_model_dir
    from har.export.data import load_splits
    from har.models.keras_layers import load_model

    root = tmp_path_factory.mktemp("export")
    res = CliRunner().invoke(app, ["export", "--model", str(tiny_model_dir), "--out", str(root / "bundle"),
                                   "--quant", "int8", "--samples", "24", "--threads", "1,2"])
    assert res.exit_code == 0, res.output
    md = load_model_dir(tiny_model_dir)
    _, (test_x, test_y) = load_splits(md, test=True)
    keras_probs = load_model(tiny_model_dir / "model.keras").predict(
        normalize(test_x, md.normalization), verbose=0)
    return SimpleNamespace(root=root, model_dir=tiny_model_dir, md=md, bundle=root / "bundle", output=res.output,
                           report=json.loads((root / "bundle" / "report.json").read_text()),
                           test_x=test_x, test_y=test_y, keras_probs=keras_probs)


def test_cli_prints_the_bundle_and_one_line_per_check(exported):
    lines = exported.output.splitlines()
    assert any(line.startswith("bundle ") and "model.tflite" in line for line in lines)
    checks = [line.strip() for line in lines if line.startswith("  ")]
    assert [c.split(" ")[0] for c in checks] == CHECKED
    assert checks[0].startswith("keras (model.keras, ")
    assert checks[1].startswith("int8 (model.tflite, ") and "agrees with Keras" in checks[1]
    assert checks[2].startswith("streaming-int8 (encoder.tflite + head.tflite, ")
    assert "agrees with the window model" in checks[2] and "float ops in int8: none" in checks[2]
    assert f"on {len(exported.test_y)} held-out clips" in checks[0]
    # --threads is still accepted (the fixture passes it) and says where latency went.
    assert "--threads is ignored" in exported.output and "har bench" in exported.output
    assert " ms" not in exported.output and "goal" not in exported.output
    assert f"report {exported.bundle / 'report.md'}" in exported.output


def test_int8_bundle_contract(exported):
    b = load_bundle(exported.bundle)
    assert sorted(p.name for p in exported.bundle.iterdir()) == [
        "encoder.tflite", "head.tflite", "metadata.json", "model.tflite", "report.json", "report.md"]
    assert b.labels == exported.md.labels and b.quantization == "int8" and b.has_streaming
    cfg = json.loads((exported.model_dir / "config.json").read_text())
    assert (b.seq_len, b.frame_size) == (cfg["sampling"]["seq_len"], cfg["sampling"]["size"])
    assert (b.sampling_mode, b.interval_s) == (cfg["sampling"]["mode"], cfg["sampling"]["interval_s"])
    window, encoder, head = b.models["window"], b.models["encoder"], b.models["head"]
    for info in (window.input, window.output, encoder.input, encoder.output):
        assert info.dtype == "int8" and info.quantized
    assert b.normalization == "scale_0_1"
    # The calibration spans the whole pixel range: q = x - 128 on the device.
    assert abs(window.input.scale * 255 - 1) < 1e-6 and window.input.zero_point == -128
    assert encoder.output.shape == (1, 64) and head.input.shape == (1, b.seq_len, 64)
    assert head.quantization == "fp32"  # the LSTM head stays float, see HEAD_QUANT
    # The head's second output is its LSTM(32) state, for har-edge enroll, float like the head.
    assert b.head_embeds and head.embedding.shape == (1, 32) and head.embedding.dtype == "float32"
    assert set(b.metadata["embedding"]["references"]) <= set(b.labels)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in window.ops
    for info in b.models.values():
        assert not any(op.startswith("Flex") or op in ("CUSTOM", "READ_VARIABLE") for op in info.ops)
    meta = b.metadata
    metrics = json.loads((exported.model_dir / "metrics.json").read_text())
    assert meta["source"]["model"] == "lrcn" and b.source_metrics["test_accuracy"] == metrics["test_accuracy"]
    assert meta["calibration"]["split"] == "train" and 0 < meta["calibration"]["clips"] <= 24
    assert meta["converter"]["tensorflow"]


def test_report_checks_only_the_bundle_and_times_nothing(exported):
    rep = exported.report
    assert [r["name"] for r in rep["variants"]] == CHECKED
    for row in rep["variants"]:
        assert ROW_FIELDS <= set(row), row["name"]
        assert row["bytes"] > 0 and row["test_accuracy"] is not None
        assert not any("ms" in key or "latency" in key for key in row), row
    rows = {r["name"]: r for r in rep["variants"]}
    b = load_bundle(exported.bundle)
    assert rows["int8"]["files"] == ["model.tflite"] and rows["int8"]["bytes"] == b.models["window"].bytes
    assert rows["streaming-int8"]["bytes"] == b.models["encoder"].bytes + b.models["head"].bytes
    assert rows["keras"]["bytes"] == (exported.model_dir / "model.keras").stat().st_size
    assert rows["int8"]["float_ops"] == [] and "float_ops" not in rows["keras"]
    assert rows["streaming-int8"]["quantization"] == {"encoder": "int8", "head": "fp32"}
    assert rows["streaming-int8"]["float_ops"] == []  # the fp32 head is not an int8 graph
    assert rep["test_split"]["samples"] == len(exported.test_y) and rep["calibration"]["split"] == "train"
    assert rep["test_split"]["groups"] == json.loads((exported.model_dir / "metrics.json").read_text()).get(
        "split_groups", {}).get("test")
    assert "goals" not in rep and "threads" not in rep
    md = (exported.bundle / "report.md").read_text()
    assert "| model |" in md and "streaming-int8" in md and "`har bench`" in md
    assert md.count("\n| ") == 1 + len(CHECKED)  # header and one line per checked model


def test_report_figures_are_the_bundle_against_keras(exported):
    """Every figure of the check, recomputed here from the bundle as the device runs it and from Keras."""
    from har.models.metrics import classification_metrics

    b = load_bundle(exported.bundle)
    window, stream = WindowClassifier(b), StreamingClassifier(b)
    x, y, keras = exported.test_x, exported.test_y, exported.keras_probs
    whole = np.stack([window.classify(c) for c in x])
    streamed = np.stack([stream.classify(np.stack([stream.encode(f) for f in c])) for c in x])
    rows = {r["name"]: r for r in exported.report["variants"]}
    metrics = json.loads((exported.model_dir / "metrics.json").read_text())
    assert rows["keras"]["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    for name, probs in (("keras", keras), ("int8", whole), ("streaming-int8", streamed)):
        row, m = rows[name], classification_metrics(y, probs.argmax(1), exported.md.labels)
        assert row["test_accuracy"] == pytest.approx(m["accuracy"], abs=1e-6), name
        assert row["macro_f1"] == pytest.approx(m["macro_f1"], abs=1e-6), name
        assert row["agreement_with_keras"] == pytest.approx((probs.argmax(1) == keras.argmax(1)).mean()), name
        assert row["max_abs_diff"] == pytest.approx(np.abs(probs - keras).max(), abs=1e-5), name
    assert rows["keras"]["max_abs_diff"] == 0 and 0 < rows["int8"]["max_abs_diff"] < 0.15
    assert rows["streaming-int8"]["agreement_with_window"] == pytest.approx((whole.argmax(1) ==
                                                                             streamed.argmax(1)).mean())
    assert np.abs(whole - streamed).max() < 0.1
    margin = np.sort(whole, axis=1)[:, -1] - np.sort(whole, axis=1)[:, -2]
    clear = margin > 0.05  # int8 rounding may flip near-ties of a 1-epoch model, nothing else
    assert (whole.argmax(1) == streamed.argmax(1))[clear].all()


def test_fp32_check_matches_keras_and_no_report_writes_none(exported, tmp_path):
    from har.export.tflite import export_bundle, export_checked

    path, rep = export_checked(exported.model_dir, tmp_path / "fp32", "fp32", log=lambda s: None)
    rows = {r["name"]: r for r in rep["variants"]}
    assert list(rows) == ["keras", "fp32", "streaming-fp32"]
    for name in ("fp32", "streaming-fp32"):
        assert rows[name]["max_abs_diff"] < 1e-4 and rows[name]["agreement_with_keras"] == 1.0, name
        assert rows[name]["float_ops"] is None, name  # no int8 graph: nothing to list
    assert rows["streaming-fp32"]["agreement_with_window"] == 1.0
    assert rep["calibration"] is None and "embedding" in load_bundle(path).metadata  # enroll needs it
    assert json.loads((path / "report.json").read_text()) == rep
    plain = export_bundle(exported.model_dir, tmp_path / "plain", "fp32", log=lambda s: None)
    assert not (plain / "report.json").exists() and not (plain / "report.md").exists()


def test_every_quant_mode_round_trips(exported, tmp_path):
    """fp32, dynamic, fp16 and int8 bundles of the model, with [-1, 1] input (as `make train` uses)."""
    from har.export.bundle import assemble_bundle
    from har.export.checks import load_model_dir
    from har.export.data import calibration_clips, load_splits
    from har.export.worker import bundle_files, convert_models, targets_for
    from har.models.keras_layers import load_model

    model_dir = tmp_path / "lrcn"
    shutil.copytree(exported.model_dir, model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps(dict(cfg, normalization="scale_-1_1")))
    md = load_model_dir(model_dir)
    modes = ["fp32", "dynamic", "fp16", "int8"]
    train_x, _ = load_splits(md, test=False)
    conv = convert_models(md, tmp_path / "work", targets_for(md, modes), calibration=calibration_clips(md, train_x, 8))
    tolerance = {"fp32": 1e-4, "fp16": 0.01, "dynamic": 0.1, "int8": 0.15}
    x = exported.test_x[:4]
    ref = load_model(model_dir / "model.keras").predict(
        normalize(x, "scale_-1_1"), verbose=0)
    for q in modes:  # each replaces the previous bundle in the same directory
        b = load_bundle(assemble_bundle(md, tmp_path / "bundle", q, bundle_files(md, conv, q), conv))
        assert b.quantization == q and b.normalization == "scale_-1_1"
        assert b.models["window"].input.dtype == ("int8" if q == "int8" else "float32")
        window, stream = WindowClassifier(b), StreamingClassifier(b)
        probs = np.stack([window.classify(c) for c in x])
        streamed = np.stack([stream.classify(np.stack([stream.encode(f) for f in c])) for c in x])
        assert np.abs(probs - ref).max() < tolerance[q], q
        assert np.abs(streamed - ref).max() < tolerance[q], q
    encoder = TfliteModel(b.model_file("encoder"), normalization=b.normalization)
    for pixel, q in ((0, -128), (255, 127)):  # int8 input range = the whole pixel range, within 1 step
        frame = np.full((b.frame_size, b.frame_size, 3), pixel, np.uint8)
        assert abs(int(encoder.prepare(frame).max()) - q) <= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "lrcn", "work"]  # no staging leftovers


def test_int8_bundle_runs_where_tensorflow_cannot_be_imported(exported, tmp_path):
    np.save(tmp_path / "clips.npy", exported.test_x[:3])
    code = textwrap.dedent(f"""
        import importlib.abc, json, sys
        sys.modules["tensorflow"] = None

        class NoTensorFlow(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in ("tensorflow", "keras", "tf_keras") or name.startswith(
                        ("har.train", "har.export", "har.models")):
                    raise ImportError("blocked: " + name)

        sys.meta_path.insert(0, NoTensorFlow())
        import numpy as np
        from har.edge.bundle import load_bundle
        from har.edge.bundle.describe import describe
        from har.edge.interpreter import StreamingClassifier, WindowClassifier, backend_name

        b = load_bundle({str(exported.bundle)!r})
        clips = np.load({str(tmp_path / "clips.npy")!r})
        w, s = WindowClassifier(b, threads=2), StreamingClassifier(b)
        window = [w.classify(c).tolist() for c in clips]
        stream = [s.classify(np.stack([s.encode(f) for f in c])).tolist() for c in clips]
        text = describe(b)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")
                       and sys.modules[m] is not None)
        print(json.dumps({{"window": window, "stream": stream, "heavy": heavy, "backend": backend_name(),
                          "described": "sha256 verified" in text}}))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["heavy"] == [] and out["described"]
    b = load_bundle(exported.bundle)
    here = np.stack([WindowClassifier(b).classify(c) for c in exported.test_x[:3]])
    assert np.allclose(np.asarray(out["window"]), here, atol=1e-6)
    assert np.abs(np.asarray(out["stream"]) - here).max() < 0.1


def test_damaged_bundle_is_refused(exported, tmp_path):
    copy = tmp_path / "bundle"
    shutil.copytree(exported.bundle, copy)
    data = bytearray((copy / "encoder.tflite").read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / "encoder.tflite").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="encoder.tflite does not match the sha256"):
        load_bundle(copy)
    shutil.copyfile(exported.bundle / "encoder.tflite", copy / "encoder.tflite")
    meta = json.loads((copy / "metadata.json").read_text())
    meta["seq_len"] = 10
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="seq_len 10"):
        load_bundle(copy)


def test_export_never_overwrites_a_folder_that_is_not_a_bundle(exported, tmp_path):
    from har.export.tflite import ExportError, export_bundle

    stranger = tmp_path / "photos"
    stranger.mkdir()
    (stranger / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(ExportError, match="not empty and not a bundle"):
        export_bundle(exported.model_dir, stranger, quant="fp32")
    assert (stranger / "holiday.jpg").exists()


@pytest.mark.slow
def test_convlstm_exports_without_streaming(tmp_path):
    import keras

    from har.export.tflite import export_bundle
    from har.models.convlstm import build_convlstm
    from har.models.keras_layers import load_model

    model_dir = tmp_path / "convlstm"
    model_dir.mkdir()
    keras.utils.set_random_seed(0)
    build_convlstm(3, 20, 64).save(model_dir / "model.keras")
    (model_dir / "labels.json").write_text(json.dumps(list(CLASSES)))
    (model_dir / "config.json").write_text(json.dumps({"model": "convlstm", "sampling": {
        "mode": "interval", "seq_len": 20, "size": 64, "interval_s": 0.1}}))
    b = load_bundle(export_bundle(model_dir, tmp_path / "bundle", quant="fp32", log=lambda s: None))
    assert not b.has_streaming and set(b.models) == {"window"}
    assert "MAX_POOL_2D" in b.models["window"].ops and "READ_VARIABLE" not in b.models["window"].ops
    probs = WindowClassifier(b).classify(np.zeros((20, 64, 64, 3), np.uint8))
    ref = load_model(Path(model_dir) / "model.keras").predict(
        np.zeros((1, 20, 64, 64, 3), np.float32), verbose=0)[0]
    assert np.abs(probs - ref).max() < 1e-4
