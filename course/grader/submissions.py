"""Finding submissions: nbgrader's ``submitted/<student>/<module>/`` folders, or a zip of them."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Submission:
    student: str
    module: str
    folder: Path

    @property
    def key(self) -> str:
        return f"{self.student}/{self.module}"

    def notebooks(self) -> list[str]:
        return sorted(path.name for path in self.folder.glob("*.ipynb"))

    def digest(self, source: Path) -> str:
        """A fingerprint of the submitted files and of the module's ``source`` folder."""
        digest = hashlib.sha256()
        for path in sorted(self.folder.iterdir()) + sorted(source.glob("*")):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()


def extract_zip(archive: Path, submitted: Path) -> list[str]:
    """Unpack ``<student>/<module>/<file>`` entries (optionally under ``submitted/``) safely."""
    unpacked = []
    with zipfile.ZipFile(archive) as bundle:
        for entry in bundle.infolist():
            if entry.is_dir():
                continue
            parts = PurePosixPath(entry.filename).parts
            if parts and parts[0] == "submitted":
                parts = parts[1:]
            if len(parts) != 3 or any(part in ("", ".", "..") or "\\" in part for part in parts):
                continue  # not <student>/<module>/<file>, or an attempt to escape the folder
            target = submitted.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bundle.read(entry))
            unpacked.append("/".join(parts))
    return unpacked


def find_submissions(root: Path, modules: Sequence[str], students: Sequence[str] = ()) -> list[Submission]:
    """Every ``submitted/<student>/<module>/`` folder of ``modules`` (only ``students`` if given)."""
    submitted = root / "submitted"
    if not submitted.is_dir():
        return []
    found = []
    for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
        if students and student_dir.name not in students:
            continue
        for module in modules:
            folder = student_dir / module
            if folder.is_dir():
                found.append(Submission(student_dir.name, module, folder))
    return found
