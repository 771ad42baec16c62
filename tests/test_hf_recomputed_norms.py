"""RMSNorms recomputed in the backward pass: the same gradients to the bit, fewer kept activations."""

from __future__ import annotations

import pytest
import torch
from leti_hf.recomputed_norms import recompute_norms
from transformers import GPT2Config, GPT2LMHeadModel

from .test_hf_chunked_loss import _batch, _model


def _grads_and_kept_bytes(recomputed: bool, autocast: bool) -> tuple[list[torch.Tensor], int]:
    """The parameters' gradients of one forward and backward pass, and the bytes of the activations
    the forward pass kept for the backward one (each storage once, the parameters left out)."""
    model = _model()
    if recomputed:
        assert recompute_norms(model) == 2 * model.config.num_hidden_layers + 1  # two a layer, one final
    ids, mask, labels = _batch()
    parameters = {parameter.data_ptr() for parameter in model.parameters()}
    kept: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.data_ptr() not in parameters:
            kept[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    return [parameter.grad for parameter in model.parameters()], sum(kept.values())


@pytest.mark.parametrize("autocast", [False, True], ids=["fp32", "bf16-autocast"])
def test_recomputed_norms_give_the_same_gradients_and_keep_less(autocast: bool) -> None:
    grads, kept = _grads_and_kept_bytes(False, autocast)
    recomputed_grads, recomputed_kept = _grads_and_kept_bytes(True, autocast)
    assert all(torch.equal(one, two) for one, two in zip(grads, recomputed_grads, strict=True))
    tokens, width, norms = 2 * 23, 32, 5
    assert kept - recomputed_kept >= norms * tokens * width * 4  # at least each norm's fp32 output


def test_each_norm_is_changed_once_and_models_without_them_are_left_alone() -> None:
    model = _model()
    assert recompute_norms(model) == 5
    assert recompute_norms(model) == 0
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50, n_positions=32))
    assert recompute_norms(gpt2) == 0
