"""Q.931 IE loop compiled: splits a message's IE section into shared IE objects.

pycallcenter.isdn.q931._decode_ies is the readable reference; this is the same loop with C indexing
(tests/test_isdn_fastpath.py compares the two). Call bind() once with the codec tables before use.
"""
cdef list _caches = None
cdef dict _singles = None
cdef dict _bodies = None
cdef object _IE = None
cdef object _parse_body = None
cdef object _DecodeError = None
cdef object _ie_name = None
cdef Py_ssize_t _cache_max = 4096


def bind(list caches, dict singles, dict bodies, IE, parse_body, DecodeError, ie_name, Py_ssize_t cache_max):
    """Take the memo tables, IE class and error helpers from pycallcenter.isdn; returns None."""
    global _caches, _singles, _bodies, _IE, _parse_body, _DecodeError, _ie_name, _cache_max
    _caches, _singles, _bodies, _IE = caches, singles, bodies, IE
    _parse_body, _DecodeError, _ie_name, _cache_max = parse_body, DecodeError, ie_name, cache_max


def decode_ies(bytes data, Py_ssize_t i):
    """Return ([IE, ...], number of unknown codeset-0 IEs) for data[i:]; raises DecodeError."""
    cdef const unsigned char* p = data
    cdef Py_ssize_t n = len(data)
    cdef Py_ssize_t end
    cdef int b, codeset = 0, locked = 0, unknown = 0
    cdef list items = []
    cdef dict cache
    while i < n:
        b = p[i]
        if b & 0x80:
            key = (codeset, b)
            item = _singles.get(key)
            if item is None:
                if b & 0xF0 == 0x90:
                    item = _IE(0, b, None, None, "shift")
                else:
                    item = _IE(codeset, b, None, None)
                _singles[key] = item
            items.append(item)
            if b & 0xF0 == 0x90:
                codeset = b & 7
                if not b & 8:
                    locked = codeset
            else:
                codeset = locked
            i += 1
            continue
        if i + 1 >= n:
            raise _DecodeError("IE has no length octet", element=_ie_name(codeset, b), offset=i)
        end = i + 2 + p[i + 1]
        if end > n:
            raise _DecodeError(f"IE length {p[i + 1]} runs past the end of the message ({n - i - 2} bytes left)",
                               element=_ie_name(codeset, b), offset=i)
        wire = data[i:end]
        cache = <dict>_caches[codeset]
        item = cache.get(wire)
        if item is None:
            body = wire[2:]
            spec = _bodies.get((codeset, b))
            if spec is None:
                name, fields = _parse_body(codeset, b, body, i)
            else:
                name, codec = spec
                try:
                    fields = codec.parse(body)
                except Exception:
                    raise _DecodeError(f"{len(body)}-byte body is too short or malformed", element=name,
                                       offset=i) from None
            item = _IE(codeset, b, body, fields, name, wire)
            if len(cache) >= _cache_max:
                cache.clear()
            cache[wire] = item
        if not codeset and item.fields is None:
            unknown += 1
        items.append(item)
        codeset = locked
        i = end
    return items, unknown


cdef dict _tails = None
cdef object _Message = None


def bind_messages(dict tails, Message):
    """Take the IE-section memo and the Message class from pycallcenter.isdn.q931; returns None."""
    global _tails, _Message
    _tails, _Message = tails, Message


def decode_seen(data):
    """Return the Message for a Q.931 call message (2-octet call reference) whose IE section is memoised, else None.

    Anything else (other discriminators, malformed headers, new IE sections) is left to q931.decode.
    """
    if type(data) is not bytes:
        return None
    cdef const unsigned char* p = data
    cdef Py_ssize_t n = len(data)
    if n < 5 or p[0] != 0x08 or p[1] != 2 or p[4] & 0x80:
        return None
    hit = _tails.get(data[5:])
    if hit is None:
        return None
    items, unknown = hit
    msg = _Message(p[4], ((p[2] & 0x7F) << 8) | p[3], p[2] >= 0x80, items, 2, 0x08)
    msg.unknown = unknown
    return msg
