"""Transaction index recovery without a network: a lost "open" entry is rebuilt from the start offset."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from evtctl.broker.groups.offsets import OffsetStore
from evtctl.broker.txn.coordinator import TransactionCoordinator


class _Store:
    def __init__(self) -> None:
        self.next = 1000

    def allocate_producer_id(self) -> int:
        self.next += 1
        return self.next


def test_lost_open_entry_is_rebuilt_from_the_start_offset(tmp_path: Path) -> None:
    plog = SimpleNamespace(topic="t", partition=0, log_end_offset=42, high_watermark=50, log_start_offset=0)
    broker = SimpleNamespace(store=_Store(), partition_log=lambda topic, part: plog)

    async def main() -> None:
        offsets = OffsetStore(tmp_path, fsync=False)
        coord = TransactionCoordinator(broker, offsets, tmp_path)
        pid, epoch = await coord.init_producer("tid", 60_000, -1, -1)
        coord.add_partitions("tid", pid, epoch, [("t", 0)])  # log end offset 42 at that moment
        coord.close()
        # The index journal is gone (as if its unsynced tail were lost in a crash).
        (tmp_path / "__transaction_state" / "index.journal").unlink()
        again = TransactionCoordinator(broker, offsets, tmp_path)
        again.start()
        try:
            lso, aborted = again.index.stable_info(plog)  # type: ignore[arg-type]
            assert (lso, aborted) == (42, [])  # read_committed cannot see past the open transaction
        finally:
            again.close()

    asyncio.run(main())
