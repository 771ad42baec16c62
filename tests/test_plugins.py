import json
import sys
from importlib.metadata import EntryPoint

import pytest

import leti_core.app.plugins as plugins
from leti_core import FeedbackFormatter, LetiError, UnknownComponentError, hookimpl
from leti_core.app import DuplicateComponentError, Engine, load_engine

from .conftest import leti


def test_first_party_components_come_through_entry_points():
    engine = load_engine()
    found = {(info.kind, info.name): info for info in engine.registry}
    assert {
        ("task", "mbpp"),
        ("environment", "python"),
        ("sandbox", "subprocess"),
        ("feedback", "traceback"),
        ("feedback", "binary"),
    } <= set(found)
    assert found[("task", "mbpp")].distribution == "leti"
    assert found[("task", "mbpp")].plugin == "mbpp"


def test_unknown_name_lists_installed_names():
    with pytest.raises(UnknownComponentError, match=r"unknown environment 'ruby'; installed environments: .*python"):
        load_engine().registry.environment("ruby")


def test_a_broken_plugin_warns_and_the_rest_work(monkeypatch):
    real = plugins.entry_points(group="leti")
    broken = EntryPoint(name="broken", value="leti_no_such_module_xyz", group="leti")
    monkeypatch.setattr(plugins, "entry_points", lambda group: [*real, broken])
    with pytest.warns(plugins.PluginWarning, match="plugin 'broken'.*failed to load"):
        engine = load_engine()
    assert "mbpp" in engine.registry.names("task")
    assert "broken" not in engine.plugins


def test_environment_variable_limits_loaded_plugins(monkeypatch):
    monkeypatch.setenv("LETI_PLUGINS", "mbpp,feedback")
    engine = load_engine()
    assert set(engine.plugins) == {"mbpp", "feedback"}
    assert engine.registry.names("environment") == []


class _Formatter(FeedbackFormatter):
    name = "dup"

    def format(self, result):
        raise NotImplementedError


class _Plugin:
    @hookimpl
    def leti_register_feedback_formatters(self, register):
        register("traceback", _Formatter)


def test_duplicate_names_show_both_plugins():
    engine = load_engine()
    with pytest.raises(
        DuplicateComponentError, match=r"'traceback' is registered twice: by plugin 'feedback' .* by plugin 'mine'"
    ):
        engine.add_plugin(_Plugin(), "mine")


def test_string_targets_are_imported_only_when_chosen():
    engine = Engine()

    class Lazy:
        @hookimpl
        def leti_register_trainers(self, register):
            register("late", "leti_never_imported_module:Trainer", "imported on use")

    engine.add_plugin(Lazy(), "lazy")
    assert engine.registry.info("trainer", "late").description == "imported on use"
    assert "leti_never_imported_module" not in sys.modules
    with pytest.raises(LetiError, match="cannot be loaded from leti_never_imported_module:Trainer"):
        engine.registry.trainer("late")


def test_unknown_option_is_rejected_with_its_name():
    with pytest.raises(LetiError, match="environment 'python': option colour: Extra inputs"):
        load_engine().registry.environment("python", colour="red")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["plugins"],
        ["evaluate", "--help"],
        ["eval", "--help"],
        ["report", "--help"],
        ["sandbox", "check", "--help"],
    ],
)
def test_light_commands_never_import_the_ml_stack(args):
    probe = (
        "import sys, runpy; sys.argv = ['leti', *%r]\n"
        "try:\n    runpy.run_module('leti_cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'docker', 'datasets', 'matplotlib', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n" % (args,)
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in out.stderr, out.stderr


def test_plugins_command_lists_kind_name_plugin_distribution_version():
    table = leti("plugins")
    assert table.returncode == 0
    header = table.stdout.splitlines()[0].split()
    assert header == ["kind", "name", "plugin", "distribution", "version"]
    rows = json.loads(leti("plugins", "--json").stdout)
    mbpp = next(row for row in rows if row["name"] == "mbpp")
    assert mbpp["kind"] == "task" and mbpp["distribution"] == "leti" and mbpp["version"]


def test_an_environment_that_does_not_fit_the_task_is_refused(mbpp_dir):
    from leti_core import Environment, IncompatibleComponentsError
    from leti_core.app import ensure_compatible

    class StructureChecker(Environment):
        name = "structure"
        accepts = frozenset({"eae"})

        def execute(self, problems, completions, progress=None):
            raise AssertionError("never reached")

    task = load_engine().registry.task("mbpp", data=mbpp_dir)
    with pytest.raises(
        IncompatibleComponentsError, match="environment 'structure' cannot check task 'mbpp'.*--env python"
    ):
        ensure_compatible(task, StructureChecker())


def test_a_refused_plugin_leaves_nothing_behind():
    engine = load_engine()
    before = list(engine.registry)
    with pytest.raises(DuplicateComponentError):
        engine.add_plugin(_Plugin(), "mine")
    assert "mine" not in engine.plugins and not engine.manager.has_plugin("mine")
    assert list(engine.registry) == before


def test_observer_plugins_are_listed():
    rows = json.loads(leti("plugins", "--json").stdout)
    observers = {row["name"] for row in rows if row["kind"] == "observer"}
    assert "tensorboard" in observers
