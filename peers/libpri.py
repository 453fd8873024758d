"""libpri 1.6 (Debian libpri-dev) as a PRI test peer and benchmark yardstick, through cffi API mode.

One LibPri object is one libpri D-channel on a file descriptor (one end of a SOCK_SEQPACKET socketpair):
every frame libpri writes there is one Q.921 frame plus 2 FCS bytes it neither computes nor checks.
Events come back as plain dicts so tests never hold cffi memory.
"""
import cffi

from peers import compile_peer

HEADERS = ("/usr/include/libpri.h",)

_CDEF = """
#define PRI_NETWORK 1
#define PRI_CPE 2
typedef struct q931_call q931_call;
struct pri;
struct pri_sr;
typedef struct { int e; ...; } pri_event_generic;
typedef struct { int e; int channel; ...; } pri_event_restart;
typedef struct { int e; int channel; int cref; q931_call *call; ...; } pri_event_ringing;
typedef struct { int e; int channel; int cref; q931_call *call; ...; } pri_event_answer;
typedef struct { int e; int channel; int callingpres; char callingnum[256]; char callingname[256];
                 char callednum[256]; int flexible; int cref; int complete; int layer1; q931_call *call; ...; } pri_event_ring;
typedef struct { int e; int channel; int cause; int cref; q931_call *call; ...; } pri_event_hangup;
typedef struct { int e; int channel; ...; } pri_event_restart_ack;
typedef struct { int e; int channel; int cref; int progress; int cause; q931_call *call; ...; } pri_event_proceeding;
typedef struct { int e; int channel; q931_call *call; ...; } pri_event_setup_ack;
typedef struct { int e; int channel; int changestatus; ...; } pri_event_service;
typedef struct { int e; int channel; int changestatus; ...; } pri_event_service_ack;
typedef struct { int e; int channel; q931_call *call; char digits[64]; ...; } pri_event_keypad_digit;
struct pri_event_facility { int e; char callingname[256]; char callingnum[256]; int channel; q931_call *call; ...; };
typedef union {
    int e; pri_event_generic gen; pri_event_restart restart; pri_event_ring ring; pri_event_hangup hangup;
    pri_event_ringing ringing; pri_event_answer answer; pri_event_restart_ack restartack;
    pri_event_proceeding proceeding; pri_event_setup_ack setup_ack; pri_event_service service;
    pri_event_service_ack service_ack; pri_event_keypad_digit digit; struct pri_event_facility facility; ...;
} pri_event;
struct timeval { long tv_sec; long tv_usec; ...; };

struct pri *pri_new(int fd, int nodetype, int switchtype);
void pri_set_debug(struct pri *pri, int debug);
pri_event *pri_check_event(struct pri *pri);
struct timeval *pri_schedule_next(struct pri *pri);
pri_event *pri_schedule_run(struct pri *pri);
q931_call *pri_new_call(struct pri *pri);
struct pri_sr *pri_sr_new(void);
void pri_sr_free(struct pri_sr *sr);
int pri_sr_set_channel(struct pri_sr *sr, int channel, int exclusive, int nonisdn);
int pri_sr_set_bearer(struct pri_sr *sr, int transmode, int userl1);
int pri_sr_set_called(struct pri_sr *sr, char *called, int calledplan, int complete);
int pri_sr_set_caller(struct pri_sr *sr, char *caller, char *callername, int callerplan, int callerpres);
int pri_setup(struct pri *pri, q931_call *call, struct pri_sr *req);
int pri_proceeding(struct pri *pri, q931_call *c, int channel, int info);
int pri_acknowledge(struct pri *pri, q931_call *call, int channel, int info);
int pri_answer(struct pri *pri, q931_call *call, int channel, int nonisdn);
int pri_hangup(struct pri *pri, q931_call *call, int cause);
int pri_information(struct pri *pri, q931_call *call, char digit);
int pri_need_more_info(struct pri *pri, q931_call *call, int channel, int nonisdn);
int pri_restart(struct pri *pri);
int pri_reset(struct pri *pri, int channel);
int pri_maintenance_service(struct pri *pri, int span, int channel, int changestatus);
int pri_set_service_message_support(struct pri *pri, int supportflag);
void pri_set_overlapdial(struct pri *pri, int state);
int pri_set_timer(struct pri *pri, int timer, int value);
int pri_timer2idx(const char *timer_name);
void pri_set_error(void (*__pri_error)(struct pri *pri, char *));
void pri_set_message(void (*__pri_error)(struct pri *pri, char *));
void pri_display_options_send(struct pri *ctrl, unsigned long flags);
void pri_display_options_receive(struct pri *ctrl, unsigned long flags);
void peer_pri_quiet(void);
int peer_pri_bench(int ncalls, int switchtype);
"""

