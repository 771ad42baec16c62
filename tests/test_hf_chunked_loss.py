"""The chunked causal-LM loss is the model's own loss over full logits, with the same gradients, to the bit."""

from __future__ import annotations

import pytest
import torch
from leti_hf.chunked_loss import IGNORE_INDEX, linear_cross_entropy
from leti_hf.training import _decoder_and_head
from transformers import LlamaConfig, LlamaForCausalLM


def _model() -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=301,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config)


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two sequences, the second padded by 5 (labels IGNORE_INDEX, attention mask 0)."""
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 301, (2, 23), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, -5:] = 0
    labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
    return ids, mask, labels


def _loss_and_grads(chunk: int, autocast: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    model = _model()
    ids, mask, labels = _batch()
    items = (labels[:, 1:] != IGNORE_INDEX).sum()  # as the trainer counts them: a tensor
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        if chunk:
            parts = _decoder_and_head(model)
            assert parts is not None
            decoder, head = parts
            hidden = decoder(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
            loss = linear_cross_entropy(hidden, head.weight, labels, items, chunk)
        else:
            loss = model(input_ids=ids, attention_mask=mask, labels=labels, num_items_in_batch=items).loss
    loss.backward()
    return loss.detach(), [parameter.grad.clone() for parameter in model.parameters()]


@pytest.mark.parametrize("autocast", [False, True], ids=["fp32", "bf16-autocast"])
@pytest.mark.parametrize("chunk", [7, 64])
def test_chunked_loss_and_gradients_equal_the_full_logits_ones_to_the_bit(chunk: int, autocast: bool) -> None:
    full_loss, full_grads = _loss_and_grads(0, autocast)
    loss, grads = _loss_and_grads(chunk, autocast)
    assert loss.item() == pytest.approx(full_loss.item(), rel=1e-6)  # only the loss's own sum is in chunks
    assert len(grads) == len(full_grads)
    for full, chunked in zip(full_grads, grads, strict=True):
        assert torch.equal(chunked, full)


def test_the_backward_scales_by_the_incoming_gradient() -> None:
    torch.manual_seed(0)
    hidden = torch.randn(2, 5, 8, requires_grad=True)
    weight = torch.randn(11, 8, requires_grad=True)
    labels = torch.randint(0, 11, (2, 5))
    (3 * linear_cross_entropy(hidden, weight, labels, 4, chunk=3)).backward()
    chunked = hidden.grad.clone(), weight.grad.clone()
    hidden.grad, weight.grad = None, None
    logits = (hidden @ weight.T)[:, :-1].reshape(-1, 11)
    (3 * torch.nn.functional.cross_entropy(logits, labels[:, 1:].reshape(-1), reduction="sum") / 4).backward()
    assert torch.allclose(chunked[0], hidden.grad, atol=1e-5)
    assert torch.allclose(chunked[1], weight.grad, atol=1e-5)


def test_a_frozen_weight_leaves_the_hidden_states_gradient_as_it_was() -> None:
    torch.manual_seed(0)
    hidden = torch.randn(2, 5, 8, requires_grad=True)
    weight = torch.randn(11, 8)
    labels = torch.randint(0, 11, (2, 5))
    linear_cross_entropy(hidden, weight, labels, 8, chunk=4).backward()
    frozen = hidden.grad.clone()
    hidden.grad = None
    trained = weight.clone().requires_grad_()
    linear_cross_entropy(hidden, trained, labels, 8, chunk=4).backward()
    assert trained.grad is not None and torch.equal(frozen, hidden.grad)
