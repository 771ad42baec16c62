"""The solution evaluator: compares the completed event's arguments with the gold ones.

Its source is appended to every `eae` program and runs inside the sandbox, so it uses the
standard library only; the parent imports the same module to count matches. Each check either
passes or raises an AssertionError whose message is the textual feedback. Before judging, it
prints the predicted arguments on stdout as one line tagged with the run's nonce.
"""

import json as _eae_json
import sys as _eae_sys

EAE_TAG = "[leti-eae-predictions]"


def eae_normalize(text):
    """Texts compare case-insensitively with runs of whitespace collapsed."""
    return " ".join(str(text).split()).casefold()


def eae_pairs(arguments):
    """Unique ``(role, normalized text)`` pairs, in order, from ``(role, text)`` items."""
    return list(dict.fromkeys((str(role), eae_normalize(text)) for role, text in arguments))


def eae_match(predicted, gold):
    """Match predicted to gold pairs one to one: exact pairs first, then the same text alone.

    Returns ``(identified, classified, verdicts)``; ``verdicts[i]`` is ``"correct"``,
    ``"wrong role"`` (the text is a gold argument's, the role is not) or ``"no match"``.
    """
    left = list(range(len(gold)))
    verdicts = [None] * len(predicted)
    for i, pair in enumerate(predicted):
        for j in left:
            if gold[j] == pair:
                left.remove(j)
                verdicts[i] = "correct"
                break
    classified = verdicts.count("correct")
    identified = classified
    gold_texts = {text for _, text in gold}
    for i, (_, text) in enumerate(predicted):
        if verdicts[i] is not None:
            continue
        for j in left:
            if gold[j][1] == text:
                left.remove(j)
                identified += 1
                break
        verdicts[i] = "wrong role" if text in gold_texts else "no match"
    return identified, classified, verdicts


def _eae_is_entity(value):
    return any(cls.__name__ == "Entity" for cls in type(value).__mro__)


def _eae_role_problem(role, value):
    """Why a role's value is not a list of entity instances, or None."""
    if not isinstance(value, list):
        return f"{role} must be a list of entity instances, got {type(value).__name__}"
    for index, item in enumerate(value):
        if not _eae_is_entity(item):
            shown = f": {item!r}"[:60] if isinstance(item, (str, int, float)) else ""
            return f"{role} must be a list of entity instances, but {role}[{index}] is a {type(item).__name__}{shown}"
        name = getattr(item, "name", None)
        if not isinstance(name, str):
            return f"{role}[{index}].name must be a string, got {type(name).__name__}"
    return None


def _eae_emit(nonce, predictions):
    stream = _eae_sys.__stdout__ or _eae_sys.stdout
    try:
        print(f"\n{EAE_TAG} {nonce} {_eae_json.dumps(predictions)}", file=stream, flush=True)
    except Exception:
        pass


def eae_check(namespace, spec):
    """Judge ``namespace[spec["variable"]]`` against ``spec["gold"]``; raise the first problem."""
    event = namespace.get(spec["variable"])
    predictions = []
    problem = None
    if type(event).__name__ != spec["class_name"]:
        problem = f"{spec['variable']} must be a {spec['class_name']} instance, got {type(event).__name__}"
    else:
        for role in spec["roles"]:
            try:
                value = getattr(event, role, [])
            except Exception as error:
                value = error
            issue = _eae_role_problem(role, value)
            if issue is not None:
                problem = problem or issue
                continue
            predictions.extend([role, item.name] for item in value)
    _eae_emit(spec["nonce"], predictions)
    if problem is not None:
        raise AssertionError(problem)
    originals = {}
    for role, text in predictions:
        originals.setdefault((role, eae_normalize(text)), text)
    predicted = eae_pairs(predictions)
    gold = eae_pairs(spec["gold"])
    identified, classified, verdicts = eae_match(predicted, gold)
    for (role, key), verdict in zip(predicted, verdicts, strict=True):
        text = originals[(role, key)]
        if verdict == "wrong role":
            raise AssertionError(f'argument "{text}" is in the wrong role: it is not the {role} of this event')
        if verdict == "no match":
            raise AssertionError(f'argument "{text}" ({role}) matches no argument of this event')
    if classified < len(gold):
        raise AssertionError(f"only {classified} out of {len(gold)} arguments are correctly identified")
