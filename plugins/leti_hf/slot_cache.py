"""A key/value cache whose rows are slots: a finished sequence's slot takes a new one in place.

The keys and values of every layer are allocated once, in one block, as wide as the longest window a decode
can need; each layer shows the window in use. Appending a token writes in place where transformers'
``DynamicCache`` copies the whole cache, and nothing is allocated again while decoding: buffers reallocated as
they grow leave holes in malloc's heap that keep the process's memory high, while one large block is mapped on
its own and returned to the system whole when the decode ends. Rows are aligned on the
right (the newest token of every row in the last column); a row's unused columns on the left are masked by the
decoder's attention mask. When the window reaches the end of the buffer it moves back to the start, in place.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from transformers.cache_utils import Cache, DynamicLayer

#: Columns a buffer has beyond the widest window: the window moves back to the start at most once per this
#: many tokens.
SPARE = 64


class WindowLayer(DynamicLayer):
    """One layer's keys and values: the first ``rows`` rows and the columns ``[start, end)`` of a fixed buffer."""

    keys: torch.Tensor
    values: torch.Tensor

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, buffers: tuple[torch.Tensor, torch.Tensor]) -> None:
        super().__init__()
        self.lazy_initialization(keys, values)
        batch, _, length, _ = keys.shape
        self._buffers = buffers
        self._rows, self._start, self._end = batch, 0, length
        buffers[0][:, :, :length] = keys
        buffers[1][:, :, :length] = values
        self._show()

    def _show(self) -> None:
        key_buffer, value_buffer = self._buffers
        self.keys = key_buffer[: self._rows, :, self._start : self._end]
        self.values = value_buffer[: self._rows, :, self._start : self._end]

    def _move(self, start: int) -> None:
        """Let the window begin at column ``start`` (its columns copied there, one layer's window at a time)."""
        length = self._end - self._start
        if start + length > self._buffers[0].shape[-2]:
            raise ValueError(f"a window of {length} columns does not fit from column {start}")
        for buffer, window in zip(self._buffers, (self.keys.clone(), self.values.clone()), strict=True):
            buffer[: self._rows, :, start : start + length] = window
        self._start, self._end = start, start + length

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        added = key_states.shape[-2]
        if self._end + added > self._buffers[0].shape[-2]:
            self._move(0)
        key_buffer, value_buffer = self._buffers
        key_buffer[: self._rows, :, self._end : self._end + added] = key_states
        value_buffer[: self._rows, :, self._end : self._end + added] = value_states
        self._end += added
        self._show()
        return self.keys, self.values

    def pad_left(self, columns: int) -> None:
        """``columns`` more columns on the left (masked by the caller)."""
        if self._start < columns:
            self._move(columns)
        self._start -= columns
        self._show()

    def trim_left(self, columns: int) -> None:
        """Forget the ``columns`` leftmost columns."""
        self._start += columns
        self._show()

    def put_rows(self, rows: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Write ``keys`` and ``values`` (no longer than the window) into the rightmost columns of ``rows``."""
        length = keys.shape[-2]
        key_buffer, value_buffer = self._buffers
        key_buffer[rows, :, self._end - length : self._end] = keys
        value_buffer[rows, :, self._end - length : self._end] = values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep the rows ``indices`` (ascending), moved to the first rows of the buffer."""
        for buffer, window in zip(self._buffers, (self.keys[indices], self.values[indices]), strict=True):
            buffer[: len(indices), :, self._start : self._end] = window
        self._rows = len(indices)
        self._show()


class SlotCache(Cache):
    """The cache of a batch of slots, built from a prefill's ``DynamicCache`` (which it empties, layer by layer,
    as it copies it) with room for windows ``width`` columns wide."""

    def __init__(self, prefilled: Cache, width: int) -> None:
        filled = [_filled(layer) for layer in prefilled.layers]
        keys, values = filled[0]
        capacity = max(width, keys.shape[-2]) + SPARE
        shape = (*keys.shape[:2], capacity, keys.shape[-1])
        if all(k.shape == keys.shape and v.shape == values.shape and k.dtype == keys.dtype for k, v in filled):
            # one block for every layer: malloc maps it on its own and gives it back whole when it is freed
            storage = keys.new_zeros(len(filled), 2, *shape)
            buffers = [(storage[index, 0], storage[index, 1]) for index in range(len(filled))]
        else:
            buffers = [(k.new_zeros(*shape), v.new_zeros(*shape[:3], v.shape[-1])) for k, v in filled]
        del filled, keys, values
        layers: list[Any] = []
        for layer, layer_buffers in zip(prefilled.layers, buffers, strict=True):
            layers.append(WindowLayer(*_filled(layer), layer_buffers))
            _empty(layer)  # the prefill's copy goes as the cache fills
        super().__init__(layers=layers)

    def _windows(self) -> list[WindowLayer]:
        return cast(list[WindowLayer], self.layers)

    def pad_left(self, columns: int) -> None:
        for layer in self._windows():
            layer.pad_left(columns)

    def trim_left(self, columns: int) -> None:
        for layer in self._windows():
            layer.trim_left(columns)

    def put_rows(self, rows: torch.Tensor, prefilled: Cache) -> None:
        """Let ``rows`` hold the sequences ``prefilled`` holds (as many, no longer than this cache)."""
        for layer, new in zip(self._windows(), prefilled.layers, strict=True):
            layer.put_rows(rows, *_filled(new))


def _filled(layer: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """A prefilled layer's keys and values (a prefill fills every layer)."""
    assert layer.keys is not None and layer.values is not None
    return layer.keys, layer.values


def _empty(layer: Any) -> None:
    """Drop a prefilled layer's keys and values."""
    layer.keys = layer.values = None
