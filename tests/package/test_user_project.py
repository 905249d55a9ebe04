"""The README's testing advice, followed in a fresh project on the installed wheel.

The project holds the README's examples as test files and a ``pyproject.toml``
with only the README's settings block: no ``conftest.py``, no import of the
fixtures (the plugin's entry point provides them), nothing on ``PYTHONPATH``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from docs.readme import block

from .fresh_install import FreshInstall

FIXTURE_PROMISES = """\
from adapters.memory import InMemoryTransport, NoSleep, World

FIRST_ID = World(seed=0).new_id("msg")


def test_the_three_fixtures_share_one_world(
    world: World, memory_transport: InMemoryTransport, no_sleep: NoSleep
) -> None:
    assert memory_transport.world is world
    assert no_sleep.world is world


def test_each_test_gets_a_fresh_world_seeded_alike_a(world: World) -> None:
    world.add_recipient("+16515550111")
    assert (1, FIRST_ID) == (len(world.recipients), world.new_id("msg"))


def test_each_test_gets_a_fresh_world_seeded_alike_b(world: World) -> None:
    world.add_recipient("+16515550112")
    assert (1, FIRST_ID) == (len(world.recipients), world.new_id("msg"))
"""
"""What the README's fixture table promises, as a user would check it (sync tests)."""

CARE_LOGIC_TEST = "test_care_logic.py::test_sms_only_daughter_gets_the_reminder_without_the_effect"
FIXTURES_TEST = "test_fixtures.py::test_a_long_update_goes_out_in_bubbles_without_waiting"


def user_project(root: Path, *, settings: bool) -> Path:
    root.mkdir()
    (root / "test_care_logic.py").write_text(block("example", "python"), encoding="utf-8")
    (root / "test_fixtures.py").write_text(block("fixtures-example", "python"), encoding="utf-8")
    (root / "test_fixture_promises.py").write_text(FIXTURE_PROMISES, encoding="utf-8")
    (root / "pyproject.toml").write_text(
        block("settings", "toml") if settings else "", encoding="utf-8"
    )
    return root


def pytest_in(installed: FreshInstall, project: Path) -> subprocess.CompletedProcess[str]:
    return installed.run(installed.python, "-m", "pytest", "-v", cwd=project)


@pytest.fixture(scope="module")
def with_the_settings(
    installed: FreshInstall, tmp_path_factory: pytest.TempPathFactory
) -> subprocess.CompletedProcess[str]:
    project = user_project(tmp_path_factory.mktemp("user") / "project", settings=True)
    return pytest_in(installed, project)


def test_the_readme_care_logic_example_passes_in_a_fresh_project(
    with_the_settings: subprocess.CompletedProcess[str],
) -> None:
    assert f"{CARE_LOGIC_TEST} PASSED" in with_the_settings.stdout, with_the_settings.stdout


def test_the_readme_fixtures_example_passes_with_the_plugins_fixtures(
    with_the_settings: subprocess.CompletedProcess[str],
) -> None:
    assert f"{FIXTURES_TEST} PASSED" in with_the_settings.stdout, with_the_settings.stdout


def test_the_fixtures_keep_the_readmes_promises(
    with_the_settings: subprocess.CompletedProcess[str],
) -> None:
    assert 3 == with_the_settings.stdout.count("test_fixture_promises.py::"), (
        with_the_settings.stdout
    )
    assert (0, "5 passed") == (
        with_the_settings.returncode,
        with_the_settings.stdout.strip().splitlines()[-1].split(" in ")[0].strip("= "),
    )


def test_without_the_documented_setting_the_async_tests_do_not_pass(
    installed: FreshInstall, tmp_path: Path
) -> None:
    """The settings block is what makes them run: without it pytest refuses async tests."""
    done = pytest_in(installed, user_project(tmp_path / "project", settings=False))
    assert 0 != done.returncode
    assert "async def functions are not natively supported" in done.stdout
    assert f"{CARE_LOGIC_TEST} PASSED" not in done.stdout
    assert f"{FIXTURES_TEST} PASSED" not in done.stdout
