"""A result is what was computed: a plugin that writes into its inputs cannot change other cells,
the data or the feature cache (and gets one line naming it, exit 2, whatever the cache holds);
a run never deletes a file it did not write, and refuses a results folder that is not its own.
Everything through the CLI, with a misbehaving third-party plugin installed as a user would."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from misbehave_kit import install, mmbench

DATA = """
seeds = [0]
[[datasets]]
name = "synthetic"
params = { n = 120, n_classes = 3 }
"""
HOG = '[[featurizers]]\nname = "hog-color"\nparams = { pixels_per_cell = 4 }\n'
TFIDF = '[[featurizers]]\nname = "tfidf"\nparams = { max_features = 64, min_df = 1 }\n'
LOGREG = '[[classifiers]]\nname = "logreg"\n'


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return install(tmp_path / "site")


def suite(folder: Path, name: str, body: str, cache: Path | None = None) -> Path:
    """``folder/<name>.toml`` with results in ``folder/results`` and its own cache (or
    ``cache``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\nresults_dir = "{folder / "results"}"\n'
                    f'cache_dir = "{cache or folder / "cache"}"\n' + DATA
                    + textwrap.dedent(body))
    return path


def scores(results: Path) -> dict[tuple[str, str, str], float]:
    """(featurizers, fusion, classifier) -> accuracy of every ok record in ``results``."""
    out = {}
    for path in (results / "cells").glob("*.json"):
        r = json.loads(path.read_text())
        if r["status"] == "ok":
            feats = "+".join(f["label"] for _, f in sorted(r["featurizers"].items()))
            out[(feats, r["fusion"]["label"], r["classifier"]["label"])] = r["metrics"]["accuracy"]
    return out


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_featurizer_zeroing_its_images_is_refused_and_spoils_nothing(site, tmp_path):
    clean = suite(tmp_path / "clean", "imgs", HOG + LOGREG)
    bad = suite(tmp_path / "bad", "imgs", '[[featurizers]]\nname = "image-scribble"\n' + HOG
                + LOGREG)
    assert mmbench(site, "run", clean).returncode == 0
    done = mmbench(site, "run", bad)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr
    (line,) = error_lines(done.stderr)
    assert "featurizer image-scribble (plugin misbehave)" in line, line
    assert "wrote into the image samples" in line and "read-only" in line, line
    # the next featurizer saw the real images; the scribbler's cell is not recorded
    assert scores(tmp_path / "bad" / "results" / "imgs") == scores(
        tmp_path / "clean" / "results" / "imgs")
    # and the feature cache the bad run filled holds the real features
    again = suite(tmp_path / "again", "imgs", HOG + LOGREG, cache=tmp_path / "bad" / "cache")
    out = mmbench(site, "run", again)
    assert out.returncode == 0 and "0 feature matrices computed" in out.stdout, out.stdout
    assert scores(tmp_path / "again" / "results" / "imgs") == scores(
        tmp_path / "clean" / "results" / "imgs")


@pytest.mark.parametrize("plugin, entry, array", [
    ("inplace-scaler", '[[classifiers]]\nname = "inplace-scaler"\n',
     "the training view 'image' float32[96, "),
    ("label-shifter", '[[classifiers]]\nname = "label-shifter"\n',
     "the training labels int64[96]"),
    ("view-scribble", '[[fusions]]\nname = "view-scribble"\n[[classifiers]]\nname = "honest"\n',
     "the training view 'image'"),
])
def test_a_cell_writing_into_its_inputs_fails_the_same_with_a_cold_or_a_warm_cache(
        site, tmp_path, plugin, entry, array):
    clean = suite(tmp_path / "clean", "cell", HOG + TFIDF + LOGREG)
    assert mmbench(site, "run", clean).returncode == 0
    expected = scores(tmp_path / "clean" / "results" / "cell")
    lines = []
    for attempt in ("cold", "warm"):  # the second run reads every feature from the cache
        bad = suite(tmp_path / attempt, "cell", entry + HOG + TFIDF + LOGREG,
                    cache=tmp_path / "cache")
        done = mmbench(site, "run", bad)
        assert done.returncode == 2, done.stdout[-3000:] + done.stderr
        (line,) = error_lines(done.stderr)
        assert plugin in line and f"wrote into {array}" in line, line
        lines.append(line)
        got = scores(tmp_path / attempt / "results" / "cell")
        assert {k: v for k, v in got.items() if k in expected} == expected  # others untouched
        assert not any(plugin in "".join(k) for k in got)  # nothing recorded for its cells
    assert lines[0] == lines[1]


def test_a_featurizer_rewriting_its_caption_list_changes_no_other_featurizer(site, tmp_path):
    clean = suite(tmp_path / "clean", "text", TFIDF + LOGREG)
    bad = suite(tmp_path / "bad", "text", '[[featurizers]]\nname = "text-scribble"\n' + TFIDF
                + LOGREG)
    assert mmbench(site, "run", clean).returncode == 0
    done = mmbench(site, "run", bad)  # its list is its own copy: allowed, and harmless
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    got, want = scores(tmp_path / "bad" / "results" / "text"), scores(
        tmp_path / "clean" / "results" / "text")
    assert {k: v for k, v in got.items() if "tfidf" in k[0]} == want


