"""Norms and gated MLPs recomputed in the backward pass: the same gradients to the bit, fewer kept
activations."""

from __future__ import annotations

import pytest
import torch
from leti_hf.recomputed_activations import recompute_activations
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

from .test_hf_chunked_loss import _batch, _model

TOKENS, WIDTH, INTERMEDIATE, LAYERS = 2 * 23, 32, 64, 2


def _grads_and_kept_bytes(recomputed: bool, autocast: bool) -> tuple[list[torch.Tensor], int]:
    """The parameters' gradients of one forward and backward pass, and the bytes of the activations
    the forward pass kept for the backward one (each storage once, the parameters left out)."""
    model = _model()
    if recomputed:
        assert recompute_activations(model) == {"norms": 2 * LAYERS + 1, "gated MLPs": LAYERS}
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
def test_recomputed_activations_give_the_same_gradients_and_keep_less(autocast: bool) -> None:
    grads, kept = _grads_and_kept_bytes(False, autocast)
    recomputed_grads, recomputed_kept = _grads_and_kept_bytes(True, autocast)
    assert all(torch.equal(one, two) for one, two in zip(grads, recomputed_grads, strict=True))
    norm_outputs = (2 * LAYERS + 1) * TOKENS * WIDTH * 4  # fp32
    gates = LAYERS * TOKENS * INTERMEDIATE * (2 if autocast else 4)  # silu(gate), in the products' dtype
    assert kept - recomputed_kept >= norm_outputs + gates


def test_each_module_is_changed_once_and_others_are_left_alone() -> None:
    model = _model()
    assert recompute_activations(model) == {"norms": 5, "gated MLPs": 2}
    assert recompute_activations(model) == {"norms": 0, "gated MLPs": 0}
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50, n_positions=32))
    assert recompute_activations(gpt2) == {"norms": 0, "gated MLPs": 0}


def test_a_gated_mlp_of_another_activation_is_left_alone() -> None:
    model = _model()
    for layer in model.model.layers:
        layer.mlp.act_fn = nn.GELU()  # the same parts, not silu: the product would be wrong
    random_state = torch.random.get_rng_state()
    assert recompute_activations(model)["gated MLPs"] == 0
    assert torch.equal(torch.random.get_rng_state(), random_state)  # the check draws from its own generator
