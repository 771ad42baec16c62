"""Per-worker slots: an unprivileged uid of its own (when root) and a private work folder.

Uids are claimed with ``flock`` on a lock file per uid, so two LeTI processes on one machine
never share one (the lock goes away with the process that held it).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from dataclasses import dataclass

ROOT = "/dev/shm/leti-sandbox" if os.path.isdir("/dev/shm") else os.path.join(tempfile.gettempdir(), "leti-sandbox")
UID_RANGE = 1 << 16


@dataclass
class Slot:
    index: int
    workdir: str
    uid: int | None = None
    gid: int | None = None
    lock_fd: int = -1


class Slots:
    """``count`` slots under a fresh folder; ``close()`` releases the uids and removes it."""

    def __init__(self, count: int, uid_base: int | None) -> None:
        os.makedirs(ROOT, mode=0o755, exist_ok=True)
        self.folder = tempfile.mkdtemp(prefix="run-", dir=ROOT)
        os.chmod(self.folder, 0o755)
        self.slots: list[Slot] = []
        try:
            uids = self._claim_uids(count, uid_base) if uid_base is not None and os.geteuid() == 0 else []
            for index in range(count):
                workdir = os.path.join(self.folder, f"slot-{index}")
                os.mkdir(workdir, 0o700)
                slot = Slot(index, workdir)
                if uids:
                    slot.uid, slot.lock_fd = uids[index]
                    slot.gid = slot.uid
                    os.chown(workdir, slot.uid, slot.gid)
                self.slots.append(slot)
        except BaseException:
            self.close()
            raise

    def _claim_uids(self, count: int, base: int) -> list[tuple[int, int]]:
        claimed: list[tuple[int, int]] = []
        for uid in range(base, base + UID_RANGE):
            fd = os.open(os.path.join(ROOT, f"uid-{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            claimed.append((uid, fd))
            if len(claimed) == count:
                return claimed
        for _, fd in claimed:
            os.close(fd)
        raise OSError(f"no free uid in {base}..{base + UID_RANGE}")

    def close(self) -> None:
        for slot in self.slots:
            if slot.lock_fd >= 0:
                os.close(slot.lock_fd)
                slot.lock_fd = -1
        shutil.rmtree(self.folder, ignore_errors=True)
