import subprocess
import sys

from pycallcenter.cli import main
from pycallcenter.errors import ConfigError, DecodeError


def test_version_runs_as_module():
    out = subprocess.run([sys.executable, "-m", "pycallcenter", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.startswith("pycallcenter ")


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_error_types_name_where():
    assert str(ConfigError("unknown kind", path="b.toml", line=7)) == "b.toml:7: unknown kind"
    err = DecodeError("length runs past the end", element="called_party_number", offset=12)
    assert str(err) == "called_party_number at offset 12: length runs past the end"
    assert isinstance(err, ValueError)
