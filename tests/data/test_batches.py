"""In-memory batching: every row once per epoch, seeded order, per-rank shards."""

from __future__ import annotations

import pytest
import torch

from levers.data.batches import InMemoryBatches


def make(n: int = 10, **kwargs) -> InMemoryBatches:
    features = torch.arange(n, dtype=torch.float32)[:, None]
    return InMemoryBatches(features, torch.arange(n), **kwargs)


def test_an_epoch_visits_every_row_exactly_once_and_len_counts_batches():
    batches = make(10, batch_size=3, shuffle=True, seed=1)
    seen = torch.cat([target for _, target in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert len(batches) == 4 == len(list(batches))


def test_drop_last_drops_the_short_batch():
    batches = make(10, batch_size=3, shuffle=False, drop_last=True)
    assert len(batches) == 3 and [len(t) for _, t in batches] == [3, 3, 3]


def test_order_is_seeded_and_changes_between_epochs():
    first, again = make(50, batch_size=50, shuffle=True, seed=7), make(50, batch_size=50, shuffle=True, seed=7)
    epoch1 = next(iter(first))[1]
    assert torch.equal(epoch1, next(iter(again))[1])
    assert not torch.equal(epoch1, next(iter(first))[1])


def test_features_and_target_stay_aligned():
    for features, target in make(20, batch_size=6, shuffle=True, seed=3):
        assert torch.equal(features[:, 0].long(), target)


def test_ranks_get_disjoint_equal_shards_of_one_permutation():
    shards = [make(11, batch_size=4, shuffle=True, seed=2, rank=r, world_size=2) for r in (0, 1)]
    rows = [torch.cat([t for _, t in shard]) for shard in shards]
    assert len(rows[0]) == len(rows[1]) == 5 and len(shards[0]) == 2
    assert not set(rows[0].tolist()) & set(rows[1].tolist())


@pytest.mark.parametrize("steps_per_call", [2, 3, 7])
def test_chunks_are_consecutive_mini_batches_of_the_same_order(steps_per_call):
    single = make(23, batch_size=4, shuffle=True, seed=5)
    chunked = make(23, batch_size=4, shuffle=True, seed=5, steps_per_call=steps_per_call)
    mini_batches = [x for x, _ in single]
    chunks = [x for x, _ in chunked]
    assert torch.equal(torch.cat(chunks), torch.cat(mini_batches))
    assert [len(x) for x in chunks[:-1]] == [4 * steps_per_call] * (len(chunks) - 1)
    assert len(chunked) == len(chunks) and chunked.optimizer_steps_per_epoch() == len(single) == 6
