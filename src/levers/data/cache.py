"""A bounded per-process cache of prepared data, so that the jobs of a sweep load and preprocess a data set once.

Hydra's basic launcher and levers' grid sweeper run every job in one process, and joblib's loky workers are reused
from job to job: a job whose prepared tensors would be identical to an earlier job's gets the very same objects.
The key is everything that changes them: the resolved data config (source, classes, limit, holdout_last, split
fractions, stratify, folds/fold, task, target_scaling, table encoding...), `scaling.method`, `seed` (the split is
seeded) and the size and modification time of any file the source reads (of a folder, data=images: its files'
total size and latest modification time). Loader-only keys (`data.batch_size`, `data.eval_batch_size`,
`data.on_device`) are left out, so a sweep over batch sizes reuses the data; any other key, including ones added
later, is in, so a new key can cause a miss but never a wrong share.

Cached tensors are shared: nobody may change them in place (see PreparedData).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import asdict
from typing import Any

from levers.config.schema.data import DataConfig
from levers.data.prepared import PreparedData, prepare

log = logging.getLogger(__name__)

# How batches are cut and where the tensors are put for training (`data.on_device` moves a job's own
# references in setup), not what the prepared tensors hold.
LOADER_ONLY = frozenset({"batch_size", "eval_batch_size", "on_device"})
MAX_ENTRIES = 6  # the last few data sets: enough for a sweep of 5-fold runs (one entry per fold) or 2-3 scalings
MAX_BYTES = 1024**3  # older entries are dropped beyond this total (the newest is always kept): ~4 Fashion-MNISTs

_entries: OrderedDict[str, PreparedData] = OrderedDict()
_lock = threading.Lock()  # joblib's threading backend runs jobs side by side in one process


def prepared_data(data: DataConfig, scaling_method: str, seed: int) -> PreparedData:
    """The prepared data for this config: from the cache when an earlier job had the same key, else prepared now."""
    key = cache_key(data, scaling_method, seed)
    name = f"{data.name} [{digest(key)}]"
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            log.info("data: reused %s", name)
            return _entries[key]
        _evict(keep=MAX_ENTRIES - 1)  # make room first: peak memory is the cache plus one new data set
        start = time.perf_counter()
        prepared = prepare(data, scaling_method, seed)
        if MAX_ENTRIES > 0:
            _entries[key] = prepared
            _evict(keep=MAX_ENTRIES)
        log.info("data: loaded %s in %.2f s", name, time.perf_counter() - start)
        log.debug("data cache key %s: %s", digest(key), key)
        return prepared


def cache_key(data: DataConfig, scaling_method: str, seed: int) -> str:
    """A canonical string of everything that changes the prepared tensors (see the module docstring)."""
    relevant = {key: value for key, value in asdict(data).items() if key not in LOADER_ONLY}
    files = sorted(_file_stamps(relevant.get("source")))
    content = {"data": relevant, "scaling": scaling_method, "seed": seed, "files": files}
    return json.dumps(content, sort_keys=True, default=str)


def digest(key: str) -> str:
    """A short name for a key in log lines."""
    return hashlib.sha1(key.encode()).hexdigest()[:10]


def clear() -> None:
    with _lock:
        _entries.clear()


def _evict(keep: int) -> None:
    while _entries and (len(_entries) > max(keep, 0) or (_total_bytes() > MAX_BYTES and len(_entries) > 1)):
        _entries.popitem(last=False)


def _total_bytes() -> int:
    return sum(entry.nbytes for entry in _entries.values())


def _file_stamps(node: Any) -> list[tuple[str, int, int]]:
    """(absolute path, size, mtime) of every existing file named in the source's arguments: an edited file misses."""
    if isinstance(node, dict):
        return [stamp for value in node.values() for stamp in _file_stamps(value)]
    if isinstance(node, list):
        return [stamp for value in node for stamp in _file_stamps(value)]
    if isinstance(node, str) and node and os.path.isfile(node):  # isfile: False on any OSError (too long...)
        stat = os.stat(node)
        return [(os.path.realpath(node), stat.st_size, stat.st_mtime_ns)]
    if isinstance(node, str) and node and os.path.isdir(node):  # a folder of files (data=images)
        return [_folder_stamp(node)]
    return []


def _folder_stamp(folder: str) -> tuple[str, int, int]:
    """(absolute path, total size of its files, latest mtime of any file or folder below it): a file added,
    removed, edited or moved to another (class) folder misses, with one stamp however many files it holds."""
    size, latest = 0, os.stat(folder).st_mtime_ns
    for parent, _, names in os.walk(folder):
        latest = max(latest, os.stat(parent).st_mtime_ns)
        for name in names:
            stat = os.stat(os.path.join(parent, name))
            size, latest = size + stat.st_size, max(latest, stat.st_mtime_ns)
    return os.path.realpath(folder), size, latest