_SOURCE = r"""
#include <libpri.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
static void peer_pri_silent(struct pri *pri, char *s) { (void)pri; (void)s; }
void peer_pri_quiet(void) { pri_set_error(peer_pri_silent); pri_set_message(peer_pri_silent); }

/* Yardstick: a CPE and a network libpri back to back on a socketpair, in C so the figure is libpri's.
   Each call: CPE SETUP, network answers (CONNECT), CPE hangs up on ANSWER, clearing completes.
   Returns the number of calls completed (the CPE's call reached HANGUP_ACK/HANGUP). */
int peer_pri_bench(int ncalls, int switchtype)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
        return -1;
    struct pri *side[2];
    side[0] = pri_new(sv[0], PRI_NETWORK, switchtype);
    side[1] = pri_new(sv[1], PRI_CPE, switchtype);
    int up = 0, done = 0, active = 0;
    long idle = 0;
    char called[] = "5551234", calling[] = "2025550100";
    while (done < ncalls && idle < 1000) {
        if (up == 2 && !active) {
            q931_call *c = pri_new_call(side[1]);
            struct pri_sr *sr = pri_sr_new();
            pri_sr_set_channel(sr, 1, 1, 0);
            pri_sr_set_bearer(sr, 0, 0x23);
            pri_sr_set_called(sr, called, 0, 1);
            pri_sr_set_caller(sr, calling, NULL, 0, 0);
            pri_setup(side[1], c, sr);
            pri_sr_free(sr);
            active = 1;
        }
        struct pollfd p[2] = {{sv[0], POLLIN, 0}, {sv[1], POLLIN, 0}};
        if (poll(p, 2, 10) <= 0) {
            idle++;
        }
        for (int i = 0; i < 2; i++) {
            pri_event *e = (p[i].revents & POLLIN) ? pri_check_event(side[i]) : pri_schedule_run(side[i]);
            if (!e)
                continue;
            switch (e->e) {
            case PRI_EVENT_DCHAN_UP: up++; break;
            case PRI_EVENT_RING: pri_answer(side[i], e->ring.call, e->ring.channel, 0); break;
            case PRI_EVENT_ANSWER: pri_hangup(side[i], e->answer.call, 16); break;
            case PRI_EVENT_HANGUP_REQ: pri_hangup(side[i], e->hangup.call, e->hangup.cause); break;
            case PRI_EVENT_HANGUP: pri_hangup(side[i], e->hangup.call, e->hangup.cause);
                if (i == 1) { done++; active = 0; } break;
            case PRI_EVENT_HANGUP_ACK: if (i == 1) { done++; active = 0; } break;
            default: break;
            }
        }
    }
    close(sv[0]);
    close(sv[1]);
    return done;
}
"""

EVENT_NAMES = {1: "DCHAN_UP", 2: "DCHAN_DOWN", 3: "RESTART", 5: "RING", 6: "HANGUP", 7: "RINGING", 8: "ANSWER",
               9: "HANGUP_ACK", 10: "RESTART_ACK", 11: "FACILITY", 12: "INFO_RECEIVED", 13: "PROCEEDING",
               14: "SETUP_ACK", 15: "HANGUP_REQ", 16: "NOTIFY", 17: "PROGRESS", 18: "KEYPAD_DIGIT", 19: "SERVICE",
               20: "SERVICE_ACK", 27: "CONNECT_ACK"}
SWITCHTYPES = {"ni2": 1, "dms100": 2, "5ess": 3, "4ess": 4, "euroisdn_e1": 5, "euroisdn_t1": 6}
_lib = None
_ffi = None


def load():
    """Compile (once) and return (ffi, lib)."""
    global _lib, _ffi
    if _lib is None:
        builder = cffi.FFI()
        builder.cdef(_CDEF)
        builder.set_source("_peer_libpri", _SOURCE, libraries=["pri"])
        mod = compile_peer(builder, "_peer_libpri", HEADERS)
        _ffi, _lib = mod.ffi, mod.lib
        _lib.peer_pri_quiet()
    return _ffi, _lib


