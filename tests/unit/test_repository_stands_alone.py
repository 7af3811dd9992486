"""The repository explains itself: no file cites a document outside it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Names of the documents the project was started from; they are not part of this repository.
OUTSIDE = ("DESIGN" + ".md", "platform" + "-facts", "shared/" + "reference", "../" + "shared")


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    paths = [ROOT / name.decode() for name in listed if name]
    return [p for p in paths if p.is_file() and b"\0" not in p.read_bytes()[:4096]]


def test_no_file_cites_a_document_outside_the_repository() -> None:
    files = _tracked_text_files()
    assert len(files) > 100  # the listing worked
    citing = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in OUTSIDE
        if name in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert citing == []
