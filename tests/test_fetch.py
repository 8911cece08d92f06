import http.server
import stat
import zipfile

import pytest

from conftest import SHARED_EMODB, make_corpus, zip_folder
from emoser.core.errors import EmoserError
from emoser.corpora.fetching import build_manifest, download, fetch, safe_extract

MB = 2**20


def _zip(tmp_path, members: dict, name="bad.zip"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            if isinstance(member, zipfile.ZipInfo):
                zf.writestr(member, data)
            else:
                zf.writestr(member, data)
    return path


@pytest.mark.parametrize("member, problem", [
    ("../evil.wav", "outside the archive"),
    ("wav/../../evil.wav", "outside the archive"),
    ("/etc/evil.wav", "absolute path"),
])
def test_hostile_paths_are_refused(tmp_path, member, problem):
    archive = _zip(tmp_path, {member: b"x"})
    with pytest.raises(EmoserError, match=problem):
        safe_extract(archive, tmp_path / "out", 10 * MB)
    assert not (tmp_path / "evil.wav").exists()


def test_symlink_member_is_refused(tmp_path):
    link = zipfile.ZipInfo("wav/03a01Fa.wav")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _zip(tmp_path, {link: "/etc/passwd"})
    with pytest.raises(EmoserError, match="symbolic link"):
        safe_extract(archive, tmp_path / "out", 10 * MB)


def test_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("wav/03a01Fa.wav", b"\0" * (3 * MB))
    assert path.stat().st_size < 50_000
    with pytest.raises(EmoserError, match="decompression bomb"):
        safe_extract(path, tmp_path / "out", 1 * MB)


def test_not_a_zip(tmp_path):
    path = tmp_path / "download.zip"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(EmoserError, match="not a readable zip"):
        safe_extract(path, tmp_path / "out", MB)


def test_fetch_from_zip_skips_unknown_names_and_reads_listener_test(tmp_path):
    corpus = make_corpus(tmp_path / "c", extra_files={"README.wav": b"", "99a01Fa.wav": b""})
    archive = zip_folder(corpus, tmp_path / "download.zip")
    report = fetch(str(archive), tmp_path / "raw", sha256=None, timeout_s=5, max_bytes=100 * MB)
    assert report["utterances"] == 49 and report["skipped"] == 2
    assert {s["file"] for s in report["skipped_files"]} == {"README.wav", "99a01Fa.wav"}
    import pandas as pd
    manifest = pd.read_csv(tmp_path / "raw" / "manifest.csv", dtype={"speaker": str})
    assert manifest["recognition"].notna().all()
    assert manifest.loc[manifest["file"] == "03a01Wa.wav", "recognition"].item() == 80.5
    assert sorted((tmp_path / "raw" / "wav").iterdir()).__len__() == 49


def test_corrupt_wav_is_named_and_nothing_is_left(tmp_path):
    corpus = make_corpus(tmp_path / "c", extra_files={"03a02Wa.wav": b"RIFF\x00\x00garbage"})
    with pytest.raises(EmoserError, match="03a02Wa.wav"):
        fetch(str(corpus), tmp_path / "raw", sha256=None, timeout_s=5, max_bytes=100 * MB)
    assert not (tmp_path / "raw").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["c"]  # no temp folders left behind


def test_missing_emotion_is_an_error(tmp_path):
    corpus = make_corpus(tmp_path / "c")
    for path in (corpus / "wav").glob("*Ea.wav"):
        path.unlink()
    with pytest.raises(EmoserError, match="disgust"):
        build_manifest(corpus)


def test_checksum_mismatch(tmp_path):
    archive = zip_folder(make_corpus(tmp_path / "c"), tmp_path / "download.zip")
    with pytest.raises(EmoserError, match="sha256"):
        fetch(str(archive), tmp_path / "raw", sha256="0" * 64, timeout_s=5, max_bytes=100 * MB)


def test_download_over_http(tmp_path, http_serve):
    zip_folder(make_corpus(tmp_path / "c"), tmp_path / "download.zip")
    url = http_serve(tmp_path) + "/download.zip"
    report = fetch(url, tmp_path / "raw", sha256=None, timeout_s=5, max_bytes=100 * MB)
    assert report["utterances"] == 49


class _CutOff(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"PK" + b"\0" * 998)  # then the connection closes

    def log_message(self, *args):
        pass


def test_interrupted_download_leaves_nothing(tmp_path, http_serve):
    url = http_serve(tmp_path, handler=_CutOff) + "/download.zip"
    dest = tmp_path / "dl" / "download.zip"
    with pytest.raises(EmoserError, match="cut off|broke off"):
        download(url, dest, timeout_s=5, max_bytes=100 * MB)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


@pytest.mark.skipif(not SHARED_EMODB.is_dir(), reason="needs ../shared/emodb")
def test_real_corpus_manifest(tmp_path):
    report = fetch(str(SHARED_EMODB), tmp_path / "raw", sha256=None, timeout_s=5, max_bytes=2048 * MB)
    assert report["utterances"] == 535 and report["speakers"] == 10
    assert report["per_emotion"] == {"anger": 127, "boredom": 81, "disgust": 46, "fear": 69,
                                     "happiness": 71, "sadness": 62, "neutral": 79}


class _BusyOnce(http.server.BaseHTTPRequestHandler):
    """503 on the first request (a busy server), the archive from then on."""
    archive: bytes = b""
    calls = 0

    def do_GET(self):
        type(self).calls += 1
        if type(self).calls == 1:
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.archive)))
        self.end_headers()
        self.wfile.write(self.archive)

    def log_message(self, *args):
        pass


