"""Inside Alembic: the ``sluice`` autogenerate plugin and the post-write hook."""

from __future__ import annotations

import configparser
import inspect
import json
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner, Result

import sluice.policy.defaults as defaults
from sluice import alembic_plugin
from sluice.cli import main
from sluice.envhooks import configure_options
from sluice.hooks import new_revision_main
from sluice.project import forget_modules
from tests.helpers import cfg, drop_legacy_field, edit, upgrade

BIN = Path(sys.executable).parent

needs_plugins = pytest.mark.skipif(not alembic_plugin.plugin_api_available(),
                                   reason="Alembic < 1.18 has no plugin system")
needs_toml = pytest.mark.skipif(
    "toml_file" not in inspect.signature(Config).parameters,
    reason="Alembic < 1.16 does not read [tool.alembic]")

# An env.py that does not use configure_options: only the plugin, when named with
# -x plugin=on, brings Sluice into the autogenerate run.
PLAIN_ENV = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
from shopapp.models import Base  # noqa: E402

x = context.get_x_argument(as_dictionary=True)
plugins = ["alembic.autogenerate.*"] + (["sluice"] if x.get("plugin") == "on" else [])
connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                 prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      compare_server_default=True, autogenerate_plugins=plugins)
    with context.begin_transaction():
        context.run_migrations()
'''

SETTINGS_MODEL = '''

class Setting(Base):
    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ratio: Mapped[float] = mapped_column(Numeric(10, 2), server_default="0")
    flag: Mapped[bool] = mapped_column(server_default=true())
    label: Mapped[str] = mapped_column(String(20), server_default="")
    created: Mapped[datetime] = mapped_column(server_default=func.now())
'''

# The same defaults, spelled the way a hand-written revision (or the database) spells them.
SETTINGS_REVISION = '''"""settings

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ratio", sa.Numeric(10, 2), server_default=sa.text("0.00"), nullable=False),
        sa.Column("flag", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("label", sa.String(20), server_default=sa.text("''"), nullable=False),
        sa.Column("created", sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("settings")
'''


def add_settings(project: Path) -> None:
    models = project / "shopapp" / "models.py"
    edit(models, "from sqlalchemy import ForeignKey, Index, Numeric, String, func",
         "from sqlalchemy import ForeignKey, Index, Numeric, String, func, true")
    models.write_text(models.read_text() + SETTINGS_MODEL)
    (project / "migrations" / "versions" / "0003_settings.py").write_text(SETTINGS_REVISION)


def revise(project: Path, url: str, *x: str, message: str = "auto",
           autogenerate: bool = True, config: Config | None = None) -> Path:
    """``alembic revision [--autogenerate]``; the file it wrote."""
    versions = project / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    command.revision(config or cfg(project, url, *x), message=message,
                     autogenerate=autogenerate)
    (path,) = set(versions.glob("*.py")) - before
    return path


def altered_columns(path: Path) -> list[str]:
    return re.findall(r"alter_column\('\w+', '(\w+)'", path.read_text())


# --------------------------------------------------------------------------- the plugin


@needs_plugins
def test_the_plugin_is_published_and_registered_with_alembic() -> None:
    from alembic.runtime import plugins

    (ep,) = [e for e in entry_points(group="alembic.plugins") if e.name == "sluice"]
    assert ep.value == "sluice.alembic_plugin"
    plugin = plugins._all_plugins["sluice"]  # loaded by Alembic at import, not by us
    registry = plugin.autogenerate_comparators._registry
    fns = {fn for entries in registry.values() for fn, _sub in entries}
    assert fns == {alembic_plugin.compare_server_default, alembic_plugin.compare_enums}
    assert alembic_plugin.ensure_registered() is True


@needs_plugins
def test_alembic_imports_cleanly_with_the_plugin_installed() -> None:
    # Alembic loads the plugin while it is itself being imported: both import orders work
    for first in ("alembic.command", "sluice.envhooks"):
        out = subprocess.run(
            [sys.executable, "-c", f"import {first}, sluice, alembic.autogenerate; "
             "from alembic.runtime.plugins import _all_plugins; "
             "from sluice import configure_options; print('sluice' in _all_plugins)"],
            capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "True"


@needs_plugins
def test_plugin_alone_removes_default_noise_in_a_real_autogenerate(
        shop: Path, tmp_path: Path) -> None:
    (shop / "migrations" / "env.py").write_text(PLAIN_ENV)
    add_settings(shop)
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    upgrade(shop, url)
    noisy = revise(shop, url, "plugin=off")
    assert sorted(set(altered_columns(noisy))) == ["flag", "label", "ratio"]
    noisy.unlink()
    quiet = revise(shop, url, "plugin=on")
    assert altered_columns(quiet) == []
    quiet.unlink()
    # a real change still shows through the plugin
    edit(shop / "shopapp" / "models.py",
         'ratio: Mapped[float] = mapped_column(Numeric(10, 2), server_default="0")',
         'ratio: Mapped[float] = mapped_column(Numeric(10, 2), server_default="1")')
    changed = revise(shop, url, "plugin=on")
    assert altered_columns(changed) == ["ratio", "ratio"]  # upgrade and downgrade


ENUM_REVISION = '''"""tickets

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.Enum("open", "closed", name="ticket_state"), nullable=False),
    )


