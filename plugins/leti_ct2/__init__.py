"""The `ct2` sampler: CTranslate2 on CPU (and CUDA), with checkpoints converted once and cached."""
