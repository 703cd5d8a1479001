"""Checkpoint writes: whole or not at all, and an interrupt during one takes effect right after it."""

from __future__ import annotations

import signal

import pytest
import torch

from levers.checkpoint_io import AtomicCheckpointIO, interrupts_held


def test_ctrl_c_during_a_held_block_is_raised_as_it_ends_not_inside():
    reached_the_end = False
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        signal.raise_signal(signal.SIGINT)  # a real signal to this process, as Ctrl-C sends it
        reached_the_end = True
    assert reached_the_end


def test_the_handlers_are_restored_after_a_held_block():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with interrupts_held():
        pass
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_a_checkpoint_interrupted_while_written_is_complete_on_disk(tmp_path):
    path = tmp_path / "last.ckpt"
    checkpoint = {"state_dict": {"w": torch.arange(1000.0)}}

    class InterruptedMidWrite(dict):
        def __reduce_ex__(self, protocol):  # pickled inside torch.save: the signal lands mid-write
            signal.raise_signal(signal.SIGINT)
            return dict, (dict(self),)

    with pytest.raises(KeyboardInterrupt):
        AtomicCheckpointIO().save_checkpoint({**checkpoint, "extra": InterruptedMidWrite(a=1)}, path)
    loaded = torch.load(path, weights_only=False)  # this test's own file: its marker pickles as a plain dict call
    assert torch.equal(loaded["state_dict"]["w"], checkpoint["state_dict"]["w"]) and loaded["extra"] == {"a": 1}
