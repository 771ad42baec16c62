"""Test support for plugin authors (needs pytest): the sandbox conformance and forging suites, and a fake
sampler and trainer that let a task, environment or feedback plugin run the whole loop in seconds.

    from leti_core.testing import FakeSampler, FakeTrainer, SandboxConformance
"""

from .command_conformance import COMMAND_ATTACKS, CommandConformance
from .fakes import FakeSampler, FakeTrainer
from .forging import FORGES, ForgingSuite, PythonForges
from .sandbox_conformance import ATTACKS, SandboxConformance

__all__ = [
    "ATTACKS",
    "COMMAND_ATTACKS",
    "FORGES",
    "CommandConformance",
    "FakeSampler",
    "FakeTrainer",
    "ForgingSuite",
    "PythonForges",
    "SandboxConformance",
]
