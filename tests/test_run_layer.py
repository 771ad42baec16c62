"""The run layer: one run folder, options declared once in the components' models, component
options from the command line, old run folders, and the docs kept true."""

from __future__ import annotations

import inspect
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from leti_core import IterationSummary, LetiError, RunFolder, hookspecs
from leti_core import components as component_interfaces
from leti_core.app import (
    KINDS,
    SHORTCUTS,
    Resolver,
    RunConfig,
    build_config,
    load_engine,
    prepare_run,
    read_run_config,
)
from leti_core.testing import FakeSampler, FakeTrainer

from .conftest import assert_one_line_error, leti, write_lines

ROOT = Path(__file__).resolve().parents[1]


def test_only_the_run_folder_module_knows_the_layout():
    knows = [
        path.relative_to(ROOT).as_posix()
        for top in ("leti_core", "leti_cli", "plugins")
        for path in (ROOT / top).rglob("*.py")
        if "iteration-" in path.read_text()
    ]
    assert knows == ["leti_core/run_folder.py"]


def test_sandbox_options_from_the_command_line(tmp_path, mbpp_dir, mbpp_records):
    samples = write_lines(
        tmp_path / "s.jsonl", [{"task_id": r["task_id"], "completion": r["code"]} for r in mbpp_records[10:14]]
    )
    done = leti("evaluate", "--data", mbpp_dir, "--sandbox-option", "workers=1", "--json", samples)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["pass@1"] == 1.0
    bogus = leti("evaluate", "--data", mbpp_dir, "--sandbox-option", "bogus=1", samples)
    assert_one_line_error(bogus, "sandbox 'local' takes no option 'bogus'", "workers", "min_level")
    typed = leti("evaluate", "--data", mbpp_dir, "--sandbox-option", "workers=many", samples)
    assert_one_line_error(typed, "sandbox 'local'", "workers", "many")
    assert_one_line_error(
        leti("evaluate", "--data", mbpp_dir, "--sandbox-option", "workers", samples), "'workers' is not KEY=VALUE"
    )


def test_an_unknown_sampler_option_fails_before_any_model_is_loaded(tmp_path, mbpp_dir):
    out = tmp_path / "run"
    done = leti(
        "run", "--data", mbpp_dir, "--model", tmp_path / "missing.gguf", "--sampler-option", "no_such=1", "--out", out
    )
    assert_one_line_error(done, "sampler", "takes no option 'no_such'", "batch_size")
    assert not out.exists()  # nothing written, the model never looked for
    done = leti("run", "--data", mbpp_dir, "--trainer-option", "lora_rank=0", "--out", out)
    assert_one_line_error(done, "trainer 'hf'", "lora_rank", "greater than or equal to 1")


def test_plugins_prints_a_components_options_with_defaults():
    done = leti("plugins", "--options", "local")
    assert done.returncode == 0, done.stderr
    assert "--sandbox-option KEY=VALUE" in done.stdout
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[2:]}
    assert {"workers", "min_level", "bwrap", "window"} <= set(rows)
    assert re.search(r"\bwindow\s+int\s+2\b", rows["window"])
    as_json = json.loads(leti("plugins", "--options", "hf", "--kind", "trainer", "--json").stdout)
    assert {
        "name": "epochs",
        "type": "int",
        "default": "3",
        "description": "passes over the training texts per iteration",
    } in as_json
    assert_one_line_error(leti("plugins", "--options", "hf"), "'hf' names a sampler, trainer", "--kind")


def _commands() -> dict[str, click.Command]:
    from leti_cli.main import cli

    found = {}
    for name, command in cli.commands.items():
        for sub in getattr(command, "commands", {name: command}).values():
            found[sub.name] = sub
    return found


def test_no_default_is_written_twice():
    """A flag that stands for a RunConfig field or a component option has no default of its own:
    its default, shown in --help, is the model's. Command-own flags may have defaults."""
    model_names = set(RunConfig.model_fields) | set(SHORTCUTS)
    for kind in KINDS:
        for info in load_engine().registry:
            if info.kind == kind:
                model_names |= set(info.load().Options.model_fields)
    own = {"eval": {"postprocess", "ks"}, "evaluate": {"split", "ks"}}
    checked = 0
    for name, command in _commands().items():
        ctx = click.Context(command)
        for param in command.get_params(ctx):
            if not isinstance(param, click.Option) or param.is_flag and not param.secondary_opts:
                continue
            if param.name in model_names and param.name not in own.get(name, set()):
                default = param.get_default(ctx)
                assert default in (None, ()) or type(default).__name__ == "Sentinel", (name, param.name, default)
                checked += 1
    assert checked > 40
    run_help = leti("run", "--help").stdout
    assert "[128]" in run_help and "[1e-05]" in run_help and "(trainer option learning_rate)" in run_help


