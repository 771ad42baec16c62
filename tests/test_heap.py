"""Freed memory kept in the process while training on CPU (glibc's malloc settings)."""

from __future__ import annotations

import platform
import resource

import pytest
import torch
from leti_hf.heap import USER_SETTINGS, freed_memory_kept, release_memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


def _page_faults_of_large_tensors(times: int = 4, megabytes: int = 64) -> int:
    """Minor page faults taken by allocating, writing and freeing a large tensor ``times`` times."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        block = torch.empty(megabytes * 2**20, dtype=torch.uint8)
        block.fill_(1)
        del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


@glibc_only
def test_large_tensors_reuse_kept_memory_which_goes_back_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GLIBC_TUNABLES", *USER_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    pages = 64 * 2**20 // resource.getpagesize()
    with freed_memory_kept() as kept:
        assert kept
        # the heap grows for the first few (aligned blocks leave gaps), then serves every one
        warm_up = [_page_faults_of_large_tensors(times=1) for _ in range(16)]
        inside = _page_faults_of_large_tensors()
        kept_resident = _resident_bytes()
    returned_resident = _resident_bytes()
    assert min(warm_up) < pages // 2 and inside < pages // 2  # freed blocks came back, already mapped
    assert kept_resident - returned_resident >= 32 * 2**20  # the kept blocks went back to the system


def test_off_or_tuned_by_the_user_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    with freed_memory_kept(enabled=False) as kept:
        assert not kept
    monkeypatch.setenv("MALLOC_MMAP_MAX_", "65536")
    with freed_memory_kept() as kept:
        assert not kept
    monkeypatch.delenv("MALLOC_MMAP_MAX_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    with freed_memory_kept() as kept:
        assert not kept


@pytest.mark.parametrize("keep", [True, False])
def test_cpu_training_runs_inside_the_kept_heap_as_its_option_says(keep, tiny_base, tmp_path, monkeypatch):
    import contextlib

    import leti_hf.training

    from leti_core.app import get_registry

    seen: list[bool] = []

    @contextlib.contextmanager
    def recording(enabled: bool = True):
        seen.append(enabled)
        yield enabled

    monkeypatch.setattr(leti_hf.training, "freed_memory_kept", recording)
    trainer = get_registry().trainer(
        "hf", epochs=1, batch_size=2, micro_batch_size=2, pretrain_mix=False, keep_freed_memory=keep
    )
    trainer.train(str(tiny_base), ["<|good|>x = 1\n"] * 2, tmp_path / "ck")
    assert seen == [keep]


@glibc_only
def test_released_memory_goes_back_to_the_system_from_the_middle_of_the_heap():
    """Blocks freed below a live one cannot be trimmed from the heap's top: released, their pages go
    back anyway (as after a training whose trainer was freed once the kept heap had closed)."""
    blocks = [bytearray(60 * 2**10) for _ in range(4096)]  # 240 MiB of heap blocks (under mmap's threshold)
    for block in blocks:
        block[::4096] = b"x" * len(block[::4096])  # touch every page
    keep = bytearray(60 * 2**10)  # a live block above them
    del blocks
    before = _resident_bytes()
    release_memory()
    assert before - _resident_bytes() >= 128 * 2**20
    del keep


def test_training_in_process_releases_its_memory_before_returning(tiny_base, tmp_path, monkeypatch):
    import leti_hf.heap

    from leti_core.app import get_registry

    released: list[bool] = []
    monkeypatch.setattr(leti_hf.heap, "release_memory", lambda: released.append(True))
    trainer = get_registry().trainer("hf", epochs=1, batch_size=2, micro_batch_size=2, pretrain_mix=False)
    trainer.train(str(tiny_base), ["<|good|>x = 1\n"] * 2, tmp_path / "ck")
    assert released == [True] and (tmp_path / "ck" / "config.json").is_file()