def test_a_busy_server_is_asked_again_and_a_missing_file_is_one_clear_error(tmp_path, http_serve):
    from urllib3.util import Retry

    zip_folder(make_corpus(tmp_path / "c"), tmp_path / "download.zip")
    _BusyOnce.archive, _BusyOnce.calls = (tmp_path / "download.zip").read_bytes(), 0
    url = http_serve(tmp_path, handler=_BusyOnce) + "/download.zip"
    fast = Retry(total=2, backoff_factor=0, status_forcelist=(503,), allowed_methods={"GET"})
    download(url, tmp_path / "dl" / "download.zip", timeout_s=5, max_bytes=100 * MB, retries=fast)
    assert _BusyOnce.calls == 2 and (tmp_path / "dl" / "download.zip").read_bytes() == _BusyOnce.archive
    missing = http_serve(tmp_path) + "/nothing.zip"
    with pytest.raises(EmoserError, match=r"cannot download .*/nothing.zip: HTTP 404"):
        download(missing, tmp_path / "dl2" / "download.zip", timeout_s=5, max_bytes=100 * MB, retries=fast)
    assert not (tmp_path / "dl2" / "download.zip").exists()


def _patched_member_zip(path, corpus, *, flag: int = 0, method: int | None = None):
    """The corpus zipped (stored), then one member's headers patched as another tool would write
    them: ``flag`` or-ed into its general-purpose flags (bit 0: encrypted), ``method`` as its compression."""
    zip_folder(corpus, path)
    data = bytearray(path.read_bytes())
    target = b"wav/03a01Wa.wav"
    for signature, flag_at, method_at, name_at in ((b"PK\x03\x04", 6, 8, 30), (b"PK\x01\x02", 8, 10, 46)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if data[start + name_at:start + name_at + len(target)] == target:
                data[start + flag_at] |= flag
                if method is not None:
                    data[start + method_at:start + method_at + 2] = method.to_bytes(2, "little")
            start += 4
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("flag, method, message", [
    (0x1, None, "member 'wav/03a01Wa.wav' is encrypted; unpack the archive yourself"),
    (0, 99, "member 'wav/03a01Wa.wav' is compressed with method 99, which Python's zip reader cannot unpack"),
])
def test_an_encrypted_or_unreadable_member_is_one_clear_error(tmp_path, flag, method, message):
    """Issue 37, point 5: not RuntimeError / NotImplementedError from zipfile."""
    archive = _patched_member_zip(tmp_path / "e.zip", make_corpus(tmp_path / "corpus"), flag=flag, method=method)
    with pytest.raises(EmoserError, match=message):
        fetch(str(archive), tmp_path / "raw", sha256=None, timeout_s=5, max_bytes=100 * MB)
    assert not (tmp_path / "raw").exists()
