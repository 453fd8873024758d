"""SS7 from the centre's configuration: [[ss7.linkset]] tables become Ss7Trunks on their spans (no PRI there),
every wrong value is one line naming file, line and key, and `pycallcenter run --simulate` puts simulated
callers on SS7 circuits through the emulated network exchange (pycallcenter.sim.ss7)."""
import re

import pytest

from pycallcenter import bundled, cli
from pycallcenter.apps import demo
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text
from pycallcenter.sim.ss7 import linkset_text
from pycallcenter.storage import open_store

AGENTS = 4


def centre_text(data, extra="", calls_per_hour=0.0, linkset=None):
    """Return the demo's centre with spans 3 and 4 as a two-link SS7 link set to the emulated exchange."""
    ds = demo.DemoSettings(agents=AGENTS, calls_per_hour=calls_per_hour, talk_mean=20.0, patience_mean=60.0,
                           fax_share=0.0, data_dir=str(data))
    text = demo.centre_text(ds)
    text = text.replace('[simulate]\n', '[simulate]\nfar_end = "ss7-3"\n')  # the callers come over SS7
    return text + "\n" + (linkset if linkset is not None else linkset_text([3, 4], 32 + AGENTS)) + extra


def _write(tmp_path, text):
    path = tmp_path / "centre.toml"
    path.write_text(text)
    return str(path)


def test_a_linkset_becomes_one_ss7_trunk_on_its_spans_and_no_pri_there(tmp_path):
    board_text, settings = load_text(centre_text(tmp_path / "data"), file=str(tmp_path / "centre.toml"))
    (ls,) = settings.ss7.linkset
    assert (ls.name, ls.opc, ls.dpc, ls.variant, [(l.span, l.slc, l.first_cic) for l in ls.links]) == (
        "ss7", 1, 2, "itu", [(3, 0, 0), (4, 1, 32)])
    centre = Centre(board_text, settings)
    try:
        kinds = {a.name: a.tech for a in centre.engine.adapters}
        assert kinds == {"pri1": "pri", "ss7": "ss7", "ext2": "fxs"}
        trunk = centre.engine.adapter("ss7")
        assert trunk.span_numbers == [3, 4] and len(trunk.cics) == 60
        assert trunk.cics[:2] == [1, 2] and trunk.cics[-1] == 63 and 16 not in trunk.cics and 48 not in trunk.cics
    finally:
        centre.close(publish=False)


BAD = [
    ("ss7.linkset[1].variant", lambda t: t.replace('dpc = 2\n', 'dpc = 2\nvariant = "china"\n')),
    ("ss7.linkset[1]", lambda t: t.replace("opc = 1\n", "opc = 20000\n")),  # ITU point codes are 14 bits
    ("ss7.linkset[1]", lambda t: t.replace("dpc = 2\n", "dpc = 1\n")),
    ("ss7.linkset[1].opc", lambda t: t.replace("opc = 1\n", 'opc = "one"\n')),
    ("ss7.linkset[1]", lambda t: t.replace("slc = 1", "slc = 0")),
    ("ss7.linkset[1].links[2].slc", lambda t: t.replace("slc = 1", "slc = 16")),
    ("ss7.linkset[1].links[2].spam", lambda t: t.replace("slc = 1", "spam = 1")),
    ("ss7.linkset[1]", lambda t: t.replace("links = [", "links = [] # ")),
    ("ss7.linkset[1]", lambda t: t.replace('name = "ss7"\n', "")),
    ("ss7.linkset[2].links", lambda t: t + '\n[[ss7.linkset]]\nname = "two"\nopc = 1\ndpc = 3\nlinks = [{ span = 4 }]\n'),
    ("ss7.linkset[2].name", lambda t: t + '\n[[ss7.linkset]]\nname = "ss7"\nopc = 1\ndpc = 3\nlinks = [{ span = 1 }]\n'),
    # checked against the board: `config check` and `run` alike
    ("ss7.linkset[1].links[2].span", lambda t: t.replace("span = 4, slc", "span = 9, slc")),
    ("ss7.linkset[1].links[2].span", lambda t: t.replace("span = 4, slc", "span = 2, slc")),  # the phones' FXS span
    ("ss7.linkset[1].links[2].span", lambda t: t.replace("first_cic = 32", "first_cic = 20")),  # CICs overlap
]


@pytest.mark.parametrize("key, change", BAD, ids=[f"{i}-{k}" for i, (k, _) in enumerate(BAD)])
def test_a_wrong_ss7_value_is_one_line_naming_file_line_and_key(tmp_path, capsys, key, change):
    text = change(centre_text(tmp_path / "data"))
    path = _write(tmp_path, text)
    assert cli.main(["config", "check", path]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    m = re.match(rf"pycallcenter config: error: {re.escape(path)}:(\d+): (\S+?):? ", err)
    assert m and m.group(2) == key, err
    line = text.splitlines()[int(m.group(1)) - 1]
    assert line.startswith("[[ss7.linkset]]") or "links" in line or key.rsplit(".", 1)[-1] in line, (line, err)
    assert cli.main(["run", path, "--seconds", "0.1", "--fast"]) == 1  # run refuses it the same way
    assert capsys.readouterr().err.count("\n") == 1


def test_the_good_ss7_config_checks(tmp_path, capsys):
    assert cli.main(["config", "check", _write(tmp_path, centre_text(tmp_path / "data"))]) == 0
    assert "OK (4 span(s)" in capsys.readouterr().out


def test_run_simulate_puts_callers_on_ss7_circuits_end_to_end(tmp_path):
    """`pycallcenter run --simulate` on the shipped SS7 example: the exchange aligns both links, resets the
    circuits (GRS), places the callers with IAMs; the centre answers (ACM, ANM), queues them to the
    simulated agents, and each call clears with REL/RLC and gets its one CDR, on the SS7 trunk."""
    path = tmp_path / "ss7-centre.toml"
    path.write_text((bundled.examples_dir() / "ss7-centre.toml").read_text())
    assert cli.main(["config", "check", str(path)]) == 0
    assert cli.main(["run", str(path), "--simulate", "--seconds", "150", "--fast", "--calls-per-hour", "900"]) == 0
    data = tmp_path / "data"
    store = open_store(str(data))
    rows = store.cdrs()
    store.close()
    assert len(rows) >= 10 and len({r["call_id"] for r in rows}) == len(rows)
    assert {r["tech"].split("+")[0] for r in rows} == {"ss7"}  # the caller's leg; "+fxs" when an agent took it
    assert {r["trunk"] for r in rows} == {"ss7"}
    assert sum(1 for r in rows if r["agent"]) >= 3  # the queue's agents answered some of them
    log = (data / "events.log").read_text()
    assert re.search(r"ss7_route_up dpc=2 reset=True trunk=ss7", log)
    assert log.count("ss7_link_up") >= 2 and "ss7_link_down" not in log