def downgrade():
    op.drop_table("tickets")
    sa.Enum(name="ticket_state").drop(op.get_bind())
'''

ENUM_MODEL = '''

class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(
        sa.Enum("open", "closed", "archived", name="ticket_state"))
'''


@needs_plugins
@pytest.mark.postgres
def test_plugin_alone_brings_the_enum_comparator_on_postgresql(shop: Path, pg_url: str) -> None:
    (shop / "migrations" / "env.py").write_text(PLAIN_ENV)
    (shop / "migrations" / "versions" / "0003_tickets.py").write_text(ENUM_REVISION)
    models = shop / "shopapp" / "models.py"
    models.write_text(models.read_text() + "\nimport sqlalchemy as sa  # noqa: E402\n"
                      + ENUM_MODEL)
    upgrade(shop, pg_url)
    plain = revise(shop, pg_url, "plugin=off")
    assert "ALTER TYPE" not in plain.read_text()
    plain.unlink()
    text = revise(shop, pg_url, "plugin=on").read_text()
    assert "ALTER TYPE ticket_state ADD VALUE IF NOT EXISTS 'archived'" in text
    assert "autocommit_block()" in text


@needs_plugins
def test_configure_options_takes_the_plugin_path_on_this_alembic(shop: Path) -> None:
    config = cfg(shop, "sqlite://")
    options = configure_options(config)
    assert options["compare_server_default"] is True
    assert options["autogenerate_plugins"] == ["alembic.autogenerate.*", "sluice"]
    # the caller's own plugins are kept, Sluice added once; '~sluice' opts out
    mine = configure_options(config, autogenerate_plugins=["alembic.autogenerate.*", "acme"])
    assert mine["autogenerate_plugins"] == ["alembic.autogenerate.*", "acme", "sluice"]
    assert configure_options(config, autogenerate_plugins=["alembic.*", "sluice"])[
        "autogenerate_plugins"] == ["alembic.*", "sluice"]
    assert configure_options(config, autogenerate_plugins=["alembic.autogenerate.*", "~sluice"])[
        "autogenerate_plugins"] == ["alembic.autogenerate.*", "~sluice"]


def test_configure_options_falls_back_to_callbacks_before_alembic_1_18(
        shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alembic_plugin, "plugin_api_available", lambda: False)
    options = configure_options(cfg(shop, "sqlite://"))
    assert options["compare_server_default"] is defaults.compare_server_default
    assert "autogenerate_plugins" not in options
    # and that path is just as quiet, in a real autogenerate through env.py
    add_settings(shop)
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    upgrade(shop, url)
    with pytest.raises(Exception, match="no schema changes detected"):
        revise(shop, url)


def _compared(monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]) -> tuple[int, int, Any]:
    """Compare the settings table with a database spelling its defaults differently;
    count how often the plugin's normaliser and the configured callable ran."""
    plugin_calls: list[str] = []
    original = defaults.compare_server_default

    def counting(*args: Any) -> Any:
        plugin_calls.append(args[1].name)
        return original(*args)

    monkeypatch.setattr(defaults, "compare_server_default", counting)
    engine = sa.create_engine("sqlite://")
    db, model = sa.MetaData(), sa.MetaData()
    sa.Table("t", db, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("flag", sa.Boolean, server_default=sa.text("true")))
    sa.Table("t", model, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("flag", sa.Boolean, server_default=sa.true()))
    db.create_all(engine)
    user_calls: list[str] = []
    callback = options.get("compare_server_default")
    if callback is not None and callable(callback) and callback is not True:
        def user(*args: Any) -> Any:
            user_calls.append(args[1].name)
            return callback(*args)
        options = {**options, "compare_server_default": user}
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"target_metadata": model, **options})
        diffs = compare_metadata(mc, model)
    return len(plugin_calls), len(user_calls), diffs


@needs_plugins
def test_each_default_is_compared_once_whichever_path(monkeypatch: pytest.MonkeyPatch) -> None:
    both = ["alembic.autogenerate.*", "sluice"]
    # plugin path: the plugin normalises
    n_plugin, n_user, diffs = _compared(monkeypatch, {"compare_server_default": True,
                                                      "autogenerate_plugins": both})
    assert (n_plugin, n_user, diffs) == (1, 0, [])
    # the env.py callback and the plugin both configured: the callback alone decides
    n_plugin, n_user, diffs = _compared(monkeypatch, {
        "compare_server_default": defaults.compare_server_default,
        "autogenerate_plugins": both})
    assert (n_plugin, n_user, diffs) == (0, 1, [])
    # without Sluice at all, Alembic reports the spelling as a change
    _, _, diffs = _compared(monkeypatch, {"compare_server_default": True})
    assert [d[0][0] for d in diffs] == ["modify_default"]


# --------------------------------------------------------------------------- write hook


def with_ini_hook(project: Path, options: str | None = None) -> None:
    ini = project / "alembic.ini"
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini)
    parser["post_write_hooks"] = {"hooks": "sluice", "sluice.type": "console_scripts",
                                  "sluice.entrypoint": "sluice-lint-new-revision"}
    if options is not None:
        parser["post_write_hooks"]["sluice.options"] = options
    with ini.open("w") as fh:
        parser.write(fh)


def test_write_hook_prints_findings_of_the_revision_just_written(
        shop: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with_ini_hook(shop)
    url = f"sqlite:///{tmp_path / 'hook.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    capfd.readouterr()
    path = revise(shop, url, "allow=drop_column:users.legacy_field")
    out = capfd.readouterr().out
    # under Alembic's own line, before its "done"
    hook = out[out.index("Running post write hook 'sluice'"):]
    assert re.search(rf"^\S*{path.name}:\d+  error  SL002 drop-column$", hook, re.M)
    assert "users.legacy_field" in hook and "fix:" in hook
    assert re.search(rf"^sluice: \S*{path.name}: 1 error, 0 warnings", hook, re.M)
    assert hook.rstrip().endswith("done")
    assert path.exists()  # Alembic keeps the file whatever the hook says


def test_write_hook_is_quiet_about_a_clean_revision_and_finds_the_ini_from_elsewhere(
        shop: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with_ini_hook(shop)
    monkeypatch.chdir(tmp_path)  # the hook runs in Alembic's cwd: not the project
    capfd.readouterr()
    path = revise(shop, "sqlite://", message="nothing yet", autogenerate=False)
    out = capfd.readouterr().out
    assert f"{path.name}: no findings" in out
    assert "error" not in out


@needs_toml
def test_write_hook_from_pyproject_tool_alembic(
        shop: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    ini = shop / "alembic.ini"
    text = ini.read_text()
    ini.write_text(text.replace("[post_write_hooks]\n", ""))
    (shop / "pyproject.toml").write_text(
        '[tool.alembic]\n\n'
        '[[tool.alembic.post_write_hooks]]\n'
        'name = "sluice"\n'
        'type = "console_scripts"\n'
        'entrypoint = "sluice-lint-new-revision"\n'
        'options = "REVISION_SCRIPT_FILENAME --fail-on warning"\n')
    url = f"sqlite:///{tmp_path / 'toml.db'}"
    upgrade(shop, url)
    drop_legacy_field(shop)
    forget_modules(shop)
    config = Config(str(ini), toml_file=str(shop / "pyproject.toml"),
                    cmd_opts=cfg(shop, url, "allow=drop_column:users.legacy_field").cmd_opts)
    config.set_main_option("sqlalchemy.url", url)
    capfd.readouterr()
    path = revise(shop, url, config=config)
    out = capfd.readouterr().out
    assert f"{path.name}:" in out and "SL002 drop-column" in out


def run_hook(*args: str | Path, cwd: Path) -> Result:
    """`sluice-lint-new-revision ARGS` in ``cwd``, in-process (the real post-write hook
    runs as a console script in the tests below)."""
    before = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(new_revision_main, [str(a) for a in args],
                                  env={"NO_COLOR": "1"})
    finally:
        os.chdir(before)


DANGEROUS = '''"""drop and index

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.drop_column("users", "legacy_field")


def downgrade():
    pass
'''


def test_hook_exit_status(shop: Path, tmp_path: Path) -> None:
    versions = shop / "migrations" / "versions"
    bad = versions / "0003_drop.py"
    bad.write_text(DANGEROUS)
    out = run_hook(bad, cwd=shop)
    assert out.exit_code == 1, out.stderr
    assert "SL002 drop-column" in out.stdout
    # json: stdout only, stable keys
    out = run_hook(bad, "--format", "json", cwd=tmp_path)
    assert out.exit_code == 1
    data = json.loads(out.stdout)
    assert {f["rule"] for f in data["findings"]} >= {"SL002"}
    assert data["summary"]["failed"] is True
    # a finding accepted on purpose
    edit(bad, 'op.drop_column("users", "legacy_field")',
         'op.drop_column("users", "legacy_field")  # sluice: ignore[SL002] unused since v3')
    assert run_hook(bad, cwd=shop).exit_code == 0
    # not a revision file: nothing to lint
    out = run_hook(shop / "shopapp" / "models.py", "-c", shop / "alembic.ini", cwd=tmp_path)
    assert out.exit_code == 0 and "no revision file" in out.stdout
    # cannot lint: one line, exit 2
    out = run_hook(versions / "missing.py", "-c", shop / "alembic.ini", cwd=tmp_path)
    assert out.exit_code == 2
    assert out.stderr.strip().splitlines() == [f"sluice: error: {versions / 'missing.py'}: "
                                               "no such file"]
    out = run_hook(bad, "-c", tmp_path / "nope.ini", cwd=tmp_path)
    assert out.exit_code == 2 and "nope.ini: no such file" in out.stderr
    assert "Traceback" not in out.stderr


def test_sluice_lint_takes_files(shop: Path) -> None:
    versions = shop / "migrations" / "versions"
    (versions / "0003_drop.py").write_text(DANGEROUS)
    runner = CliRunner()
    args = ["lint", "-c", str(shop / "alembic.ini"), "--format", "json"]
    result = runner.invoke(main, [*args, str(versions / "0003_drop.py"),
                                  str(shop / "shopapp" / "models.py")])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert {f["path"].rsplit("/", 1)[-1] for f in data["findings"]} == {"0003_drop.py"}
    assert data["coverage"]["revisions"] == 1
    result = runner.invoke(main, [*args, str(versions / "0001_users_and_products.py")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, [*args, "--since", "0001", str(versions / "0003_drop.py")])
    assert result.exit_code == 2
    assert "choose one scope" in result.stderr


@needs_toml
def test_write_hook_in_a_pyproject_only_alembic_project(tmp_path: Path) -> None:
    """`alembic init -t pyproject`: script_location lives in [tool.alembic] only."""
    env = {**os.environ, "NO_COLOR": "1"}
    alembic_cli = [sys.executable, "-m", "alembic"]
    subprocess.run([*alembic_cli, "init", "-t", "pyproject", "migrations"], cwd=tmp_path,
                   check=True, capture_output=True, env=env)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '''
[[tool.alembic.post_write_hooks]]
name = "sluice"
type = "console_scripts"
entrypoint = "sluice-lint-new-revision"
''')
    out = subprocess.run([*alembic_cli, "revision", "-m", "first"], cwd=tmp_path,
                         capture_output=True, text=True, check=False, env=env)
    assert out.returncode == 0, out.stderr
    (path,) = (tmp_path / "migrations" / "versions").glob("*.py")
    assert f"migrations/versions/{path.name}: no findings" in out.stdout, out.stdout + out.stderr


# --------------------------------------------------------------------------- completion


def complete(shell: str, **env: str) -> Result:
    """What `sluice` answers to the shell's completion request, run in-process."""
    return CliRunner().invoke(main, [], prog_name="sluice",
                              env={"_SLUICE_COMPLETE": shell, **env})


