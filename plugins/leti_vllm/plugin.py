"""Registers the `vllm` sampler without importing vllm or torch."""

from leti_core import hookimpl


@hookimpl
def leti_register_samplers(register):
    register("vllm", "leti_vllm.sampler:VLLMSampler", "fast sampling on GPUs with vLLM (pip install 'leti[vllm]')")
