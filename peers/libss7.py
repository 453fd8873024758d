"""libss7 2.0 (Debian libss7-dev) as a test peer, through cffi API mode.

libss7 runs its own MTP2 over an fd that keeps message boundaries (SS7_TRANSPORT_DAHDIDCHAN): each write is
one signal unit plus 2 FCS octets it neither computes nor checks. It always asks for POLLOUT and sends
signal units continuously, so the caller paces ``step()``.
"""
import cffi

from peers import compile_peer

HEADERS = ("/usr/include/libss7.h",)

_CDEF = """
#define SS7_ITU ...
#define SS7_ANSI ...
#define SS7_TRANSPORT_DAHDIDCHAN ...
#define SS7_NI_NAT ...
#define SS7_NAI_NATIONAL ...
#define SS7_PRESENTATION_ALLOWED ...
#define SS7_SCREENING_NETWORK_PROVIDED ...
#define SS7_EVENT_UP ...
#define SS7_EVENT_DOWN ...
#define MTP2_LINK_UP ...
#define MTP2_LINK_DOWN ...
#define ISUP_EVENT_IAM ...
#define ISUP_EVENT_ACM ...
#define ISUP_EVENT_ANM ...
#define ISUP_EVENT_REL ...
#define ISUP_EVENT_RLC ...
#define ISUP_EVENT_GRS ...
#define ISUP_EVENT_GRA ...
#define ISUP_EVENT_CON ...
#define ISUP_EVENT_BLO ...
#define ISUP_EVENT_UBL ...
#define ISUP_EVENT_BLA ...
#define ISUP_EVENT_UBA ...
#define ISUP_EVENT_CGB ...
#define ISUP_EVENT_CGU ...
#define ISUP_EVENT_CGBA ...
#define ISUP_EVENT_CGUA ...
#define ISUP_EVENT_RSC ...
#define ISUP_EVENT_CPG ...
struct ss7;
struct isup_call;
typedef struct { int e; int cic; char called_party_num[50]; char calling_party_num[50];
                 unsigned char calling_party_cat; unsigned int opc; struct isup_call *call; ...; } ss7_event_iam;
typedef struct { int e; int cic; int cause; unsigned int opc; struct isup_call *call; ...; } ss7_event_rel;
typedef struct { int e; int cic; unsigned int opc; struct isup_call *call; ...; } ss7_event_cic;
typedef struct { int e; int cic; unsigned int opc; struct isup_call *call; ...; } ss7_event_anm;
typedef struct { int e; int cic; unsigned int opc; struct isup_call *call; ...; } ss7_event_acm;
typedef struct { int e; int cic; unsigned int opc; struct isup_call *call; ...; } ss7_event_con;
typedef struct { int e; int cic; unsigned int opc; struct isup_call *call; ...; } ss7_event_rsc;
typedef struct { int e; int cic; unsigned int opc; unsigned char event; struct isup_call *call; ...; } ss7_event_cpg;
typedef struct { int e; int startcic; int endcic; int type; unsigned int opc; unsigned char status[255];
                 struct isup_call *call; ...; } ss7_event_cicrange;
typedef union { int e; ss7_event_iam iam; ss7_event_rel rel; ss7_event_cic rlc; ss7_event_anm anm;
                ss7_event_acm acm; ss7_event_con con; ss7_event_cic blo; ss7_event_cic ubl; ss7_event_cic bla;
                ss7_event_cic uba; ss7_event_rsc rsc; ss7_event_cpg cpg;
                ss7_event_cicrange grs; ss7_event_cicrange gra; ss7_event_cicrange cgb; ss7_event_cicrange cgu;
                ss7_event_cicrange cgba; ss7_event_cicrange cgua; ...; } ss7_event;

struct ss7 *ss7_new(int switchtype);
void ss7_destroy(struct ss7 *ss7);
int ss7_add_link(struct ss7 *ss7, int transport, int fd, int slc, unsigned int adjpc);
int ss7_set_network_ind(struct ss7 *ss7, int ni);
int ss7_set_pc(struct ss7 *ss7, unsigned int pc);
int ss7_start(struct ss7 *ss7);
int ss7_read(struct ss7 *ss7, int fd);
int ss7_write(struct ss7 *ss7, int fd);
int ss7_schedule_run(struct ss7 *ss7);
ss7_event *ss7_check_event(struct ss7 *ss7);
char *ss7_event2str(int event);
struct isup_call *isup_new_call(struct ss7 *ss7, int cic, unsigned int dpc, int outgoing);
void isup_set_called(struct isup_call *c, const char *called, unsigned char called_nai, const struct ss7 *ss7);
void isup_set_calling(struct isup_call *c, const char *calling, unsigned char calling_nai,
                      unsigned char presentation_ind, unsigned char screening_ind);
void isup_set_calling_party_category(struct isup_call *c, unsigned int category);
int isup_iam(struct ss7 *ss7, struct isup_call *c);
int isup_acm(struct ss7 *ss7, struct isup_call *c);
int isup_anm(struct ss7 *ss7, struct isup_call *c);
int isup_con(struct ss7 *ss7, struct isup_call *c);
int isup_cpg(struct ss7 *ss7, struct isup_call *c, int event);
int isup_rel(struct ss7 *ss7, struct isup_call *c, int cause);
int isup_rlc(struct ss7 *ss7, struct isup_call *c);
int isup_grs(struct ss7 *ss7, struct isup_call *c, int endcic);
int isup_gra(struct ss7 *ss7, struct isup_call *c, int endcic, unsigned char state[]);
int isup_cgb(struct ss7 *ss7, struct isup_call *c, int endcic, unsigned char state[], int type);
int isup_cgu(struct ss7 *ss7, struct isup_call *c, int endcic, unsigned char state[], int type);
int isup_cgba(struct ss7 *ss7, struct isup_call *c, int endcic, unsigned char state[]);
int isup_cgua(struct ss7 *ss7, struct isup_call *c, int endcic, unsigned char state[]);
int isup_blo(struct ss7 *ss7, struct isup_call *c);
int isup_ubl(struct ss7 *ss7, struct isup_call *c);
int isup_bla(struct ss7 *ss7, struct isup_call *c);
int isup_uba(struct ss7 *ss7, struct isup_call *c);
int isup_rsc(struct ss7 *ss7, struct isup_call *c);
void isup_free_call(struct ss7 *ss7, struct isup_call *c);

void peer_ss7_install_callbacks(void);
int peer_ss7_readable(int fd);
"""

