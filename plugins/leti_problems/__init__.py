"""The `problems` task (plugin `problems`): your own problems from a data file or a hub dataset."""