def test_an_option_the_chosen_component_does_not_take_is_an_error():
    resolver = Resolver(load_engine().registry)
    with pytest.raises(LetiError, match="environment 'eae' takes no option 'memory'.*timeout"):
        build_config(resolver, {"task": "eae-sample", "env_options": {"memory": 1}})
    config = build_config(resolver, {"task": "eae-sample", "timeout": "12"})
    assert config.env_options == {"timeout": 12.0}
    assert config.user_values() == {"task": "eae-sample", "env_options": {"timeout": 12.0}}
    # a shortcut sets every chosen component that takes it; a later layer wins over an earlier one
    config = build_config(
        resolver,
        {"sampler": "hf", "precision": "bf16", "trainer_options": {"precision": "auto"}},
        {"precision": "fp32"},
    )
    assert (config.sampler_options, config.trainer_options) == ({"precision": "fp32"}, {"precision": "fp32"})
    config = build_config(resolver, {"sampler": "hf", "precision": "bf16", "trainer_options": {"precision": "auto"}})
    assert (config.sampler_options, config.trainer_options) == ({"precision": "bf16"}, {"precision": "auto"})
    # the run's seed and max_tokens are its trainer's unless its trainer options say otherwise
    config = build_config(resolver, {"seed": 3, "max_tokens": 300, "trainer_options": {"seed": 1}}, {"seed": 4})
    assert (config.seed, config.max_tokens, config.trainer_options) == (4, 300, {"seed": 1})
    trainer = resolver.create("trainer", config)
    assert (trainer.options.seed, trainer.options.max_length) == (1, 300)
    assert resolver.create("trainer", build_config(resolver, {})).options.max_length == 512


#: config.json as `leti run` wrote it before options moved to the components.
LEGACY = {
    "task": "mbpp",
    "data": None,
    "env": None,
    "feedback": "traceback",
    "sampler": "hf",
    "trainer": "hf",
    "model": "m",
    "training_data": "feedback",
    "iterations": 1,
    "problems": 1,
    "samples": 2,
    "temperature": 1.0,
    "top_p": 1.0,
    "max_tokens": 512,
    "sample_batch_size": 32,
    "timeout": None,
    "sandbox": None,
    "epochs": 3,
    "learning_rate": 1e-05,
    "weight_decay": 0.01,
    "batch_size": 128,
    "micro_batch_size": 4,
    "pretrain_mix": True,
    "pretrain_corpus": "stdlib",
    "precision": "auto",
    "lora": False,
    "launcher": None,
    "eval_problems": 1,
    "eval_samples": 1,
    "eval_temperature": 0.1,
    "eval_condition": "good",
    "seed": 0,
    "sampler_options": {},
    "trainer_options": {},
    "env_options": {"sandbox_options": {"workers": 1}},
}


def test_a_run_folder_from_before_resumes_and_reports(tmp_path, mbpp_dir):
    folder = RunFolder(tmp_path / "old")
    folder.path.mkdir()
    folder.config_file.write_text(json.dumps({**LEGACY, "data": str(mbpp_dir)}))
    engine = load_engine()
    config = read_run_config(folder, Resolver(engine.registry))
    assert config.max_tokens == 512 and config.sampler_options["batch_size"] == 32
    assert config.sandbox_options == {"workers": 1} and config.task_options == {"data": str(mbpp_dir)}
    (folder.path / "iteration-1").mkdir()
    folder.iteration(1).summary_file.write_text(
        json.dumps(
            {
                "iteration": 1,
                "samples": 2,
                "evaluation": {"problems": 1, "samples": 1, "pass_at": {"pass@1": 0.0}},
                "extra_metrics": {"pass@1 (post-processed)": 1.0},
                "training_steps": 2,
            }
        )
    )
    summary = folder.iteration(1).summary()
    assert summary.held_out.postprocessed.pass_at == {"pass@1": 1.0} and summary.held_out.metrics == {}
    assert summary.held_out.raw.pass_at == {"pass@1": 0.0}
    changed = leti("run", "--resume", folder.path, "--epochs", "1")
    assert_one_line_error(changed, "another config", "trainer_options.epochs", "3", "1")
    run = prepare_run(engine, folder.path, {"iterations": 2}, resume=True, log=lambda _: None)
    assert run.config.iterations == 2 and run.components.trainer.options.max_length == 512
    report = leti("report", folder.path, "--out", tmp_path / "report")
    assert report.returncode == 0, report.stderr