@pytest.mark.parametrize("shell, marker", [
    ("bash_source", "complete -o nosort -F _sluice_completion sluice"),
    ("zsh_source", "compdef _sluice_completion sluice"),
    ("fish_source", "complete --no-files --command sluice"),
])
def test_shell_completion_script(shell: str, marker: str) -> None:
    out = complete(shell)
    assert out.exit_code == 0, out.output
    assert marker in out.stdout


def test_installed_sluice_script_answers_completion_requests() -> None:
    """The console script itself (prog name from argv[0]) reads _SLUICE_COMPLETE."""
    out = subprocess.run([str(BIN / "sluice")], capture_output=True, text=True, check=False,
                         env={**os.environ, "_SLUICE_COMPLETE": "bash_complete",
                              "COMP_WORDS": "sluice li", "COMP_CWORD": "1"})
    assert out.returncode == 0, out.stderr
    assert "plain,lint" in out.stdout.splitlines()


def test_shell_completion_completes_commands_options_and_choices() -> None:
    words = complete("bash_complete", COMP_WORDS="sluice li", COMP_CWORD="1")
    assert "plain,lint" in words.stdout.splitlines()
    options = complete("bash_complete", COMP_WORDS="sluice lock --re", COMP_CWORD="2")
    assert "plain,--rebase" in options.stdout.splitlines()
    choices = complete("bash_complete", COMP_WORDS="sluice lint --format ", COMP_CWORD="3")
    assert {"plain,sarif", "plain,gitlab"} <= set(choices.stdout.splitlines())


