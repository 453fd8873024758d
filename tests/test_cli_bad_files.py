"""Damaged or wrong files handed to the commands that read a running centre's files: one line naming
the file and exit status 1, never a traceback (found by a trial of the installed wheel)."""
import pytest

from pycallcenter.cli import main
from pycallcenter.commands._status_file import read_status


@pytest.mark.parametrize("text, why", [('{"state": "runn', "not a status file (Unterminated string"),
                                       ("[]", "a JSON list, not an object"),
                                       ('"running"', "a JSON str, not an object"),
                                       (b"\xff\xfe{}", "not a status file")])
def test_a_damaged_status_file_is_one_line_naming_it(tmp_path, capsys, text, why):
    f = tmp_path / "status.json"
    f.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match="status.json: ") as err:
        read_status(tmp_path)
    assert why in str(err.value)
    for argv in (["status", "--data", str(tmp_path)], ["reload", "--data", str(tmp_path)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(f) in err, (argv, err)


def test_a_file_that_is_not_a_database_is_one_line_naming_it(tmp_path, capsys):
    db = tmp_path / "pycallcenter.db"
    db.write_bytes(b"this is not an SQLite database, it is a note" * 40)
    for argv in (["report", "--db", str(db)], ["status", "--db", str(db)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{db}: not an SQLite database" in err, (argv, err)


def test_a_status_file_that_is_well_formed_reads_back(tmp_path):
    (tmp_path / "status.json").write_text('{"state": "running", "pid": 1, "echo": []}')
    assert read_status(tmp_path)["state"] == "running"
    with pytest.raises(FileNotFoundError):
        read_status(tmp_path / "nowhere")


@pytest.mark.parametrize("argv", [["config", "check", "/dev/zero"], ["boardconf", "check", "/dev/zero"],
                                  ["boardconf", "convert", "/dev/zero"], ["run", "/dev/zero", "--check"],
                                  ["ivr", "try", "main_menu", "--config", "/dev/zero"]])
def test_an_endless_configuration_file_is_refused_after_a_bound(capsys, argv):
    # every configuration file was read whole: /dev/zero grew until memory ran out
    assert main(argv) in (1, 2)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/dev/zero: more than 16,777,216 characters: not a configuration file" in err


def test_a_users_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    from pycallcenter.cti.config import load_users
    from pycallcenter.errors import ConfigError

    users = tmp_path / "users.toml"
    users.write_bytes(b'[[user]]\nname = "\xff"\n')
    with pytest.raises(ConfigError, match="users.toml: not UTF-8 text"):
        load_users(users)
