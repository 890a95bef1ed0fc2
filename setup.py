"""Build hook: the wheel ships the repository's ``scenarios/`` as ``snakesim/scenarios/``.

``scenarios/`` at the top of the repository is the one source of truth (the README's
commands and the tests read it there); building copies it into the package so that an
installed snakesim has its examples too (`snakesim.examples` finds either). Everything
else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


class BuildWithScenarios(build_py):
    """``build_py`` plus a copy of ``scenarios/`` into the built package."""

    def run(self) -> None:
        super().run()
        # An editable install reads the checkout's own scenarios/: nothing to copy.
        if getattr(self, "editable_mode", False) or not SCENARIOS.is_dir():
            return
        target = Path(self.build_lib) / "snakesim" / "scenarios"
        shutil.rmtree(target, ignore_errors=True)  # a file removed from scenarios/ goes
        shutil.copytree(SCENARIOS, target,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildWithScenarios})
