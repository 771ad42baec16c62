"""The `eae` environment: the solution evaluator's feedback, the pass rule and Arg-I / Arg-C F1."""

from __future__ import annotations

import pytest

from leti_core import ExecutionResult, IncompatibleComponentsError, Sample, Sandbox
from leti_core.app import Scorer, ensure_compatible, load_engine

TOWED = "test-01/s1#0"  # The coast guard **towed** the damaged yacht to the harbour at Brenholm .
GOLD = 'agent=[ORG("The coast guard")], artifact=[VEH("the damaged yacht")], destination=[FAC("the harbour")])'


@pytest.fixture(scope="module")
def registry():
    return load_engine().registry


@pytest.fixture(scope="module")
def sample_problems(registry):
    return {problem.task_id: problem for problem in registry.task("eae-sample").load("all")}


@pytest.fixture(scope="module")
def scorer(registry):
    with registry.environment("eae") as environment:
        yield Scorer(environment, registry.feedback("traceback"))


def score(scorer, problems, completions, task_id=TOWED):
    samples = [Sample(task_id=task_id, completion=completion) for completion in completions]
    return scorer.score(problems, samples)


def test_gold_arguments_score_100_on_every_split(registry, scorer):
    task = registry.task("eae-sample")
    sizes = {}
    for split in ("train", "validation", "test"):
        problems = {p.task_id: p for p in task.load(split)}
        sizes[split] = len(problems)
        samples = [Sample(task_id=key, completion=p.reference) for key, p in problems.items()]
        scored = scorer.score(problems, samples)
        failures = [(item.sample.task_id, item.feedback.text) for item in scored if not item.result.passed]
        assert failures == []
        metrics = scorer.environment.metrics(scored, problems)
        assert metrics == {f"arg_{x}_{m}": 100.0 for x in ("i", "c") for m in ("precision", "recall", "f1")}
    assert sizes == {"train": 46, "validation": 9, "test": 17}
    assert len(task.load("all")) == sum(sizes.values())


WRONG = [
    # (completion, feedback, (predicted, identified, classified)) against 3 gold arguments
    (
        'agent=[ORG("The coast guard")], vehicle=[VEH("the damaged yacht")], destination=[FAC("the harbour")])',
        'AssertionError: argument "the damaged yacht" is in the wrong role: it is not the vehicle of this event',
        (3, 3, 2),
    ),
    (
        GOLD[:-1] + ', origin=[GPE("Brenholm")])',
        'AssertionError: argument "Brenholm" (origin) matches no argument of this event',
        (4, 3, 3),
    ),
    (
        'agent=[ORG("the coast  GUARD")], artifact=[VEH("the damaged yacht")])',
        "AssertionError: only 2 out of 3 arguments are correctly identified",
        (2, 2, 2),
    ),
    (
        'agent=ORG("The coast guard"), artifact=[VEH("the damaged yacht")])',
        "AssertionError: agent must be a list of entity instances, got ORG",
        (1, 1, 1),
    ),
    (
        'agent=["The coast guard"])',
        "AssertionError: agent must be a list of entity instances, but agent[0] is a str: 'The coast guard'",
        (0, 0, 0),
    ),
    (
        GOLD + "\ntransport_event = None",
        "AssertionError: transport_event must be a Transport instance, got NoneType",
        (0, 0, 0),
    ),
]


@pytest.mark.parametrize(("completion", "feedback", "counts"), WRONG)
def test_wrong_completions_get_the_evaluators_message(scorer, sample_problems, completion, feedback, counts):
    [item] = score(scorer, sample_problems, [completion])
    assert item.result.status == "failed"
    assert item.feedback.text == feedback  # the evaluator's own frames are not shown
    assert item.result.error.frames == []
    metrics = scorer.environment.metrics([item], sample_problems)
    predicted, identified, classified = counts
    assert metrics["arg_i_precision"] == pytest.approx(100 * identified / predicted if predicted else 0)
    assert metrics["arg_i_recall"] == pytest.approx(100 * identified / 3)
    assert metrics["arg_c_recall"] == pytest.approx(100 * classified / 3)


def test_errors_in_the_completion_show_its_own_frame(scorer, sample_problems):
    prompt_lines = sample_problems[TOWED].prompt.count("\n") + 1
    unknown, syntax, keyword = score(
        scorer,
        sample_problems,
        [
            'agent=[BOAT("The coast guard")])',
            'agent=[ORG("The coast guard")]',
            'pilot=[PER("someone")])',
        ],
    )
    assert unknown.feedback.text == (
        "Traceback (most recent call last):\n"
        f'  File "program.py", line {prompt_lines}, in <module>\n'
        '    transport_event = Transport(agent=[BOAT("The coast guard")])\n'
        "NameError: name 'BOAT' is not defined"
    )
    assert syntax.result.error.syntax_error and syntax.result.error.type == "SyntaxError"
    assert syntax.feedback.text.startswith(f'  File "program.py", line {prompt_lines}\n')
    assert "eae_check" not in syntax.feedback.text  # never the evaluator's source
    assert keyword.feedback.text.endswith("TypeError: Transport.__init__() got an unexpected keyword argument 'pilot'")
    assert [frame.lineno for frame in keyword.result.error.frames] == [prompt_lines]


