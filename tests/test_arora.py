"""Arora et al.'s release (valuetrace.arora): fetched by URL or from a manual copy, checked, unpacked."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from valuetrace import arora
from valuetrace.errors import InputError
from valuetrace.settings import schema_default

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "arora_release"


def release_zip(tmp_path: Path) -> Path:
    """The fixture release packed like the published probes.zip (junk included)."""
    archive = tmp_path / "probes.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        for path in sorted(FIXTURE.rglob("*")):
            if path.is_file() and path.name != "README.md":
                packed.write(path, path.relative_to(FIXTURE))
    return archive


def test_the_pinned_release_is_the_config_schema_default():
    assert schema_default("probes", "arora", "url").startswith("https://github.com/copenlu/value-probing/raw/ae5e826")
    assert schema_default("probes", "arora", "sha256") == "bdb368f3aea4433919a656fc6e569199f5c9d286daaaf10920d51f57bf5a411b"


def test_fetch_checks_the_checksum_and_unpacks_only_probe_files(tmp_path):
    archive = release_zip(tmp_path)
    out = tmp_path / "release"
    arora.fetch(archive.as_uri(), arora.sha256(archive), out, manual=tmp_path / "no-manual-copy.zip")
    found = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    assert found == [f"{probe_set}/{lang}.csv" for probe_set in ("hofstede", "wvs") for lang in ("de", "en", "ko")]
    assert (out / "wvs" / "de.csv").read_bytes() == (FIXTURE / "probes" / "wvs" / "de.csv").read_bytes()


def test_a_damaged_or_other_archive_is_refused_and_nothing_is_written(tmp_path):
    archive = release_zip(tmp_path)
    with pytest.raises(InputError, match="SHA-256 .* is not the expected 0000.*probes.arora.sha256"):
        arora.fetch(archive.as_uri(), "0" * 64, tmp_path / "release", manual=tmp_path / "none.zip")
    assert not (tmp_path / "release").exists()


def test_without_network_the_message_says_what_to_download_and_where(tmp_path):
    manual = tmp_path / "results" / "downloads" / "arora-probes.zip"
    url = (tmp_path / "unreachable" / "probes.zip").as_uri()
    with pytest.raises(InputError) as error:
        arora.fetch(url, "a" * 64, tmp_path / "release", manual=manual)
    message = str(error.value)
    assert f"cannot download Arora et al.'s probes from {url}" in message
    assert str(manual) in message and "a" * 64 in message and "probes.path" in message
    assert not (tmp_path / "release").exists()


def test_a_manual_copy_is_used_instead_of_downloading(tmp_path):
    manual = tmp_path / "arora-probes.zip"
    release_zip(tmp_path).rename(manual)
    arora.fetch("https://unreachable.invalid/probes.zip", arora.sha256(manual), tmp_path / "release", manual=manual)
    assert (tmp_path / "release" / "wvs" / "en.csv").exists()


def test_an_archive_without_wvs_files_is_refused(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        packed.writestr("something/else.txt", "x")
    with pytest.raises(InputError, match="no probes/wvs/ files"):
        arora.unpack(archive, tmp_path / "release")
