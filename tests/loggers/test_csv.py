"""metrics.csv: rows appended under a stable header, the file rewritten whole when a column appears."""

from __future__ import annotations

import csv
from pathlib import Path

from levers.loggers.csv import AtomicMetricsWriter


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


def test_rows_with_known_columns_are_appended_to_the_same_file(tmp_path):
    writer = AtomicMetricsWriter(str(tmp_path))
    writer.log_metrics({"val/loss": 1.0}, step=9)
    writer.save()
    inode = (tmp_path / "metrics.csv").stat().st_ino
    writer.log_metrics({"val/loss": 0.5}, step=19)
    writer.save()
    assert (tmp_path / "metrics.csv").stat().st_ino == inode  # appended in place, not replaced
    assert read(tmp_path / "metrics.csv") == (
        ["step", "val/loss"],
        [{"step": "9", "val/loss": "1.0"}, {"step": "19", "val/loss": "0.5"}],
    )


def test_a_new_column_rewrites_the_header_and_keeps_earlier_rows(tmp_path):
    writer = AtomicMetricsWriter(str(tmp_path))
    writer.log_metrics({"val/loss": 1.0}, step=9)
    writer.save()
    writer.log_metrics({"test/acc": 0.9}, step=19)
    writer.save()
    columns, rows = read(tmp_path / "metrics.csv")
    assert columns == ["step", "test/acc", "val/loss"]
    assert rows == [{"step": "9", "test/acc": "", "val/loss": "1.0"}, {"step": "19", "test/acc": "0.9", "val/loss": ""}]


def test_a_reopened_writer_appends_after_the_rows_on_disk(tmp_path):
    first = AtomicMetricsWriter(str(tmp_path))
    first.log_metrics({"val/loss": 1.0}, step=9)
    first.save()
    second = AtomicMetricsWriter(str(tmp_path))  # a resumed run
    second.log_metrics({"val/loss": 0.5}, step=19)
    second.save()
    assert [row["step"] for row in read(tmp_path / "metrics.csv")[1]] == ["9", "19"]