_SOURCE = """
#include <poll.h>
#include <libss7.h>

/* libss7 calls these without checking for NULL; a test peer owns no channels, so every CIC is idle */
static int peer_hangup(struct ss7 *ss7, int cic, unsigned int dpc, int cause, int do_hangup) { return SS7_CIC_IDLE; }
static void peer_call_null(struct ss7 *ss7, struct isup_call *c, int lock) { }
static void peer_notinservice(struct ss7 *ss7, int cic, unsigned int dpc) { }
static void peer_quiet(struct ss7 *ss7, char *message) { }

void peer_ss7_install_callbacks(void)
{
    ss7_set_hangup(peer_hangup);
    ss7_set_call_null(peer_call_null);
    ss7_set_notinservice(peer_notinservice);
    ss7_set_message(peer_quiet);
    ss7_set_error(peer_quiet);
}

int peer_ss7_readable(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}
"""

_lib = None


def load():
    """Return the compiled libss7 peer library (cffi lib object)."""
    global _lib
    if _lib is None:
        ffibuilder = cffi.FFI()
        ffibuilder.cdef(_CDEF)
        ffibuilder.set_source("_peer_libss7", _SOURCE, libraries=["ss7"])
        _lib = compile_peer(ffibuilder, "_peer_libss7", HEADERS)
        _lib.lib.peer_ss7_install_callbacks()
    return _lib


_CIC_EVENTS = ("rlc", "anm", "acm", "con", "blo", "ubl", "bla", "uba", "rsc", "cpg")
_RANGE_EVENTS = ("grs", "gra", "cgb", "cgu", "cgba", "cgua")


