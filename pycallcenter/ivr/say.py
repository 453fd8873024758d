"""Saying digits, numbers, money, dates and times in English and Mandarin as lists of prompt names.

The functions return prompt names (``en/7``, ``en/hundred``, ``zh/shi`` ...); ``IvrCall.say_*`` plays
them from the prompt library, and ``pycallcenter.ivr.promptset`` generates every name used here.
"""
import datetime as _dt
from decimal import ROUND_HALF_UP, Decimal

LANGS = ("en", "zh")

EN_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
           "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty", 90: "ninety"}
EN_WORDS = {"hundred": "hundred", "thousand": "thousand", "million": "million", "billion": "billion", "minus": "minus",
            "point": "point", "and": "and", "dollar": "dollar", "dollars": "dollars", "cent": "cent", "cents": "cents",
            "oh": "oh", "am": "A M", "pm": "P M", "oclock": "o'clock", "star": "star", "pound": "pound"}
EN_ORDINALS = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
               "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
               "nineteenth", "twentieth", "twenty first", "twenty second", "twenty third", "twenty fourth",
               "twenty fifth", "twenty sixth", "twenty seventh", "twenty eighth", "twenty ninth", "thirtieth",
               "thirty first"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

ZH_DIGITS = "零一二三四五六七八九"
ZH_WORDS = {"shi": "十", "bai": "百", "qian": "千", "wan": "万", "yi": "亿", "ling": "零", "liang": "两", "dian": "点",
            "yuan": "元", "jiao": "角", "fen": "分", "nian": "年", "yue": "月", "ri": "日", "xingqi": "星期",
            "shangwu": "上午", "xiawu": "下午", "fu": "负", "xing": "星号", "jing": "井号", "zheng": "整", "tian": "天"}


def prompt_texts():
    """Return {prompt name: (espeak voice, text)} for every prompt the say functions can use."""
    texts = {}
    for i, w in enumerate(EN_ONES):
        texts[f"en/{i}"] = ("en-us", w)
    for n, w in EN_TENS.items():
        texts[f"en/{n}"] = ("en-us", w)
    for k, w in EN_WORDS.items():
        texts[f"en/{k}"] = ("en-us", w)
    for i, w in enumerate(EN_ORDINALS[1:], start=1):
        texts[f"en/ord{i}"] = ("en-us", w)
    for i, w in enumerate(EN_MONTHS, start=1):
        texts[f"en/month{i}"] = ("en-us", w)
    for i, w in enumerate(EN_DAYS):
        texts[f"en/day{i}"] = ("en-us", w)
    for i, ch in enumerate(ZH_DIGITS):
        texts[f"zh/{i}"] = ("cmn", ch)
    for k, w in ZH_WORDS.items():
        texts[f"zh/{k}"] = ("cmn", w)
    for i in range(7):
        texts[f"zh/day{i}"] = ("cmn", "一二三四五六日"[i])
    return texts


def _check_lang(lang):
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}, got {lang!r}")


def digits(text, lang="en"):
    """Return prompts reading each character of a digit string (0-9, * and #)."""
    _check_lang(lang)
    out = []
    for ch in str(text):
        if ch.isdigit():
            out.append(f"{lang}/{ch}")
        elif ch in "*#":
            out.append(f"{lang}/" + ({"*": "star", "#": "pound"} if lang == "en" else {"*": "xing", "#": "jing"})[ch])
        elif ch not in " -":
            raise ValueError(f"cannot say {ch!r} as a digit")
    return out


def number(n, lang="en"):
    """Return prompts reading a whole number (negative allowed, up to 999,999,999,999)."""
    _check_lang(lang)
    n = int(n)
    if abs(n) >= 10 ** 12:
        raise ValueError(f"{n} is too large to say")
    if n < 0:
        return [f"{lang}/minus" if lang == "en" else "zh/fu"] + number(-n, lang)
    return _en_number(n) if lang == "en" else _zh_number(n)


def _en_below_1000(n):
    out = []
    if n >= 100:
        out += [f"en/{n // 100}", "en/hundred"]
        n %= 100
        if n:
            out.append("en/and")
    if n >= 20:
        out.append(f"en/{n // 10 * 10}")
        n %= 10
        if n:
            out.append(f"en/{n}")
    elif n or not out:
        out.append(f"en/{n}")
    return out


