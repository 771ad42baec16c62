"""A key/value cache whose rows are slots: a finished sequence's slot takes a new one in place.

Each layer keeps its keys and values in a buffer grown in chunks and shows the window in use, so
appending a token writes in place where transformers' ``DynamicCache`` copies the whole cache.
Rows are aligned on the right (the newest token of every row in the last column); a row's unused
columns on the left are masked by the decoder's attention mask.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from transformers.cache_utils import Cache, DynamicLayer

#: Columns added at each growth of a buffer.
CHUNK = 256


class WindowLayer(DynamicLayer):
    """One layer's keys and values: the columns ``[start, end)`` of a buffer grown in chunks."""

    keys: torch.Tensor
    values: torch.Tensor

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        super().__init__()
        self.lazy_initialization(keys, values)
        self._buffers = (keys.new_zeros(0), values.new_zeros(0))
        self._start = self._end = 0
        self._place(keys, values, room=0)

    def _place(self, keys: torch.Tensor, values: torch.Tensor, room: int) -> None:
        """New buffers holding ``keys`` and ``values`` after ``room`` empty columns, with a chunk to spare."""
        batch, heads, length, width = keys.shape
        key_buffer = keys.new_zeros(batch, heads, room + length + CHUNK, width)
        value_buffer = values.new_zeros(batch, heads, room + length + CHUNK, values.shape[-1])
        key_buffer[:, :, room : room + length] = keys
        value_buffer[:, :, room : room + length] = values
        self._buffers, self._start, self._end = (key_buffer, value_buffer), 0, room + length
        self._show()

    def _show(self) -> None:
        key_buffer, value_buffer = self._buffers
        self.keys = key_buffer[:, :, self._start : self._end]
        self.values = value_buffer[:, :, self._start : self._end]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        added = key_states.shape[-2]
        if self._end + added > self._buffers[0].shape[-2]:
            self._place(self.keys, self.values, room=0)
        key_buffer, value_buffer = self._buffers
        key_buffer[:, :, self._end : self._end + added] = key_states
        value_buffer[:, :, self._end : self._end + added] = value_states
        self._end += added
        self._show()
        return self.keys, self.values

    def pad_left(self, columns: int) -> None:
        """``columns`` more columns on the left (masked by the caller)."""
        if self._start >= columns:
            self._start -= columns
            self._show()
        else:
            self._place(self.keys, self.values, room=columns)

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
        self._buffers = (self._buffers[0][indices], self._buffers[1][indices])
        self._show()


class SlotCache(Cache):
    """The cache of a batch of slots; built from a prefill's ``DynamicCache``."""

    def __init__(self, prefilled: Cache) -> None:
        super().__init__(layers=[WindowLayer(*_filled(layer)) for layer in prefilled.layers])

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
