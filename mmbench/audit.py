"""Leakage audit: do the captions simply spell out the label? (And, in
:mod:`mmbench.duplicates`: do identical images or texts sit on both sides of a split?)

For each dataset with a text modality, once per run: the share of captions that contain their
own class's name (or a synonym, or a plural), the share that contain any class's name, and the
accuracy of a text-only TF-IDF + logistic regression (5-fold cross-validation on up to 3000
samples, a stratified subsample when there are more).
Stored in ``results/<suite>/audit.json`` (one entry per dataset variant) and shown under the
leaderboard, with a warning when the captions leak the label.

Synonyms come from a small built-in list (CIFAR-10 classes), from the dataset object's optional
``synonyms`` attribute or method (``{class_name: [words...]}``), and from
``MultimodalData.meta["synonyms"]``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cache import atomic_write_bytes

#: Built-in synonyms, keyed by class name (used for any dataset with such a class).
SYNONYMS: dict[str, list[str]] = {
    "airplane": ["plane", "aeroplane", "aircraft", "jet", "airliner", "jetliner"],
    "automobile": ["car", "auto", "sedan", "coupe", "suv", "hatchback"],
    "bird": ["sparrow", "ostrich", "eagle", "owl", "parrot", "finch", "robin", "hawk"],
    "cat": ["kitten", "kitty", "feline"],
    "deer": ["fawn", "elk", "moose", "reindeer", "stag", "doe", "antelope"],
    "dog": ["puppy", "pup", "hound", "canine"],
    "frog": ["toad", "tadpole", "bullfrog"],
    "horse": ["pony", "stallion", "mare", "foal"],
    "ship": ["boat", "vessel", "ferry", "yacht", "freighter", "cruiser", "tanker"],
    "truck": ["lorry", "pickup", "firetruck", "semi", "tractor trailer"],
}
#: Share of captions containing their own class name from which they count as label text.
LEAK_SHARE = 0.9
#: Text-only accuracy from which captions count as leaking whatever words they use.
LEAK_ACCURACY = 0.98
#: Share of captions naming their class from which the leaderboard adds a note.
NOTE_SHARE = 0.25
AUDIT_FILE = "audit.json"


def plurals(word: str) -> set[str]:
    """``word`` and its regular English plural forms."""
    forms = {word, word + "s"}
    if word.endswith(("s", "x", "z", "ch", "sh")):
        forms.add(word + "es")
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        forms.add(word[:-1] + "ies")
    return forms


def class_terms(class_name: str, extra: Iterable[str] = ()) -> set[str]:
    """Lower-case words and phrases that name a class: its name (``_``/``-`` read as spaces),
    built-in and ``extra`` synonyms, each with plural forms (a phrase pluralizes its last word)."""
    base = {class_name, *SYNONYMS.get(class_name.lower(), []), *extra}
    terms: set[str] = set()
    for t in base:
        words = re.findall(r"[a-z0-9]+", t.lower())
        if words:
            terms |= {" ".join([*words[:-1], p]) for p in plurals(words[-1])}
    return terms


def _padded(text: str) -> str:
    """``text`` as its lower-case words joined by single spaces, with a space either side."""
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def _names(padded: str, needles: Sequence[str]) -> bool:
    return any(n in padded for n in needles)


def dataset_synonyms(dataset: Any, meta: Mapping[str, Any]) -> dict[str, list[str]]:
    """Synonyms a dataset provides (attribute or zero-argument method ``synonyms``, or
    ``meta["synonyms"]``), merged."""
    out: dict[str, list[str]] = {}
    own = getattr(dataset, "synonyms", None)
    for source in (own() if callable(own) else own, meta.get("synonyms")):
        for name, words in (source or {}).items():
            out.setdefault(name, []).extend(words)
    return out


def text_only_accuracy(texts: Sequence[str], y: np.ndarray, max_samples: int = 3000,
                       seed: int = 0) -> float:
    """5-fold cross-validated accuracy of TF-IDF + logistic regression on the captions alone
    (on a stratified subsample of ``max_samples`` when there are more)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline

    idx = np.arange(len(y))
    if len(idx) > max_samples:
        idx, _ = train_test_split(idx, train_size=max_samples, stratify=y, random_state=seed)
    counts = np.bincount(y[idx])
    folds = int(min(5, counts[counts > 0].min()))
    if folds < 2:
        return float("nan")
    model = make_pipeline(TfidfVectorizer(sublinear_tf=True), LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(model, [texts[i] for i in idx], y[idx], cv=cv).mean())


