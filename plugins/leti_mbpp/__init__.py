"""The `mbpp` task (plugin `mbpp`): Mostly Basic Python Problems with the LeTI prompt."""
