"""The `hf` sampler and trainer (plugin `hf`): transformers for generation, trl for training.

Nothing here is imported until an `hf` component is chosen.
"""
