"""mmbench.download against a real HTTP server on 127.0.0.1: verified, renamed into place,
resumed with Range after a dropped connection, refetched when the server ignores Range or a
leftover is tampered, refused on wrong bytes."""

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
from http_kit import Faults, serve

import mmbench.download as download_mod
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


# ----------------------------------------------------------------------------- faults
# A server (tests/http_kit.py) that drops connections mid-file, ignores Range, logs requests.
MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download_mod, "RETRY_S", 0.0)


def hidden(folder: Path) -> list[str]:
    """What a download leaves beside its file: .part and .lock files."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
@pytest.mark.parametrize("md5", [MD5, None], ids=["md5", "no-checksum"])
def test_dropped_connection_is_resumed_with_range(
    tmp_path: Path, no_backoff: None, reset: bool, md5: str | None
) -> None:
    with serve({"blob.bin": PAYLOAD}) as srv:
        srv.faults["blob.bin"] = Faults(drops=1, cut=0.4, reset=reset)
        dest = download(srv.url("blob.bin"), tmp_path / "blob.bin", md5=md5)
    assert hashlib.md5(dest.read_bytes()).hexdigest() == MD5
    first, second = srv.log
    assert first == ("blob.bin", None, 200)
    # the retry asked for the rest only, from where the first response broke off
    assert second[0] == "blob.bin" and second[2] == 206
    offset = int(second[1].removeprefix("bytes=").removesuffix("-"))
    assert 0 < offset < len(PAYLOAD)
    if not reset:  # with a normal close every byte sent arrived
        assert offset == int(len(PAYLOAD) * 0.4)
    assert hidden(tmp_path) == []


def test_server_ignoring_range_sends_the_whole_file_again(tmp_path: Path,
                                                          no_backoff: None) -> None:
    with serve({"blob.bin": PAYLOAD}) as srv:
        srv.faults["blob.bin"] = Faults(drops=2, cut=0.5, ignore_range=True)
        dest = download(srv.url("blob.bin"), tmp_path / "blob.bin", md5=MD5)
    assert dest.read_bytes() == PAYLOAD
    assert [status for _, _, status in srv.log] == [200, 200, 200]
    assert srv.ranges("blob.bin")[0] is None and srv.ranges("blob.bin")[1].startswith("bytes=")
    assert hidden(tmp_path) == []


def test_interrupted_download_never_takes_the_name_and_resumes_next_time(
    tmp_path: Path, no_backoff: None
) -> None:
    dest = tmp_path / "blob.bin"
    with serve({"blob.bin": PAYLOAD}) as srv:
        srv.faults["blob.bin"] = Faults(drops=download_mod.ATTEMPTS, cut=0.2)
        with pytest.raises(DataMissingError, match=r"closed after \d+ of 1280000 bytes.*"
                           r"kept in .*\.blob\.bin\.part; the next try resumes") as info:
            download(srv.url("blob.bin"), dest, md5=MD5, hint="Or copy it by hand.")
        assert str(info.value).endswith("Or copy it by hand.")
        assert not dest.exists()
        kept = (tmp_path / ".blob.bin.part").stat().st_size
        assert 0 < kept < len(PAYLOAD) and hidden(tmp_path) == [".blob.bin.part"]
        assert len(srv.log) == download_mod.ATTEMPTS
        del srv.log[:]
        download(srv.url("blob.bin"), dest, md5=MD5)  # the server works again
    assert dest.read_bytes() == PAYLOAD
    assert srv.ranges("blob.bin") == [f"bytes={kept}-"]
    assert hidden(tmp_path) == []


def test_tampered_partial_download_is_refetched_from_the_start(tmp_path: Path) -> None:
    part = tmp_path / ".blob.bin.part"
    part.write_bytes(b"\xff" * 1000)  # not the file's first 1000 bytes
    with serve({"blob.bin": PAYLOAD}) as srv:
        dest = download(srv.url("blob.bin"), tmp_path / "blob.bin", md5=MD5)
    assert dest.read_bytes() == PAYLOAD
    assert srv.ranges("blob.bin") == ["bytes=1000-", None]
    assert hidden(tmp_path) == []


def test_wrong_bytes_are_refused_and_leave_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "blob.bin"
    wrong = bytearray(PAYLOAD)
    wrong[600_000] ^= 1  # one flipped bit
    with serve({"blob.bin": bytes(wrong)}) as srv:
        with pytest.raises(UserError) as info:
            download(srv.url("blob.bin"), dest, md5=MD5)
    msg = str(info.value)
    assert msg.startswith(f"md5 mismatch for {srv.url('blob.bin')}: expected {MD5}, got "
                          f"{hashlib.md5(wrong).hexdigest()}; the download was deleted")
    assert not dest.exists() and hidden(tmp_path) == []


def test_a_leftover_without_checksum_is_not_trusted(tmp_path: Path) -> None:
    (tmp_path / ".blob.bin.part").write_bytes(PAYLOAD[:1000])
    with serve({"blob.bin": PAYLOAD}) as srv:
        download(srv.url("blob.bin"), tmp_path / "blob.bin")
    assert srv.ranges("blob.bin") == [None]  # nothing could verify a resumed whole
    assert (tmp_path / "blob.bin").read_bytes() == PAYLOAD and hidden(tmp_path) == []
