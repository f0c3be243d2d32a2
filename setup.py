"""Build hook: the wheel carries examples/ as the package data ``sluice/_examples``.

``sluice demo`` copies ``examples/shop``; from a checkout it reads ``examples/`` itself,
from an installed wheel this copy. Everything else about the build is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples"
#: Left out of the copy: what running the examples leaves behind.
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.db", "*.db-journal", ".pytest_cache")


class BuildWithExamples(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode or not EXAMPLES.is_dir():
            return  # an editable install reads examples/ from the checkout
        target = Path(self.build_lib) / "sluice" / "_examples"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(EXAMPLES, target, ignore=IGNORE)


setup(cmdclass={"build_py": BuildWithExamples})
