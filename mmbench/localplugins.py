"""Plugins from local ``.py`` files, without packaging: a suite's ``plugins = ["./my_fusion.py"]``
(paths relative to the suite file) and ``--plugins-dir DIR`` (every ``*.py`` in it).

A file is imported as a module of its own and registered through the same hooks, checks and
duplicate-name rules as an entry point (:meth:`mmbench.plugins.Catalog.register_plugin`): its
plugin name is the file's stem, its distribution the file's name and its version the file's
sha256, so every cell records which version of the file it ran, and editing the file reruns
its cells. The files in use are listed in ``MMBENCH_PLUGIN_FILES`` (os.pathsep-separated), so
worker processes of the ``local`` executor load them too.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

from .errors import UserError

ENV = "MMBENCH_PLUGIN_FILES"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_name(path: Path) -> str:
    """The module a plugin file is imported as (the same in every process, for pickling)."""
    return "mmbench_plugin_file_" + re.sub(r"\W", "_", path.stem)


def load_file(catalog: Any, path: Path) -> str | None:
    """Import and register the plugin file at ``path``; None, or the error (also recorded in
    ``catalog.broken``). A file already registered is kept while its content is the same and
    registered again when it changed."""
    path = path.resolve()
    name = path.stem
    try:
        sha = file_sha256(path)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    held = catalog.files.get(name)
    if held == (str(path), sha):
        return None
    if held is not None and held[0] == str(path):  # edited since: forget the old version
        catalog.unregister_plugin(name)
        catalog.files.pop(name, None)
    spec = importlib.util.spec_from_file_location(module_name(path), path)
    if spec is None or spec.loader is None:
        return f"{path} is not a Python file"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - a broken file is reported, never fatal
        sys.modules.pop(spec.name, None)
        from .plugins import BrokenPlugin

        error = (f"error importing {path}: {type(exc).__name__}: {exc}; fix the file or "
                 f"leave it out of the suite's plugins")
        catalog.broken.append(BrokenPlugin(name, path.name, error))
        return error
    if not catalog.register_plugin(module, name, path.name, version=sha):
        return catalog.broken[-1].error
    catalog.files[name] = (str(path), sha)
    _remember(path)
    return None


def _remember(path: Path) -> None:
    files = [f for f in os.environ.get(ENV, "").split(os.pathsep) if f]
    if str(path) not in files:
        os.environ[ENV] = os.pathsep.join([*files, str(path)])


def load_env_files(catalog: Any) -> None:
    """Load the files named in ``MMBENCH_PLUGIN_FILES`` (a worker process, or a parent's
    ``--plugins-dir``)."""
    for f in [f for f in os.environ.get(ENV, "").split(os.pathsep) if f]:
        load_file(catalog, Path(f))


def plugin_dir_files(folder: str | Path) -> list[Path]:
    """The ``*.py`` files of ``--plugins-dir`` (UserError when it is no folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--plugins-dir {folder}: no such folder; name a folder holding plugin "
                        f".py files")
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))


def use_plugins_dir(catalog: Any, folder: str | Path) -> None:
    """Load every plugin file of ``folder`` into ``catalog`` (and into worker processes)."""
    for path in plugin_dir_files(folder):
        load_file(catalog, path)


def load_suite_plugins(loaded: Any, catalog: Any) -> list[str]:
    """Load the files a suite's ``plugins`` names; one problem per file that fails, with its
    TOML location."""
    problems = []
    base = Path(loaded.path).resolve().parent
    for i, rel in enumerate(loaded.suite.plugins):
        path = (base / rel).resolve()
        where = loaded.locate(("plugins", i))
        if path.suffix != ".py" or not path.is_file():
            problems.append(f"{where}: plugin file {rel!r} not found (looked for {path}); "
                            f"paths are relative to the suite file")
            continue
        error = load_file(catalog, path)
        if error:
            problems.append(f"{where}: plugin file {rel!r}: {error}")
    return problems

