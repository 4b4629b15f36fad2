"""A classifier returning scores instead of probabilities (negative logits, rows summing to 3)
is refused like NaN: one line naming the plugin and the rows, exit 2, its cells not recorded,
whether the scores reach the cell directly (concat) or through a decision-level fusion that
would have averaged them (late-mean). Through the CLI, with a third-party plugin."""

from __future__ import annotations

import pytest

from misbehave_kit import install, mmbench
from test_integrity import HOG, TFIDF, error_lines, scores, suite


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    return install(tmp_path_factory.mktemp("proba") / "site")


@pytest.mark.parametrize("classifier, says", [
    ("logits", "returned negative values for "),
    ("unnormalized", "returned rows not summing to 1 for 24 of 24 rows (row 0, 1, 2, 3, 4 ...)"
                     ", e.g. row 0 sums to 3"),
])
@pytest.mark.parametrize("fusion", ["concat", "late-mean"])
def test_scores_that_are_not_probabilities_are_refused(site, tmp_path, classifier, says, fusion):
    path = suite(tmp_path, "p", HOG + TFIDF + f'[[fusions]]\nname = "{fusion}"\n'
                 f'[[classifiers]]\nname = "{classifier}"\n[[classifiers]]\nname = "honest"\n')
    done = mmbench(site, "run", path)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr
    (line,) = error_lines(done.stderr)
    assert f"classifier {classifier} (plugin misbehave)" in line and says in line, line
    got = scores(tmp_path / "results" / "p")
    assert got and not any(classifier in key[2] for key in got), got  # none of its cells
    assert {key[1].split("(")[0] for key in got} == {"unimodal", fusion}  # honest ones recorded
