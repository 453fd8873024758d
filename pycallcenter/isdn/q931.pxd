# Augmenting declarations for the Cython build of q931.py (see pycallcenter/_compiled.py): Message becomes
# an extension type with C fields, built once per received message. The .py file is the source.
cdef class Message:
    cdef public object msg_type, call_ref, cr_flag, cr_len, pd, unknown
    cdef public list ies