def test_init_moves_your_autogenerate_plugins_into_configure_options() -> None:
    from sluice.scaffold import wire_env_source

    env = ("from alembic import context\nconfig = context.config\n"
           "context.configure(url='sqlite://', target_metadata=None,\n"
           "                  autogenerate_plugins=['alembic.autogenerate.*', 'acme'])\n")
    out = wire_env_source(env)
    compile(out, "env.py", "exec")
    assert ("**configure_options(config, autogenerate_plugins=['alembic.autogenerate.*', "
            "'acme'])") in out
    assert out.count("autogenerate_plugins=") == 1  # not passed twice to configure()


def test_lint_reads_alembic_ini_like_alembic_1_13_to_1_15() -> None:
    """Before 1.16 Config has no get_alembic_option: the [alembic] section is split the
    way those versions' ScriptDirectory.from_config splits it."""
    from sluice.lint.engine import _alembic_options

    class Legacy:
        def __init__(self, **options: str) -> None:
            self.options = options

        def get_main_option(self, name: str) -> str | None:
            return self.options.get(name)

    assert _alembic_options(Legacy(script_location="migrations")) == (
        "migrations", [], False, [])
    assert _alembic_options(Legacy(
        script_location="m", version_locations="a, b c", prepend_sys_path=". src:lib",
        recursive_version_locations="true")) == ("m", ["a", "b", "c"], True,
                                                 [".", "src", "lib"])
    assert _alembic_options(Legacy(
        script_location="m", version_locations=os.pathsep.join(["my dir", "b"]),
        version_path_separator="os"))[1] == ["my dir", "b"]
    with pytest.raises(ValueError, match="version_path_separator"):
        _alembic_options(Legacy(script_location="m", version_locations="a",
                                version_path_separator="comma"))
