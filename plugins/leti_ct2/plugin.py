"""Registers the `ct2` sampler without importing ctranslate2, torch or transformers."""

from leti_core import hookimpl


@hookimpl
def leti_register_samplers(register):
    register("ct2", "leti_ct2.sampler:CT2Sampler", "sampling with CTranslate2 (pip install 'leti[ct2]')")