def class_mentions(texts: Sequence[str], y: np.ndarray, class_names: Sequence[str],
                   synonyms: Mapping[str, Sequence[str]] | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per caption: does it name its own class, and does it name any class (boolean arrays)."""
    synonyms = synonyms or {}
    # each caption tokenized once (not once per class): linear in the captions, few passes
    needles = [[f" {t} " for t in class_terms(c, synonyms.get(c, ()))] for c in class_names]
    every = [n for ns in needles for n in ns]
    padded = [_padded(t) for t in texts]
    own = np.array([_names(p, needles[label]) for p, label in zip(padded, y)], dtype=bool)
    any_class = np.array([_names(p, every) for p in padded], dtype=bool)
    return own, any_class


def audit_texts(texts: Sequence[str], y: np.ndarray, class_names: Sequence[str],
                synonyms: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The audit of one caption field: shares, text-only accuracy, and a verdict
    (``level``: ``leak``, ``partial`` or ``none``) with a one-line ``message``."""
    y = np.asarray(y)
    own, any_class = class_mentions(texts, y, class_names, synonyms)
    per_class = {c: float(own[y == k].mean()) if (y == k).any() else float("nan")
                 for k, c in enumerate(class_names)}
    share = float(own.mean()) if len(own) else 0.0
    acc = text_only_accuracy(list(texts), y)
    chance = float(np.bincount(y).max() / len(y)) if len(y) else float("nan")
    if share >= LEAK_SHARE or acc >= LEAK_ACCURACY:
        level = "leak"
        message = (f"captions leak the label: {share:.0%} name their own class and a text-only "
                   f"TF-IDF model reaches {acc:.1%} accuracy (chance {chance:.1%}); fusion gains "
                   "over the image measure caption quality, not fusion")
    elif share >= NOTE_SHARE:
        level = "partial"
        message = (f"{share:.0%} of captions name their own class; text-only TF-IDF reaches "
                   f"{acc:.1%} (chance {chance:.1%})")
    else:
        level = "none"
        message = (f"{share:.0%} of captions name their own class; text-only TF-IDF "
                   f"{acc:.1%} (chance {chance:.1%})")
    return {
        "n": int(len(y)), "share_own_class": share,
        "share_any_class": float(any_class.mean()) if len(any_class) else 0.0,
        "per_class_share": per_class, "tfidf_accuracy": acc, "chance": chance,
        "level": level, "leak": level == "leak", "message": message,
    }


def audit_dataset(data: Any, dataset: Any = None) -> dict[str, Any] | None:
    """Audit every text modality of ``data`` (a :class:`~mmbench.protocols.MultimodalData`);
    None when it has no text."""
    fields = {m: list(s) for m, s in data.modalities.items()
              if data.kind(m) == "text" and (not len(s) or isinstance(s[0], str))}
    if not fields:
        return None
    synonyms = dataset_synonyms(dataset, data.meta)
    return {
        "fingerprint": data.fingerprint,
        "caption_field": data.meta.get("caption_column") or getattr(dataset, "caption", None),
        "modalities": {m: audit_texts(texts, data.y, data.class_names, synonyms)
                       for m, texts in fields.items()},
    }


def load_audit(results_dir: Path) -> dict[str, Any]:
    """The stored audit of a results folder (``{}`` when there is none)."""
    path = Path(results_dir) / AUDIT_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def store_audit(results_dir: Path, label: str, report: dict[str, Any]) -> None:
    """Add (or replace) one dataset's audit in ``audit.json``."""
    audits = load_audit(results_dir)
    audits[label] = _json_safe(report)
    atomic_write_bytes(Path(results_dir) / AUDIT_FILE,  # strict JSON: no NaN
                       json.dumps(audits, indent=1, allow_nan=False).encode())


def _json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite number (a share of a class with no sample, an
    accuracy that could not be computed) as None, which JSON has."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def update_audit(results_dir: Path, label: str, data: Any, dataset: Any,
                 splits: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Store the audit of one dataset variant (see :func:`audit_report`)."""
    report = audit_report(results_dir, label, data, dataset, splits)
    if report is not None:
        store_audit(results_dir, label, report)


def audit_report(results_dir: Path, label: str, data: Any, dataset: Any,
                 splits: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any] | None:
    """The audit of one dataset variant, or None when ``audit.json`` holds it already: the
    captions' (once per fingerprint) and the train/test duplicates of ``splits`` (name ->
    (train, test); once per set of splits)."""
    from .duplicates import duplicate_audit

    stored = load_audit(results_dir).get(label, {})
    h = hashlib.sha256()
    for name, (train, test) in sorted(splits.items()):
        h.update(name.encode() + np.asarray(train, np.int64).tobytes() + b"|" +
                 np.asarray(test, np.int64).tobytes())
    key = h.hexdigest()[:16]
    same_data = stored.get("fingerprint") == data.fingerprint
    if same_data and stored.get("duplicates", {}).get("splits") == key:
        return None
    report = dict(stored) if same_data else (audit_dataset(data, dataset)
                                             or {"fingerprint": data.fingerprint})
    report["duplicates"] = {"splits": key, "modalities": duplicate_audit(data, splits)}
    return report


def audit_lines(audits: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(level, "dataset [modality]: message") for every audited caption field, then
    ("duplicates-" + level, ...) for every modality with train/test duplicates
    (:mod:`mmbench.duplicates`)."""
    lines = [(a["level"], f"{label} [{m}]: {a['message']}")
             for label, rep in audits.items() for m, a in rep.get("modalities", {}).items()]
    lines += [(f"duplicates-{a['level']}", f"{label} [{m}]: {a['message']}")
              for label, rep in audits.items()
              for m, a in rep.get("duplicates", {}).get("modalities", {}).items()
              if a.get("level") != "none"]
    return lines
