"""Commands that only read a database (report, status --db) never create one at a mistyped path."""
import pytest

from pycallcenter.cli import main
from pycallcenter.storage import open_store


@pytest.mark.parametrize("command", ["report", "status"])
@pytest.mark.parametrize("target", ["typo/cc.db", "typo/data"])
def test_reader_on_a_missing_database_says_so_in_one_line_and_creates_nothing(tmp_path, capsys, command, target):
    db = tmp_path / target
    assert main([command, "--db", str(db)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"pycallcenter {command}: error: no database at ")
    assert str(tmp_path / "typo") in err
    assert not (tmp_path / "typo").exists()


def test_reader_opens_an_existing_database(tmp_path):
    open_store(tmp_path).close()  # the writer side (run, demo) creates it
    store = open_store(tmp_path, create=False)
    try:
        assert store.cdrs() == []
    finally:
        store.close()
    with pytest.raises(FileNotFoundError, match="no database at"):
        open_store(tmp_path / "elsewhere", create=False)
