"""The ``easy-vqa`` dataset: 5,000 64x64 images of one coloured shape each and 48,248 questions
about them, answered by one of 13 words.

The question alone cannot tell the colour and the image alone cannot tell what was asked, so the
label depends on both modalities together. Rows are questions; the images are held once each
(:class:`~mmbench.protocols.SharedSamples`), so each is decoded and featurized once; so are
the ~100 distinct question texts.

Importing this module is cheap (numpy, PIL and the package are imported by :meth:`EasyVQA.load`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mmbench.errors import UserError

if TYPE_CHECKING:
    from mmbench.protocols import MultimodalData

CITATION = "easy-VQA, Victor Zhou (2020), github.com/vzhou842/easy-VQA (MIT)."


class EasyVQA:
    """easy-VQA questions (text) about shape images (image); label = the answer.

    Rows are the questions of the official train split, then of the test split, in file order.
    ``groups`` is the image (all questions about one image stay on one side of a seeded split);
    ``predefined_test`` is the official test split (``split = { method = "predefined" }``).

    :param data_dir: a folder laid out like the package's ``data`` folder (``answers.txt``,
        ``train/questions.json``, ``train/images/<id>.png``, the same under ``test/``); default:
        the installed ``easy_vqa`` package's.
    :param questions_per_split: keep only the first N questions of each split (small subsets
        for tests and smoke suites); only the images they ask about are loaded.
    """

    modalities: ClassVar[tuple[str, ...]] = ("image", "text")
    kinds: ClassVar[dict[str, str]] = {"image": "image", "text": "text"}

    def __init__(self, *, data_dir: str | None = None,
                 questions_per_split: int | None = None) -> None:
        if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
            raise UserError(f"easy-vqa: data_dir={data_dir!r} must be a folder path")
        if questions_per_split is not None and (
                isinstance(questions_per_split, bool) or not isinstance(questions_per_split, int)
                or questions_per_split < 1):
            raise UserError(f"easy-vqa: questions_per_split={questions_per_split!r} must be a "
                            f"positive integer or null")
        self.data_dir = data_dir
        self.questions_per_split = questions_per_split

    def __repr__(self) -> str:
        return (f"EasyVQA(data_dir={self.data_dir!r}, "
                f"questions_per_split={self.questions_per_split!r})")

    def folder(self) -> Path:
        from .files import package_data_dir

        if self.data_dir is None:
            return package_data_dir()
        folder = Path(self.data_dir).expanduser()
        if not folder.is_dir():
            raise UserError(f"easy-vqa: data_dir {folder} is not a folder; give a copy of the "
                            f"easy_vqa package's data folder")
        return folder

    def load(self) -> MultimodalData:
        """Read the questions, decode each referenced image once; see the class docstring.

        :raises DataMissingError: the package is not installed (and no ``data_dir``).
        :raises UserError: a missing or undecodable image, an unreadable questions file, an
            answer not in ``answers.txt`` (each named).
        """
        import numpy as np

        from mmbench.protocols import MultimodalData, SharedSamples

        from mmbench.loading import SizePolicy, load_images

        from .files import PARTS, check_images_exist, image_path, read_answers
        from .files import read_questions

        folder = self.folder()
        class_names = read_answers(folder)
        label = {name: k for k, name in enumerate(class_names)}
        texts: list[str] = []
        answers: list[int] = []
        image_rows: list[int] = []
        is_test: list[bool] = []
        paths: list[Path] = []
        for part in PARTS:
            questions = read_questions(folder, part)[: self.questions_per_split]
            ids = sorted({q[2] for q in questions})
            base = len(paths)
            position = {image_id: base + i for i, image_id in enumerate(ids)}
            paths.extend(image_path(folder, part, i) for i in ids)
            for n, (text, answer, image_id) in enumerate(questions):
                if answer not in label:
                    raise UserError(f"easy-vqa: {folder / part / 'questions.json'} entry {n} "
                                    f"has answer {answer!r}, not one of {folder / 'answers.txt'}")
                texts.append(text)
                answers.append(label[answer])
                image_rows.append(position[image_id])
                is_test.append(part == "test")
        check_images_exist(paths)
        policy = SizePolicy((64, 64), refusal="easy-VQA images are 64x64")
        decoded = load_images(paths, policy, namespace="easy-vqa",
                              description="decoding easy-VQA images")  # each distinct image once
        distinct = decoded.images
        index = np.asarray(image_rows, dtype=np.int64)
        y = np.asarray(answers, dtype=np.int64)
        test = np.asarray(is_test, dtype=bool)
        questions = sorted(set(texts))  # ~100 distinct questions: each featurized once too
        at = {q: i for i, q in enumerate(questions)}
        text_index = np.fromiter((at[t] for t in texts), dtype=np.int64, count=len(texts))
        meta: dict[str, Any] = {
            "source": str(folder), "n_questions": len(y), "n_images": len(distinct),
            "n_distinct_questions": len(questions),
            "questions_per_split": self.questions_per_split, "citation": CITATION,
        }
        return MultimodalData(
            modalities={"image": SharedSamples(distinct, index),
                        "text": SharedSamples(questions, text_index)},
            y=y, class_names=class_names,
            fingerprint=fingerprint(distinct, index, texts, y, test),
            meta=meta, kinds=dict(self.kinds), groups=index.copy(), predefined_test=test)


def fingerprint(images: Any, index: Any, texts: list[str], y: Any, test: Any) -> str:
    """sha256 over the distinct images, the row -> image index, questions, labels and split."""
    import hashlib

    import numpy as np

    h = hashlib.sha256(b"easy-vqa-v1\0")
    h.update(repr(images.shape).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    for arr in (index, y, test):
        h.update(b"\0" + np.ascontiguousarray(arr, dtype="<i8").tobytes())
    for t in texts:
        h.update(t.encode("utf-8") + b"\0")
    return h.hexdigest()
