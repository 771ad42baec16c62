"""The `vllm` sampler: vLLM's engine in process, on one GPU or several (tensor parallel)."""