def _en_number(n):
    if n == 0:
        return ["en/0"]
    out = []
    for size, word in ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand")):
        if n >= size:
            out += _en_below_1000(n // size) + [f"en/{word}"]
            n %= size
    if n:
        if out and n < 100:
            out.append("en/and")
        out += _en_below_1000(n)
    return out


def _zh_below_10000(n, leading):
    """Prompts for 0 < n < 10000; leading=True when nothing bigger was said before it."""
    out = []
    units = [(1000, "qian"), (100, "bai"), (10, "shi")]
    zero = False
    for size, word in units:
        d = n // size
        n %= size
        if d:
            if zero:
                out.append("zh/ling")
                zero = False
            if size == 10 and d == 1 and not out and leading:
                out.append("zh/shi")  # 十二, not 一十二, at the start of a number
            else:
                two = "zh/liang" if d == 2 and size >= 100 and not out and leading else f"zh/{d}"
                out += [two, f"zh/{word}"]
        elif out:
            zero = True
    if n:
        if zero:
            out.append("zh/ling")
        out.append(f"zh/{n}")
    return out


def _zh_number(n):
    if n == 0:
        return ["zh/0"]
    out = []
    groups = [(10 ** 8, "yi"), (10 ** 4, "wan"), (1, None)]
    pending_zero = False
    for size, word in groups:
        g = n // size
        n %= size
        if g:
            if pending_zero or (out and g < 1000):
                out.append("zh/ling")
            out += _zh_below_10000(g, leading=not out)
            if word:
                out.append(f"zh/{word}")
            pending_zero = False
        elif out:
            pending_zero = True
    return out


def money(amount, lang="en"):
    """Return prompts reading an amount of money (dollars and cents / yuan, jiao and fen)."""
    _check_lang(lang)
    cents = int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign = []
    if cents < 0:
        sign = ["en/minus" if lang == "en" else "zh/fu"]
        cents = -cents
    whole, frac = divmod(cents, 100)
    if lang == "en":
        out = number(whole, "en") + ["en/dollar" if whole == 1 else "en/dollars"]
        if frac:
            out += ["en/and"] + number(frac, "en") + ["en/cent" if frac == 1 else "en/cents"]
        return sign + out
    jiao, fen = divmod(frac, 10)
    out = number(whole, "zh") + ["zh/yuan"]
    if jiao:
        out += [f"zh/{jiao}", "zh/jiao"]
    if fen:
        if not jiao:
            out.append("zh/ling")
        out += [f"zh/{fen}", "zh/fen"]
    if not frac:
        out.append("zh/zheng")
    return sign + out


def date(d, lang="en"):
    """Return prompts reading a date with its weekday."""
    _check_lang(lang)
    if not isinstance(d, _dt.date):
        raise TypeError(f"expected a datetime.date, got {type(d).__name__}")
    if lang == "en":
        return [f"en/day{d.weekday()}", f"en/month{d.month}", f"en/ord{d.day}"] + _en_year(d.year)
    return (digits(f"{d.year:04d}", "zh") + ["zh/nian"] + number(d.month, "zh") + ["zh/yue"] + number(d.day, "zh")
            + ["zh/ri", "zh/xingqi", f"zh/day{d.weekday()}"])


def _en_year(y):
    if 2000 <= y < 2010 or y % 1000 == 0:
        return _en_number(y)
    hi, lo = divmod(y, 100)
    return _en_below_1000(hi) + (["en/hundred"] if lo == 0 else (["en/oh", f"en/{lo}"] if lo < 10 else _en_below_1000(lo)))


def time(t, lang="en"):
    """Return prompts reading a clock time (12-hour with A M / P M in English; 上午/下午 in Mandarin)."""
    _check_lang(lang)
    if not isinstance(t, (_dt.time, _dt.datetime)):
        raise TypeError(f"expected a datetime.time, got {type(t).__name__}")
    h12 = t.hour % 12 or 12
    if lang == "en":
        out = [f"en/{h12}" if h12 < 20 else f"en/{h12}"]
        if t.minute == 0:
            out.append("en/oclock")
        elif t.minute < 10:
            out += ["en/oh", f"en/{t.minute}"]
        else:
            out += _en_below_1000(t.minute)
        return out + ["en/am" if t.hour < 12 else "en/pm"]
    out = ["zh/shangwu" if t.hour < 12 else "zh/xiawu"]
    out += (["zh/liang"] if h12 == 2 else number(h12, "zh")) + ["zh/dian"]
    if t.minute:
        if t.minute < 10:
            out.append("zh/ling")
        out += number(t.minute, "zh") + ["zh/fen"]
    else:
        out.append("zh/zheng")
    return out
