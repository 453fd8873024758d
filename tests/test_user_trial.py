"""What a new user meets first: `pycallcenter demo` ends by saying where its files went and which commands
look further, and each command it prints works as printed; `ivr try` works while the centre runs."""
import shlex
import socket

from pycallcenter import bundled
from pycallcenter.cli import main


def _printed_commands(out):
    """Return the `pycallcenter ...` commands under "next:" as argument lists (without the program name)."""
    lines = out.split("next:\n", 1)[1].splitlines()
    commands = []
    for line in lines:
        text = line.strip()
        if text.startswith("pycallcenter "):
            commands.append(shlex.split(text.split("     ")[0])[1:])
    return commands


def test_demo_says_where_its_files_are_and_its_next_commands_work(tmp_path, capsys):
    data = tmp_path / "demo data"  # a space: the printed paths must survive copy and paste into a shell
    assert main(["demo", "--hours", "0.01", "--agents", "4", "--quiet", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "busy hour report" in out
    written = out.split("written to ", 1)[1].split(":", 1)[0]
    assert shlex.split(written) == [str(data)]
    for name in ("report.txt", "report.json", "pycallcenter.db", "recordings", "fax-inbox", "voicemail",
                 "centre.toml"):
        assert name in out
        assert (data / name).exists(), name
    commands = _printed_commands(out)
    assert [c[0] for c in commands] == ["report", "run", "run", "wallboard"]
    report, run, live, wallboard = commands
    assert main(report) == 0
    assert "Report by agent" in capsys.readouterr().out
    assert main(run + ["--seconds", "2", "--fast"]) == 0
    assert "running: 2 span(s)" in capsys.readouterr().out
    assert main(live + ["--seconds", "1", "--fast", "--cti-port", "0"]) == 0  # the example centre and its pages
    shown = capsys.readouterr().out
    assert "https://127.0.0.1:" in shown and "left to people at the desktop" in shown
    assert main(wallboard[:1] + ["--port", "0"] + wallboard[3:] + ["--seconds", "1", "--speed", "0"]) == 0
    shown = capsys.readouterr().out
    assert "/wallboard" in shown and "password for agent agent1" in shown


def test_ivr_try_runs_beside_the_live_centre_that_holds_its_sip_port(tmp_path, capsys):
    held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the running centre's SIP port
    held.bind(("127.0.0.1", 0))
    try:
        port = held.getsockname()[1]
        text = (bundled.examples_dir() / "pri-sip-gateway.toml").read_text()
        assert "\nport = 5062\n" in text
        config = tmp_path / "gateway.toml"
        config.write_text(text.replace("\nport = 5062\n", f"\nport = {port}\n"))
        code = main(["ivr", "try", "main_menu", "--config", str(config), "--digits", "1"])
    finally:
        held.close()
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "CDR C1" in out.out


def test_config_check_passes_every_shipped_example_including_the_users_file(capsys):
    files = sorted(bundled.examples_dir().glob("*.toml"))
    assert any(f.name == "centre-users.toml" for f in files)
    for f in files:
        assert main(["config", "check", str(f)]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert f"{f}: OK (" in out
        if f.name == "centre-users.toml":
            assert "CTI users file: 7 agent(s), 1 supervisor(s)" in out
        if f.name == "centre.toml":
            assert "8 CTI user(s)" in out


def test_config_check_reads_the_centres_users_file_as_run_will(tmp_path, capsys):
    centre = tmp_path / "centre.toml"
    centre.write_text((bundled.examples_dir() / "centre.toml").read_text())
    users = tmp_path / "centre-users.toml"
    users.write_text('[[user]]\nname = "frank"\nrole = "agnet"\npassword_hash = "x"\n')
    assert main(["config", "check", str(centre)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(users) in err[0] and "role must be 'agent' or 'supervisor'" in err[0], err
    users.unlink()
    assert main(["config", "check", str(centre)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(users) in err[0], err
