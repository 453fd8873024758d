# Augmenting declarations for the Cython build of ie.py (see pycallcenter/_compiled.py): IE becomes an
# extension type with C fields (cheaper to build on the cold decode path). The .py file is the source.
cdef class IE:
    cdef public object codeset, ie_id, body, fields, name, wire, _view
