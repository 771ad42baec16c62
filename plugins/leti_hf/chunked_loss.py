"""The model's own causal-LM loss, with its fp32 softmax a chunk of tokens at a time.

A causal LM's loss (transformers' ``ForCausalLMLoss`` under autocast) projects the hidden states to
the vocabulary in bf16, upcasts the logits to fp32 and takes their log-softmax: for SmolLM2's 49,152
tokens the fp32 logits, log-probabilities and their gradient cost 3 x 196 KiB a token. Here the
bf16 logits are held once, the fp32 part runs chunk by chunk, and each chunk's gradient is written
over its logits. Every product and every rounding is the model's own (the same kernels on the same
shapes), so losses and gradients are equal to the bit. The gradients are computed in the forward
pass: the loss is a scalar, so the backward pass only scales them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

IGNORE_INDEX = -100


class _LinearCrossEntropy(torch.autograd.Function):
    """cross-entropy(hidden @ weight.T, labels) summed and divided by ``items``, its gradients
    computed in the forward pass the way the model's forward and a backward pass from 1.0 compute
    them: the projection in ``dtype``, the rest in fp32."""

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        labels: torch.Tensor,
        items: torch.Tensor,
        chunk: int,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        with torch.enable_grad(), torch.autocast(hidden.device.type, enabled=False):
            low = [
                tensor.detach().to(dtype).requires_grad_(wanted)
                for tensor, wanted in zip((hidden, weight), ctx.needs_input_grad, strict=False)
            ]
            logits = nn.functional.linear(*low)  # the model's lm_head, on the same shapes
            targets = nn.functional.pad(labels, (0, 1), value=IGNORE_INDEX)[..., 1:].reshape(-1)
            flat = logits.detach().view(-1, logits.shape[-1])
            upstream = torch.ones((), dtype=torch.float32, device=hidden.device) / items  # d(sum / items) / d sum
            total = torch.zeros((), dtype=torch.float32, device=hidden.device)
            for start in range(0, flat.shape[0], chunk):
                rows = flat[start : start + chunk].to(torch.float32, copy=True).requires_grad_()
                summed = nn.functional.cross_entropy(
                    rows, targets[start : start + chunk], ignore_index=IGNORE_INDEX, reduction="sum"
                )
                (grad,) = torch.autograd.grad(summed, rows, upstream)
                flat[start : start + chunk] = grad  # over the logits, which this chunk no longer needs
                total += summed.detach()
            inputs = [tensor for tensor in low if tensor.requires_grad]
            grads = torch.autograd.grad(logits, inputs, flat.view_as(logits)) if inputs else ()
        ctx.save_for_backward(*grads)  # in ``dtype`` until the backward pass: half the memory in bf16
        ctx.dtypes = hidden.dtype, weight.dtype
        return total / items

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:
        """The kept gradients in their inputs' dtypes (what the model's upcast passes back), scaled."""
        grads = iter(ctx.saved_tensors)
        scaled = [
            next(grads).to(dtype) * grad_output if wanted else None
            for wanted, dtype in zip(ctx.needs_input_grad, ctx.dtypes, strict=False)
        ]
        return *scaled, None, None, None, None


def linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    items: int | torch.Tensor,
    chunk: int,
) -> torch.Tensor:
    """Next-token cross-entropy of ``hidden`` (batch, length, width) projected by ``weight``
    (vocabulary, width) against ``labels`` (batch, length; IGNORE_INDEX where not trained), summed
    and divided by ``items``: the model's own loss (products in the autocast dtype when autocast is
    on, the softmax in fp32), to the bit, with the fp32 logits of ``chunk`` tokens live at once."""
    device = hidden.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else weight.dtype
    count = torch.as_tensor(items, device=hidden.device)
    loss: torch.Tensor = _LinearCrossEntropy.apply(hidden, weight, labels, count, chunk, dtype)
    return loss
