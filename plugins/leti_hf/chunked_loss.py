"""The causal-LM loss from the last hidden states, a chunk of tokens at a time: the logits over the
vocabulary (49,152 x 4 bytes a token for SmolLM2) are never held for a whole micro-batch.

Each chunk's gradient is computed in the forward pass (the loss is a scalar, so the backward pass
only scales it), which costs the same three matrix products as an ordinary forward and backward.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: tokens whose logits are live at once: 512 x 49,152 x 4 bytes = 96 MiB
CHUNK_TOKENS = 512
IGNORE_INDEX = -100


class _LinearCrossEntropy(torch.autograd.Function):
    """Sum over tokens of cross-entropy(hidden @ weight.T, labels), with its gradients computed chunk by chunk."""

    @staticmethod
    def forward(
        ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int, dtype: torch.dtype
    ) -> torch.Tensor:
        with torch.autocast(hidden.device.type, enabled=False):
            total, grad_hidden, grad_weight = _chunked(hidden, weight, labels, chunk, dtype)
        ctx.save_for_backward(grad_hidden, grad_weight)
        return total

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:
        grad_hidden, grad_weight = ctx.saved_tensors
        return grad_hidden * grad_output, grad_weight * grad_output, None, None, None


def _chunked(
    hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(summed loss, d loss / d hidden, d loss / d weight), the products in ``dtype``, the softmax in fp32."""
    low_weight = weight.to(dtype)
    total = torch.zeros((), dtype=torch.float32, device=hidden.device)
    grad_hidden = torch.empty_like(hidden)
    grad_weight = torch.zeros_like(weight, dtype=torch.float32)
    for start in range(0, hidden.shape[0], chunk):
        rows = hidden[start : start + chunk].to(dtype)
        targets = labels[start : start + chunk, None]
        logits = (rows @ low_weight.T).float()
        peak = logits.amax(dim=-1, keepdim=True)
        total += (peak.squeeze(1) - logits.gather(1, targets).squeeze(1)).sum()
        grad = logits.sub_(peak).exp_()  # in place of the logits: one pass of exp for the loss and its gradient
        sums = grad.sum(dim=-1, keepdim=True)
        total += sums.log().sum()
        grad.div_(sums).scatter_add_(1, targets, torch.full_like(targets, -1, dtype=grad.dtype))
        low_grad = grad.to(dtype)
        grad_hidden[start : start + chunk] = low_grad @ low_weight
        grad_weight += low_grad.T @ rows
    return total, grad_hidden, grad_weight.to(weight.dtype)


def linear_cross_entropy(
    hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int = CHUNK_TOKENS
) -> torch.Tensor:
    """Summed next-token cross-entropy of ``hidden`` (batch, length, width) projected by ``weight``
    (vocabulary, width) against ``labels`` (batch, length; IGNORE_INDEX where not trained), as the
    model's own loss computes it: products in the autocast dtype when autocast is on, softmax in fp32."""
    shifted = nn.functional.pad(labels, (0, 1), value=IGNORE_INDEX)[..., 1:].reshape(-1)
    kept = shifted != IGNORE_INDEX
    rows = hidden.reshape(-1, hidden.shape[-1])[kept]
    device = hidden.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else weight.dtype
    loss: torch.Tensor = _LinearCrossEntropy.apply(rows, weight, shifted[kept], chunk, dtype)
    return loss