def test_observers_get_the_run_folder_and_every_summary_so_far(tmp_path, mbpp_dir):
    from leti_core import hookimpl

    seen = []

    class Watcher:
        @hookimpl
        def leti_iteration_end(self, run, summary, summaries):
            seen.append((run.path, summary.iteration, [item.iteration for item in summaries]))

    engine = load_engine()
    engine.add_plugin(Watcher(), "watcher")
    run = prepare_run(
        engine,
        tmp_path / "run",
        {
            "data": str(mbpp_dir),
            "model": "m",
            "iterations": 2,
            "problems": 1,
            "samples": 1,
            "eval_problems": 1,
            "eval_samples": 1,
        },
        components={"sampler": FakeSampler(), "trainer": FakeTrainer()},
        log=lambda _: None,
    )
    with run.components:
        run.run()
    assert seen == [(tmp_path / "run", 1, [1]), (tmp_path / "run", 2, [1, 2])]
    assert [s.iteration for s in RunFolder(tmp_path / "run").summaries()] == [1, 2]


def test_the_python_api_example_runs(tmp_path, mbpp_dir, monkeypatch):
    """docs/examples/compose_pipeline.py, with the fake sampler and trainer in place of the model."""
    import runpy

    import leti_core.app.launch as launch

    original = launch.prepare_run

    def without_model(*args, **kwargs):
        kwargs["components"] = {**kwargs.get("components", {}), "sampler": FakeSampler, "trainer": FakeTrainer}
        return original(*args, **kwargs)

    monkeypatch.setattr("leti_core.app.prepare_run", without_model)
    monkeypatch.setattr(
        sys, "argv", ["compose_pipeline.py", "--data", str(mbpp_dir), "--out", str(tmp_path / "api"), "--problems", "2"]
    )
    runpy.run_path(str(ROOT / "docs" / "examples" / "compose_pipeline.py"), run_name="__main__")
    summary = IterationSummary.model_validate_json((tmp_path / "api" / "iteration-1" / "summary.json").read_text())
    assert summary.samples == 4
    texts = (tmp_path / "api" / "iteration-1" / "training.jsonl").read_text()
    assert "Failed: " in texts  # the inline formatter, with the option the script set


def test_docs_plugins_page_names_every_hook_and_interface_method():
    page = (ROOT / "docs" / "plugins.md").read_text()
    for name, spec in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("leti_"):
            continue
        arguments = ", ".join(inspect.signature(spec).parameters)
        assert f"`{name}({arguments})`" in page, f"docs/plugins.md does not show {name}({arguments})"
    for interface in (
        component_interfaces.Task,
        component_interfaces.Environment,
        component_interfaces.Sandbox,
        component_interfaces.FeedbackFormatter,
        component_interfaces.Sampler,
        component_interfaces.Trainer,
    ):
        for method in getattr(interface, "__abstractmethods__", ()) or [
            name for name, value in vars(interface).items() if getattr(value, "__isabstractmethod__", False)
        ]:
            parameters = [p for p in inspect.signature(getattr(interface, method)).parameters if p != "self"]
            assert f"`{method}({', '.join(parameters)})" in page, (
                f"docs/plugins.md does not show {interface.__name__}.{method}({', '.join(parameters)})"
            )


def test_leti_help_plugins_and_doctor_import_no_torch():
    code = (
        "import sys; from leti_cli.main import cli; "
        "cli.main(['run', '--help'], standalone_mode=False); cli.main(['plugins', '--options', 'local'], "
        "standalone_mode=False); cli.main(['doctor', '--json'], standalone_mode=False); "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_sampling_options_kept_with_the_sampler_move_to_the_run_with_one_line_each(tmp_path, mbpp_dir, caplog):
    folder = RunFolder(tmp_path / "old")
    folder.path.mkdir()
    folder.config_file.write_text(
        json.dumps(
            {
                "task": "mbpp",
                "task_options": {"data": str(mbpp_dir)},
                "sampler": "hf",
                "model": "m",
                "sampler_options": {"max_tokens": 300, "seed": 2, "batch_size": 8},
                "trainer_options": {"max_length": 300, "seed": 2, "epochs": 1},
            }
        )
    )
    resolver = Resolver(load_engine().registry)
    with caplog.at_level(logging.WARNING):
        config = read_run_config(folder, resolver)
    assert (config.max_tokens, config.seed) == (300, 2)
    assert (config.sampler_options, config.trainer_options) == ({"batch_size": 8}, {"epochs": 1})
    moved = [line for line in caplog.text.splitlines() if "is now the run's" in line]
    assert len(moved) == 2 and "config.json: sampler_options.max_tokens is now the run's 'max_tokens'" in moved[0]
    given = build_config(resolver, {"sampler": "hf", "sampler_options": {"top_p": 0.5}, "top_p": 0.9})
    assert given.top_p == 0.9 and given.sampler_options == {}  # the new place wins