class Libss7Peer:
    """One libss7 signalling point with links on fd (and add_link's fds); ``step()`` does one paced I/O round."""

    def __init__(self, fd, pc, adjpc, variant="itu", slc=0):
        mod = load()
        self.ffi, self.lib = mod.ffi, mod.lib
        lib = self.lib
        self.fd = fd
        self.fds = [fd]
        self.adjpc = adjpc
        self.ss7 = lib.ss7_new(lib.SS7_ITU if variant == "itu" else lib.SS7_ANSI)
        lib.ss7_set_pc(self.ss7, pc)
        lib.ss7_set_network_ind(self.ss7, lib.SS7_NI_NAT)
        if lib.ss7_add_link(self.ss7, lib.SS7_TRANSPORT_DAHDIDCHAN, fd, slc, adjpc) < 0:
            raise RuntimeError("ss7_add_link failed")
        self.calls = {}  # cic -> struct isup_call*
        self._keep = []

    def add_link(self, fd, slc):
        """Add another link (same adjacent point code) on fd with signalling link code slc."""
        if self.lib.ss7_add_link(self.ss7, self.lib.SS7_TRANSPORT_DAHDIDCHAN, fd, slc, self.adjpc) < 0:
            raise RuntimeError("ss7_add_link failed")
        self.fds.append(fd)

    def start(self):
        """Start MTP2 alignment."""
        self.lib.ss7_start(self.ss7)

    def step(self, write=True):
        """Read what is waiting, run timers, write one signal unit; return the events as dicts."""
        lib = self.lib
        for fd in self.fds:
            while lib.peer_ss7_readable(fd):
                lib.ss7_read(self.ss7, fd)
        lib.ss7_schedule_run(self.ss7)
        if write:
            for fd in self.fds:
                lib.ss7_write(self.ss7, fd)
        events = []
        while True:
            ev = lib.ss7_check_event(self.ss7)
            if ev == self.ffi.NULL:
                return events
            events.append(self._event(ev))

    def _event(self, ev):
        lib, ffi = self.lib, self.ffi
        name = ffi.string(lib.ss7_event2str(ev.e)).decode()
        out = {"e": ev.e, "name": name}
        if ev.e == lib.ISUP_EVENT_IAM:
            out.update(cic=ev.iam.cic, called=ffi.string(ev.iam.called_party_num).decode(),
                       calling=ffi.string(ev.iam.calling_party_num).decode(), opc=ev.iam.opc)
            self.calls[ev.iam.cic] = ev.iam.call
        elif ev.e == lib.ISUP_EVENT_REL:
            out.update(cic=ev.rel.cic, cause=ev.rel.cause, opc=ev.rel.opc)
            self.calls[ev.rel.cic] = ev.rel.call
        else:
            for kind in _CIC_EVENTS:
                if ev.e == getattr(lib, "ISUP_EVENT_" + kind.upper()):
                    sub = getattr(ev, kind)
                    out.update(cic=sub.cic, opc=sub.opc)
                    if sub.call != ffi.NULL:
                        self.calls[sub.cic] = sub.call
            for kind in _RANGE_EVENTS:
                if ev.e == getattr(lib, "ISUP_EVENT_" + kind.upper()):
                    sub = getattr(ev, kind)
                    n = sub.endcic - sub.startcic + 1
                    out.update(cic=sub.startcic, endcic=sub.endcic, type=sub.type, opc=sub.opc,
                               status=[sub.status[i] for i in range(n)])
                    if sub.call != ffi.NULL:
                        self.calls[sub.startcic] = sub.call
        return out

    def call(self, cic, outgoing=0):
        """Return libss7's call object for cic, creating one if needed."""
        c = self.calls.get(cic)
        if c is None or c == self.ffi.NULL:
            c = self.lib.isup_new_call(self.ss7, cic, self.adjpc, outgoing)
            self.calls[cic] = c
        return c

    def iam(self, cic, called, calling, category=10):
        """Send an IAM on cic."""
        lib = self.lib
        c = self.lib.isup_new_call(self.ss7, cic, self.adjpc, 1)
        self.calls[cic] = c
        lib.isup_set_called(c, called.encode(), lib.SS7_NAI_NATIONAL, self.ss7)
        lib.isup_set_calling(c, calling.encode(), lib.SS7_NAI_NATIONAL, lib.SS7_PRESENTATION_ALLOWED,
                             lib.SS7_SCREENING_NETWORK_PROVIDED)
        lib.isup_set_calling_party_category(c, category)
        return lib.isup_iam(self.ss7, c)

    def send(self, what, cic, *args):
        """Call isup_<what>(ss7, call, *args) for the call on cic (acm, anm, rel, rlc, blo, ...)."""
        return getattr(self.lib, "isup_" + what)(self.ss7, self.call(cic), *args)

    def send_range(self, what, cic, endcic, status=None, *args):
        """Call a circuit-group primitive (grs, gra, cgb, cgu, cgba, cgua) over cic..endcic."""
        fn = getattr(self.lib, "isup_" + what)
        if what == "grs":
            return fn(self.ss7, self.call(cic), endcic)
        state = self.ffi.new("unsigned char[255]", list(status or [0] * (endcic - cic + 1)))
        self._keep.append(state)
        return fn(self.ss7, self.call(cic), endcic, state, *args)

    def free_call(self, cic):
        """Forget libss7's call object on cic."""
        c = self.calls.pop(cic, None)
        if c is not None and c != self.ffi.NULL:
            self.lib.isup_free_call(self.ss7, c)