def test_hand_computed_micro_f1(scorer, sample_problems):
    # predicted / identified / classified: gold 3/3/3, wrong role 3/3/2, extra 4/3/3, missing 2/2/2,
    # not a list 0/0/0 and NameError 0/0/0; gold is 3 each: 18 in all.
    completions = [GOLD, WRONG[0][0], WRONG[1][0], WRONG[2][0], WRONG[4][0], 'agent=[BOAT("x")])']
    scored = score(scorer, sample_problems, completions)
    assert [item.result.passed for item in scored] == [True, False, False, False, False, False]
    metrics = scorer.environment.metrics(scored, sample_problems)
    assert metrics["arg_i_precision"] == pytest.approx(100 * 11 / 12)
    assert metrics["arg_i_recall"] == pytest.approx(100 * 11 / 18)
    assert metrics["arg_i_f1"] == pytest.approx(100 * 22 / 30)  # 73.33
    assert metrics["arg_c_precision"] == pytest.approx(100 * 10 / 12)
    assert metrics["arg_c_recall"] == pytest.approx(100 * 10 / 18)
    assert metrics["arg_c_f1"] == pytest.approx(100 * 20 / 30)  # 66.67


def test_one_to_one_matching_and_duplicates(scorer, sample_problems):
    twice, both_roles = score(
        scorer,
        sample_problems,
        [
            'agent=[ORG("The coast guard"), ORG("the coast guard")], artifact=[VEH("the damaged yacht")], '
            'destination=[FAC("the harbour")])',
            'agent=[ORG("The coast guard")], artifact=[ORG("The coast guard"), VEH("the damaged yacht")], '
            'destination=[FAC("the harbour")])',
        ],
    )
    assert twice.result.passed  # a repeated argument counts once
    assert both_roles.feedback.text == (
        'AssertionError: argument "The coast guard" is in the wrong role: it is not the artifact of this event'
    )
    metrics = scorer.environment.metrics([both_roles], sample_problems)
    assert metrics["arg_i_precision"] == pytest.approx(75.0)  # the second copy identifies nothing
    assert metrics["arg_c_recall"] == pytest.approx(100.0)


def test_the_program_cannot_forge_its_counts(scorer, sample_problems):
    [item] = score(
        scorer,
        sample_problems,
        [
            ')\nprint("[leti-eae-counts] {\\"predicted\\": 3, \\"gold\\": 3, \\"identified\\": 3, \\"classified\\": 3}")\n'
            'print("[leti-eae-predictions] 0000 [[\\"agent\\", \\"The coast guard\\"]]")',
        ],
    )
    assert item.feedback.text == "AssertionError: only 0 out of 3 arguments are correctly identified"
    assert item.result.data == {"predicted": 0, "gold": 3, "identified": 0, "classified": 0}
    assert "[leti-eae-counts]" not in item.result.stdout  # a tagged line the program printed is dropped
    assert scorer.environment.metrics([item], sample_problems)["arg_i_recall"] == 0.0
    assert item.to_results_line()["data"] == item.result.data


def test_counts_kept_by_a_run_from_before_are_still_read(sample_problems):
    from leti_eae.environment import counts_of

    old = ExecutionResult(
        status="failed", stdout='x\n[leti-eae-counts] {"predicted": 2, "gold": 3, "identified": 1, "classified": 1}\n'
    )
    assert (counts_of(old).predicted, counts_of(old).identified) == (2, 1)
    new = ExecutionResult(status="failed", stdout=old.stdout, data={"predicted": 0, "gold": 3})
    assert counts_of(new).predicted == 0  # data, when there, is what counts


class _AlwaysPasses(Sandbox):
    name = "always-passes"

    def __init__(self):
        super().__init__()
        self.programs = []

    def run(self, programs, progress=None):
        self.programs.extend(programs)
        return [ExecutionResult(status="passed", stdout="hello\n") for _ in programs]


def test_a_pass_needs_the_evaluators_counts(registry, sample_problems):
    sandbox = _AlwaysPasses()
    with registry.environment("eae", sandbox_instance=sandbox) as environment:
        [result] = environment.execute([sample_problems[TOWED]], [GOLD])
    assert sandbox.programs[0].timeout == 30.0  # the paper's limit for EAE
    assert sandbox.programs[0].source.startswith(sample_problems[TOWED].prompt + GOLD + "\n")
    assert result.status == "failed"
    assert result.error.message == "only 0 out of 3 arguments are correctly identified"
    assert result.stdout.startswith("hello\n")


def test_eae_and_python_do_not_mix(registry):
    with pytest.raises(IncompatibleComponentsError, match="try --env eae"):
        ensure_compatible(registry.task("eae-sample"), registry.environment("python"))
    with pytest.raises(IncompatibleComponentsError):
        ensure_compatible(registry.task("mbpp"), registry.environment("eae"))


def test_a_run_that_times_out_predicts_nothing(registry, sample_problems):
    with registry.environment("eae", timeout=1) as environment:
        scored = Scorer(environment, registry.feedback("traceback")).score(
            sample_problems, [Sample(task_id=TOWED, completion=GOLD + "\nwhile True:\n    pass\n")]
        )
        metrics = environment.metrics(scored, sample_problems)
    assert scored[0].result.status == "timed out" and scored[0].feedback.text == "timeout"
    assert metrics["arg_i_precision"] == metrics["arg_i_recall"] == 0.0
