"""The `python` environment (plugin `python`): runs programs against their test asserts."""
