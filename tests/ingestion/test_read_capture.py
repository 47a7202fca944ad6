"""Reading one capture file: whole-file problems stop with an error naming the file and problem."""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from pathlib import Path

import pytest

from kd_gat.ingestion.captures import CaptureError
from kd_gat.ingestion.read import read_capture
from tests.ingestion.helpers import CORPUS, HEADER, csv_text, write_capture

FILES = CORPUS / "files"


def read_error(path: Path) -> str:
    with pytest.raises(CaptureError) as info:
        read_capture(path, f"train_02_with_attacks/{path.name}")
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message[len(f"{path}: ") :]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("empty.csv", r"empty file"),
        # a 0-byte .gz is empty and so not gzip: either name is right
        ("empty.csv.gz", r"empty file|not a gzip file"),
        ("gzip_of_empty.csv.gz", r"empty file"),
        ("header_only.csv", r"empty file \(header only.*"),
        ("header_and_blank_lines.csv", r"empty file \(header only.*"),
        ("header_only_no_newline.csv", r".*(?i:empty|header only).*"),
        ("missing_column.csv", r"missing column\(s\) \['data_field'\].*"),
        ("no_header.csv", r"missing column\(s\) \['timestamp', 'arbitration_id', .*"),
        ("truncated.csv.gz", r"unreadable gzip.*"),
        ("bad_crc.csv.gz", r"unreadable gzip.*(?i:crc).*"),
        ("not_gzip.csv.gz", r"not a gzip file"),
    ],
)
def test_whole_file_problems(name: str, problem: str) -> None:
    assert re.fullmatch(problem, read_error(FILES / name))


def test_corrupt_deflate_stream_names_the_file() -> None:
    assert re.fullmatch(r"unreadable gzip.*", read_error(FILES / "corrupt_deflate.csv.gz"))


def test_header_with_utf8_bom(tmp_path: Path) -> None:
    path = write_capture(tmp_path, "test_05_suppress/a.csv", "\ufeff" + csv_text("1.5,1E5,00,1"))
    capture = read_capture(path, "test_05_suppress/a.csv")
    assert capture.table.column("timestamp").to_pylist() == ["1.5"]


def test_corpus_gzip_files_are_what_they_claim() -> None:
    """Guard the corpus itself: the damaged .gz files really are damaged for Python's gzip too."""
    for name in ["truncated.csv.gz", "bad_crc.csv.gz", "corrupt_deflate.csv.gz"]:
        with pytest.raises((OSError, EOFError, zlib.error)):
            gzip.decompress((FILES / name).read_bytes())
    assert gzip.decompress((FILES / "gzip_of_empty.csv.gz").read_bytes()) == b""
    assert (FILES / "not_gzip.csv.gz").read_bytes().startswith(HEADER.encode())


def test_gzip_and_plain_capture_read_alike(tmp_path: Path) -> None:
    text = csv_text("1.0,1E5,0102,0", "2.0,0C1,,1", "bad line", "", "3.0,7FF,FF,0")
    plain = read_capture(write_capture(tmp_path, "test_05_suppress/a.csv", text), "a")
    packed = read_capture(write_capture(tmp_path, "test_05_suppress/a.csv.gz", text), "a")
    assert plain.sha256 == packed.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert plain.table.to_pydict() == packed.table.to_pydict()
    assert plain.bad_lines == packed.bad_lines == ((3, "bad line"),)
    assert plain.rows_in == packed.rows_in == 4


def test_table_holds_the_text_of_each_field(tmp_path: Path) -> None:
    text = csv_text("1.0,1E5,0102,0", "2.0,0c1,,1", ",,,")
    capture = read_capture(write_capture(tmp_path, "test_05_suppress/a.csv", text), "x/a.csv")
    assert capture.relpath == "x/a.csv"
    assert capture.table.column_names == HEADER.split(",")
    assert capture.table.to_pydict() == {
        "timestamp": ["1.0", "2.0", None],
        "arbitration_id": ["1E5", "0c1", None],
        "data_field": ["0102", "", ""],  # an empty payload is DLC 0, not missing
        "attack": ["0", "1", None],
    }


def test_columns_are_found_by_name(tmp_path: Path) -> None:
    text = "attack,data_field,arbitration_id,timestamp,note\n1,0102,1E5,2.5,hello\n"
    capture = read_capture(write_capture(tmp_path, "test_05_suppress/a.csv", text), "a")
    assert capture.table.to_pydict() == {
        "timestamp": ["2.5"],
        "arbitration_id": ["1E5"],
        "data_field": ["0102"],
        "attack": ["1"],
    }


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("final_newline", [True, False])
def test_rows_in_counts_non_blank_data_lines(
    tmp_path: Path, newline: str, final_newline: bool
) -> None:
    lines = ["1.0,1E5,00,0", "", "x", "   ", "", "2.0,1E5,00,0", "3.0,1E5,00"]
    text = newline.join([HEADER, *lines]) + (newline if final_newline else "")
    capture = read_capture(write_capture(tmp_path, "test_05_suppress/a.csv", text), "a")
    assert capture.rows_in == sum(1 for line in lines if line)
    # blank lines are not rows: the row numbers of the lines with a wrong field count skip them
    assert capture.bad_lines == ((2, "x"), (3, "   "), (5, "3.0,1E5,00"))


def test_header_names_with_surrounding_spaces_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "spaced.csv"
    path.write_text(" timestamp , arbitration_id,data_field ,attack \n1.5,1E5,0102,1\n")
    capture = read_capture(path, "train_02_with_attacks/spaced.csv")
    assert capture.table.column_names == ["timestamp", "arbitration_id", "data_field", "attack"]
    assert capture.table.to_pydict()["data_field"] == ["0102"]


def test_a_repeated_column_name_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("timestamp,arbitration_id,data_field,attack, attack\n1.5,1E5,0102,1,0\n")
    with pytest.raises(CaptureError, match=r"twice\.csv: column\(s\) \['attack'\] appear more"):
        read_capture(path, "train_02_with_attacks/twice.csv")
