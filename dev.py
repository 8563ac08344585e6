#!/usr/bin/env python3
"""Developer entry point; needs nothing but Python 3.11.

    python3 dev.py up      create .venv, install, migrate, load demo data, serve on :8000
    python3 dev.py test    create .venv, install, run the whole test suite (args go to pytest)
    python3 dev.py lint    ruff format --check, ruff check, the layers (lint-imports),
                           makemigrations --check, the OpenAPI schema (check_schema)
    python3 dev.py audit   pip-audit over requirements*.txt (a package it cannot check fails it)
    python3 dev.py messages  remake locale/zh_Hans/LC_MESSAGES/*.po from the code (new
                           messages come in empty, for a translator) and compile the .mo
                           files, which are committed (needs GNU gettext: apt install gettext)

Set DATABASE_URL to run against PostgreSQL instead of SQLite.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"


def run(*args: str | Path) -> None:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, check=False)  # noqa: S603
    if completed.returncode:
        sys.exit(completed.returncode)


def ensure_env(requirements: str) -> None:
    """Create the virtualenv and install ``requirements`` unless already installed."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Python 3.11 is required (this is {sys.version.split()[0]}).")
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    files = [ROOT / "requirements.txt", ROOT / requirements]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing {requirements} ...", flush=True)
    run(
        PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements
    )
    stamp.write_text(digest)


# What makemessages leaves out: the field app speaks both languages from its own
# messages.js, vendored libraries are not ours, tests and benches are not read by users.
MESSAGES_IGNORE = [
    ".venv/*", "var/*", "tests/*", "bench/*", "examples/*", "node_modules/*",
    "fieldvisit/static/fieldvisit/vendor/*", "fieldvisit/static/fieldvisit/app/*",
    "fieldvisit/migrations/*", "staticfiles/*",
]  # fmt: skip


def messages() -> None:
    ignore = [f"--ignore={pattern}" for pattern in MESSAGES_IGNORE]
    common = ["--locale=zh_Hans", "--no-obsolete", "--add-location=file", *ignore]
    run(PYTHON, "manage.py", "makemessages", "--domain=django", *common)
    run(PYTHON, "manage.py", "makemessages", "--domain=djangojs", *common)
    run(PYTHON, "manage.py", "compilemessages", "--locale=zh_Hans", "--ignore=.venv")


def main(argv: list[str]) -> None:
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "up":
        ensure_env("requirements.txt")
        run(PYTHON, "manage.py", "quickstart", *rest)
    elif command == "test":
        ensure_env("requirements-dev.txt")
        os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        run(PYTHON, "-m", "pytest", "-n", os.environ.get("TEST_WORKERS", "auto"), *rest)
    elif command == "lint":
        ensure_env("requirements-dev.txt")
        run(PYTHON, "-m", "ruff", "format", "--check", ".")
        run(PYTHON, "-m", "ruff", "check", ".")
        # The layers contract in pyproject.toml; the graph takes a fraction of a second to
        # build, so no cache directory is left in the tree.
        run(VENV / "bin" / "lint-imports", "--no-cache")
        run(PYTHON, "manage.py", "makemigrations", "--check", "--dry-run")
        run(PYTHON, "manage.py", "check_schema")
    elif command == "messages":
        ensure_env("requirements-dev.txt")
        messages()
    elif command == "audit":
        ensure_env("requirements-dev.txt")
        # --strict: a package the vulnerability service does not know is a failure, not a pass.
        for requirements in ("requirements.txt", "requirements-dev.txt"):
            run(PYTHON, "-m", "pip_audit", "--strict", "--progress-spinner", "off",
                "-r", requirements, *rest)  # fmt: skip
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
