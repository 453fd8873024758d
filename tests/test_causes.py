"""The one Q.850 table: values, classes, wording, and the old names that alias it."""
import json
import sqlite3

import pytest

from pycallcenter import causes
from pycallcenter.causes import Cause, CauseClass, cause_class, text


def test_every_q850_value_is_named_and_worded():
    values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
              34, 38, 39, 40, 41, 42, 43, 44, 46, 47, 49, 50, 53, 55, 57, 58, 62, 63, 65, 66, 69, 70, 79,
              81, 82, 83, 84, 85, 86, 87, 88, 90, 91, 95, 96, 97, 98, 99, 100, 101, 102, 103, 110, 111, 127}
    assert {int(c) for c in Cause} == values
    assert set(causes.TEXT) == values
    assert len({text(v) for v in values}) == len(values)  # no two values share a wording


def test_text_keeps_the_wording_traces_print():
    assert text(16) == "normal call clearing"
    assert text(Cause.USER_BUSY) == "user busy"
    assert text(34) == "no circuit/channel available"
    assert text(99) == "information element non-existent or not implemented"
    assert text(12) == "cause 12"  # a value Q.850 leaves unassigned still prints


@pytest.mark.parametrize("value, klass", [
    (1, CauseClass.NORMAL_EVENT), (16, CauseClass.NORMAL_EVENT), (31, CauseClass.NORMAL_EVENT),
    (34, CauseClass.RESOURCE_UNAVAILABLE), (47, CauseClass.RESOURCE_UNAVAILABLE),
    (50, CauseClass.SERVICE_OR_OPTION_NOT_AVAILABLE), (65, CauseClass.SERVICE_OR_OPTION_NOT_IMPLEMENTED),
    (81, CauseClass.INVALID_MESSAGE), (102, CauseClass.PROTOCOL_ERROR), (127, CauseClass.INTERWORKING),
])
def test_cause_class_is_the_upper_three_bits(value, klass):
    assert cause_class(value) is klass


def test_lookup_names_known_values_only():
    assert causes.lookup(17) is Cause.USER_BUSY
    assert causes.lookup(12) is None


def test_a_cause_reads_as_its_number_in_logs_json_and_the_database():
    # event reprs, CDR rows and JSON status files carried bare ints before: they must read the same
    c = Cause.NORMAL_CALL_CLEARING
    assert (repr(c), str(c), f"{c}", f"{c:3d}") == ("16", "16", "16", " 16")
    assert json.dumps({"cause": c}) == '{"cause": 16}'
    db = sqlite3.connect(":memory:")
    db.execute("create table t (cause integer)")
    db.execute("insert into t values (?)", (c,))
    assert db.execute("select cause, typeof(cause) from t").fetchone() == (16, "integer")
    assert {16: "x"}[c] == "x" and hash(c) == hash(16)


def test_old_names_stay_importable_and_alias_the_table():
    from pycallcenter.engine import call as engine_call
    from pycallcenter.isdn import causes as isdn_causes
    assert isdn_causes.NORMAL_CLEARING is Cause.NORMAL_CALL_CLEARING
    assert isdn_causes.NO_CHANNEL is Cause.NO_CIRCUIT_CHANNEL_AVAILABLE
    assert isdn_causes.WRONG_STATE is Cause.MESSAGE_NOT_COMPATIBLE_WITH_STATE
    assert isdn_causes.cause_name(17) == "user busy" and isdn_causes.CAUSES[17] == "user busy"
    assert engine_call.NO_USER_RESPONSE is Cause.NO_USER_RESPONDING
    assert engine_call.NO_CIRCUIT is Cause.NO_CIRCUIT_CHANNEL_AVAILABLE
    assert engine_call.ANALOG_CAUSES["busy"] is Cause.USER_BUSY


