"""mmbench.download against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmbench.download import download, is_offline_error
from mmbench.errors import DataMissingError, UserError

PAYLOAD = bytes(range(256)) * 5000  # 1.28 MB: several chunks


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, folder it serves), from a ThreadingHTTPServer running in a thread."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "blob.bin").write_bytes(PAYLOAD)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/blob.bin"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_download_verifies_and_writes(served: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = served
    dest = tmp_path / "out" / "sub" / "blob.bin"
    got = download(
        f"{url}/blob.bin",
        dest,
        md5=hashlib.md5(PAYLOAD).hexdigest(),
        sha256=hashlib.sha256(PAYLOAD).hexdigest().upper(),  # case does not matter
    )
    assert got == dest
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == []


def test_checksum_mismatch_deletes_and_names_both_hashes(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = served
    dest = tmp_path / "blob.bin"
    wrong = "0" * 32
    with pytest.raises(UserError) as info:
        download(f"{url}/blob.bin", dest, md5=wrong)
    msg = str(info.value)
    assert f"{url}/blob.bin" in msg and wrong in msg
    assert hashlib.md5(PAYLOAD).hexdigest() in msg
    assert not isinstance(info.value, DataMissingError)
    assert not dest.exists() and leftovers(tmp_path) == []


def test_mismatch_keeps_an_existing_file(served: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = served
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"previous")
    with pytest.raises(UserError):
        download(f"{url}/blob.bin", dest, sha256="f" * 64)
    assert dest.read_bytes() == b"previous"


def test_offline_raises_data_missing_with_hint(tmp_path: Path) -> None:
    url = closed_port_url()
    dest = tmp_path / "blob.bin"
    with pytest.raises(DataMissingError) as info:
        download(url, dest, desc="the blob", hint="Put blob.bin in /somewhere.")
    msg = str(info.value)
    assert "the blob" in msg and url in msg and msg.endswith("Put blob.bin in /somewhere.")
    cause = info.value.__cause__
    assert cause is not None and is_offline_error(cause)
    assert not dest.exists() and leftovers(tmp_path) == []


def test_http_error_is_data_missing_but_not_offline(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = served
    with pytest.raises(DataMissingError, match="404") as info:
        download(f"{url}/nope.bin", tmp_path / "nope.bin")
    assert isinstance(info.value.__cause__, urllib.error.HTTPError)
    assert not is_offline_error(info.value.__cause__)
    assert list(tmp_path.iterdir()) == [tmp_path / "www"]


def test_is_offline_error_classifies() -> None:
    assert is_offline_error(urllib.error.URLError(ConnectionRefusedError()))
    assert is_offline_error(TimeoutError())
    assert not is_offline_error(ValueError("x"))