class LibPri:
    """One libpri instance (network or CPE) on fd; poll() returns its events as dicts."""

    def __init__(self, fd, network, switchtype, overlap=False, timers=None):
        self.ffi, self.lib = load()
        self.pri = self.lib.pri_new(fd, self.lib.PRI_NETWORK if network else self.lib.PRI_CPE, switchtype)
        if self.pri == self.ffi.NULL:
            raise RuntimeError("pri_new failed")
        self.lib.pri_set_service_message_support(self.pri, 1)
        # names travel as display text on every switch type (libpri's default blocks some)
        self.lib.pri_display_options_send(self.pri, 1 << 1)
        self.lib.pri_display_options_receive(self.pri, 1 << 1)
        if overlap:
            self.lib.pri_set_overlapdial(self.pri, 1)
        for name, ms in (timers or {}).items():
            self.lib.pri_set_timer(self.pri, self.lib.pri_timer2idx(name.encode()), int(ms))
        self.calls = {}  # cref -> q931_call*

    def next_timeout(self, now_wall):
        """Return seconds until libpri's next timer (None if none), given the wall clock now."""
        tv = self.lib.pri_schedule_next(self.pri)
        if tv == self.ffi.NULL:
            return None
        return max(0.0, tv.tv_sec + tv.tv_usec / 1e6 - now_wall)

    def check(self):
        """Read one frame from the fd (it must be readable); returns events."""
        return self._event(self.lib.pri_check_event(self.pri))

    def run_timers(self):
        """Run expired libpri timers; returns events."""
        return self._event(self.lib.pri_schedule_run(self.pri))

    def _event(self, ev):
        if ev == self.ffi.NULL:
            return []
        e = ev.e
        out = {"event": EVENT_NAMES.get(e, str(e))}
        ffi = self.ffi
        if e == 5:
            r = ev.ring
            out.update(channel=r.channel & 0xFF, called=ffi.string(r.callednum).decode(),
                       calling=ffi.string(r.callingnum).decode(), name=ffi.string(r.callingname).decode(),
                       complete=r.complete, flexible=r.flexible, call=r.call, presentation=r.callingpres,
                       layer1=r.layer1)
        elif e in (6, 9, 15):
            out.update(channel=ev.hangup.channel & 0xFF, cause=ev.hangup.cause, call=ev.hangup.call)
        elif e == 7:
            out.update(channel=ev.ringing.channel & 0xFF, call=ev.ringing.call)
        elif e == 8:
            out.update(channel=ev.answer.channel & 0xFF, call=ev.answer.call)
        elif e in (13, 17):
            out.update(channel=ev.proceeding.channel & 0xFF, call=ev.proceeding.call, progress=ev.proceeding.progress)
        elif e == 14:
            out.update(channel=ev.setup_ack.channel & 0xFF, call=ev.setup_ack.call)
        elif e in (3, 10):
            ch = ev.restart.channel
            out.update(channel=None if ch == -1 else ch & 0xFF)
        elif e == 12:  # INFO_RECEIVED reuses the ring view: the digits are in callednum
            out.update(digits=ffi.string(ev.ring.callednum).decode(), call=ev.ring.call)
        elif e == 18:
            out.update(digits=ffi.string(ev.digit.digits).decode(), call=ev.digit.call)
        elif e in (19, 20):
            out.update(channel=ev.service.channel & 0xFF, status=ev.service.changestatus)
        elif e == 11:
            out.update(name=ffi.string(ev.facility.callingname).decode(), call=ev.facility.call)
        return [out]

    # --- call control (thin wrappers; channel is the B-channel number) ---
    def setup(self, called, calling="", name="", channel=1, exclusive=True, layer1=0x23, complete=True):
        """Place a call; returns the q931_call pointer."""
        lib = self.lib
        call = lib.pri_new_call(self.pri)
        sr = lib.pri_sr_new()
        lib.pri_sr_set_channel(sr, channel, 1 if exclusive else 0, 0)
        lib.pri_sr_set_bearer(sr, 0, layer1)
        self._keep = [self.ffi.new("char[]", called.encode()), self.ffi.new("char[]", calling.encode()),
                      self.ffi.new("char[]", name.encode())]
        lib.pri_sr_set_called(sr, self._keep[0], 0, 1 if complete else 0)
        lib.pri_sr_set_caller(sr, self._keep[1], self._keep[2] if name else self.ffi.NULL, 0, 0)
        rc = lib.pri_setup(self.pri, call, sr)
        lib.pri_sr_free(sr)
        if rc:
            raise RuntimeError(f"pri_setup failed ({rc})")
        return call

    def proceeding(self, call, channel):
        return self.lib.pri_proceeding(self.pri, call, channel, 0)

    def need_more_info(self, call, channel):
        return self.lib.pri_need_more_info(self.pri, call, channel, 0)

    def alerting(self, call, channel, inband=False):
        return self.lib.pri_acknowledge(self.pri, call, channel, 1 if inband else 0)

    def answer(self, call, channel):
        return self.lib.pri_answer(self.pri, call, channel, 0)

    def hangup(self, call, cause=16):
        return self.lib.pri_hangup(self.pri, call, cause)

    def information(self, call, digits):
        for d in digits:
            self.lib.pri_information(self.pri, call, d.encode())

    def restart(self):
        return self.lib.pri_restart(self.pri)

    def reset(self, channel):
        return self.lib.pri_reset(self.pri, channel)

    def service(self, channel, status):
        return self.lib.pri_maintenance_service(self.pri, 0, channel, status)
