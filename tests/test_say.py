import datetime as dt

import numpy as np
import pytest

from pycallcenter.ivr import promptset, say

T = say.prompt_texts()


def en(names):
    return " ".join(T[n][1] for n in names)


def zh(names):
    return "".join(T[n][1] for n in names)


@pytest.mark.parametrize("n, english, mandarin", [
    (0, "zero", "零"), (12, "twelve", "十二"), (21, "twenty one", "二十一"), (101, "one hundred and one", "一百零一"),
    (110, "one hundred and ten", "一百一十"), (1010, "one thousand and ten", "一千零一十"),
    (20000, "twenty thousand", "二万"), (100005, "one hundred thousand and five", "十万零五"),
    (123456789, "one hundred and twenty three million four hundred and fifty six thousand seven hundred and eighty nine",
     "一亿二千三百四十五万六千七百八十九"),
    (-42, "minus forty two", "负四十二"),
])
def test_numbers(n, english, mandarin):
    assert en(say.number(n, "en")) == english
    assert zh(say.number(n, "zh")) == mandarin


@pytest.mark.parametrize("amount, english, mandarin", [
    (0.01, "zero dollars and one cent", "零元零一分"), (1, "one dollar", "一元整"),
    (12.05, "twelve dollars and five cents", "十二元零五分"), (12.5, "twelve dollars and fifty cents", "十二元五角"),
])
def test_money(amount, english, mandarin):
    assert en(say.money(amount, "en")) == english
    assert zh(say.money(amount, "zh")) == mandarin


def test_dates_and_times():
    d = dt.date(2026, 11, 22)
    assert en(say.date(d, "en")) == "Sunday November twenty second twenty twenty six"
    assert zh(say.date(d, "zh")) == "二零二六年十一月二十二日星期日"
    assert en(say.date(dt.date(2005, 3, 3), "en")).endswith("two thousand and five")
    assert en(say.time(dt.time(9, 5), "en")) == "nine oh five A M"
    assert zh(say.time(dt.time(14, 30), "zh")) == "下午两点三十分"
    assert en(say.time(dt.time(0, 0), "en")) == "twelve o'clock A M"


def test_digits_and_bad_input():
    assert en(say.digits("12*#")) == "one two star pound"
    with pytest.raises(ValueError):
        say.digits("12a")
    with pytest.raises(ValueError):
        say.number(10 ** 12)
    with pytest.raises(ValueError):
        say.number(5, "fr")
    with pytest.raises(TypeError):
        say.date("2026-11-22")


def test_every_name_the_say_functions_use_is_in_the_prompt_set():
    used = set()
    for n in list(range(0, 1200, 7)) + [10 ** 6, 10 ** 9 + 7, 10 ** 8 + 5, -3]:
        for lang in say.LANGS:
            used |= set(say.number(n, lang))
    for lang in say.LANGS:
        used |= set(say.money(1234.56, lang)) | set(say.digits("0123456789*#", lang))
        for m in range(1, 13):
            used |= set(say.date(dt.date(2026, m, 28), lang))
        for h in range(24):
            used |= set(say.time(dt.time(h, h * 2), lang))
    assert used <= set(promptset.all_prompts())


def test_prompt_set_builds_with_espeak_and_is_incremental(tmp_path):
    subset = {k: promptset.all_prompts()[k] for k in ("en/7", "zh/7", "welcome")}
    assert sorted(promptset.build(tmp_path, subset)) == ["en/7", "welcome", "zh/7"]
    assert promptset.build(tmp_path, subset) == []
    from pycallcenter.engine.prompts import PromptLibrary

    lib = PromptLibrary(str(tmp_path), cache_dir=str(tmp_path / "cache"))
    seven = lib.get("en/7")
    assert seven.dtype == np.int16 and 0.2 < seven.size / 8000 < 2.0 and np.abs(seven).max() > 1000
    assert lib.get("zh/7").size > 0
