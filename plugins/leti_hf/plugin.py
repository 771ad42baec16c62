"""Registers the `hf` sampler and trainer without importing torch."""

from leti_core import hookimpl


@hookimpl
def leti_register_samplers(register):
    register("hf", "leti_hf.sampler:HFSampler", "batched sampling with transformers")


@hookimpl
def leti_register_trainers(register):
    register("hf", "leti_hf.trainer:HFTrainer", "feedback-conditioned fine-tuning with trl (accelerate for many GPUs)")
