"""Arora, Kaffee & Augenstein's (2023) published probe release: fetched, checked and unpacked.

The release is ``probes.zip`` of github.com/copenlu/value-probing (GPL-3.0), pinned by URL and
SHA-256 (config keys ``probes.arora.url`` and ``.sha256``, whose defaults are the original). It
holds ``probes/wvs/<lang>.csv`` and ``probes/hofstede/<lang>.csv`` (tab-separated despite the
name) and macOS junk, which is skipped. The files are not part of valuetrace: the workflow
fetches them into ``results/probes/arora/`` where the network allows, and otherwise says what to
download and where to put it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from valuetrace.errors import InputError
from valuetrace.probes import PROBE_SETS
from valuetrace.tables import atomic_directory

log = logging.getLogger(__name__)

# A copy put here by hand is used instead of downloading (machines without network access).
MANUAL_COPY = Path("results/downloads/arora-probes.zip")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, target: Path, expected: str, manual: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, target.open("wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise InputError(
            f"cannot download Arora et al.'s probes from {url} ({error}). On a machine with network access "
            f"download that file (SHA-256 {expected}) and put it at {manual}; or unpack it and set "
            "probes.source: files with probes.path: <unpacked>/probes/wvs (and hofstede.probes: <unpacked>/probes/hofstede)"
        ) from error


def fetch(url: str, expected_sha256: str, out_dir: Path, manual: Path = MANUAL_COPY) -> None:
    """Download (or take the manual copy of) the release, check its checksum and unpack its
    probe files into ``out_dir/wvs`` and ``out_dir/hofstede``."""
    with tempfile.TemporaryDirectory(prefix="arora-") as scratch:
        archive = Path(scratch) / "probes.zip"
        if manual.exists():
            log.info("using the copy at %s", manual)
            shutil.copyfile(manual, archive)
            origin = str(manual)
        else:
            log.info("downloading %s", url)
            _download(url, archive, expected_sha256, manual)
            origin = url
        found = sha256(archive)
        if found != expected_sha256:
            raise InputError(
                f"{origin}: SHA-256 {found} is not the expected {expected_sha256} (config key probes.arora.sha256); "
                "the file is damaged or another release"
            )
        unpack(archive, out_dir)


def unpack(archive: Path, out_dir: Path) -> None:
    """The release's probe files, without its junk, as ``out_dir/<set>/<lang>.csv``."""
    try:
        with zipfile.ZipFile(archive) as release:
            members = [
                member
                for member in release.infolist()
                if not member.is_dir()
                and "__MACOSX" not in member.filename
                and not Path(member.filename).name.startswith(".")
                and len(Path(member.filename).parts) >= 2
                and Path(member.filename).parts[-2] in PROBE_SETS
            ]
            if not {Path(member.filename).parts[-2] for member in members} >= {"wvs"}:
                raise InputError(f"{archive}: no probes/wvs/ files in the archive (is it Arora et al.'s probes.zip?)")
            with atomic_directory(out_dir) as partial:
                for member in members:
                    probe_set, name = Path(member.filename).parts[-2:]
                    target = partial / probe_set / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(release.read(member))
    except zipfile.BadZipFile as error:
        raise InputError(f"{archive}: not a zip archive ({error})") from error
    log.info("unpacked %d probe files into %s", len(members), out_dir)