# --- files mmbench did not write ------------------------------------------------------------

def test_a_results_folder_of_foreign_files_is_refused_before_any_work(site, tmp_path):
    path = suite(tmp_path, "mine", HOG + LOGREG)
    folder = tmp_path / "results" / "mine"
    (folder / "predictions").mkdir(parents=True)
    model = folder / "predictions" / "model_A.npz"
    np.savez(model, w=np.arange(3))
    before = model.read_bytes()
    done = mmbench(site, "run", path)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = error_lines(done.stderr)
    assert f"{folder} is not an mmbench results folder" in line, line
    assert "predictions/model_A.npz" in line and "results_dir" in line, line
    assert model.read_bytes() == before
    assert sorted(p.name for p in folder.rglob("*")) == ["model_A.npz", "predictions"]
    assert not (tmp_path / "cache").exists()  # nothing was computed


def test_a_run_removes_only_files_its_store_wrote(site, tmp_path):
    path = suite(tmp_path, "mine", HOG + TFIDF + '[[fusions]]\nname = "concat"\n' + LOGREG)
    assert mmbench(site, "run", path).returncode == 0
    folder = tmp_path / "results" / "mine"
    ids = sorted(p.stem for p in (folder / "cells").glob("*.json"))
    theirs = [folder / "predictions" / "model_A.npz", folder / "predictions" / "model_B.NPZ",
              folder / "predictions" / f"{ids[0]}-old.npz", folder / "cells" / ".notes.tmp",
              folder / "cells" / "notes.json", folder / "notes.txt"]
    for p in theirs:
        p.write_bytes(b"a user's file")
    stray = folder / "predictions" / "0123456789abcdef0123.npz"  # a cell id without a record
    (folder / "cells" / f"{ids[1]}.json").unlink()  # its predictions are now a stray too
    temp = folder / "cells" / f".{ids[2]}.json.k3j_x9a2.tmp"  # what a killed writer leaves
    stray.write_bytes(b"x")
    temp.write_bytes(b"x")
    done = mmbench(site, "run", path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "removed 3 leftover file(s)" in done.stdout, done.stdout
    assert not stray.exists() and not temp.exists()
    assert all(p.read_bytes() == b"a user's file" for p in theirs)
    assert (folder / "predictions" / f"{ids[1]}.npz").exists()  # redone, not lost
    assert "1 run" in done.stdout


def test_a_store_of_an_earlier_version_without_its_marker_is_still_a_store(site, tmp_path):
    path = suite(tmp_path, "old", HOG + LOGREG)
    assert mmbench(site, "run", path).returncode == 0
    folder = tmp_path / "results" / "old"
    marker = folder / "mmbench-store.json"
    assert json.loads(marker.read_text())["store"] == "mmbench results"
    marker.unlink()  # as a store written before stores had a marker
    done = mmbench(site, "run", path)
    assert done.returncode == 0 and "1 already recorded" in done.stdout, done.stdout + done.stderr
    assert marker.exists()


def test_the_error_names_the_array_written_and_leaves_a_plugins_own_arrays_alone():
    from mmbench.readonly import InputWriteError, guard, plugin_input

    x, y = plugin_input(np.zeros((4, 2), np.float32)), plugin_input(np.zeros(4, np.int64))
    views = {"image": x, "text": plugin_input(np.ones((4, 3), np.float32))}
    inputs = {"the view 'image'": x, "the view 'text'": views["text"], "the labels": y}

    def labels(X, y):
        y[:] = 1

    def by_key(views, y):
        key = "text"
        views[key][:] = 0

    def ufunc(X, y):
        np.multiply(X, 2, out=X)

    def both(X, y):
        X[0], y[0] = 1, 1

    def own(X, y):
        mine = np.zeros(2)
        mine.flags.writeable = False
        mine[0] = 1

    for plugin, args, named in [(labels, (x, y), "the labels int64[4]"),
                                (by_key, (views, y), "the view 'text' float32[4, 3]"),
                                (ufunc, (x, y), "the view 'image' float32[4, 2]"),
                                (both, (x, y), "one of the view 'image', the labels")]:
        with pytest.raises(InputWriteError, match=rf"^p wrote into {re.escape(named)}, which"):
            with guard("p", inputs):
                plugin(*args)
    with pytest.raises(ValueError, match="read-only") as err:  # its own: its own failure
        with guard("p", inputs):
            own(x, y)
    assert not isinstance(err.value, InputWriteError)
    assert views["text"].flags.writeable is False and not np.shares_memory(x, views["text"])
    with pytest.raises(ValueError):
        x.flags.writeable = True  # a view of a frozen array cannot be unfrozen
