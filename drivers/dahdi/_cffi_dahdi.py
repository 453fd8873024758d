"""cffi API-mode builder for the DAHDI backend: ioctl numbers and struct layouts from <dahdi/user.h>.

Nothing here is a hand-copied number or offset: every ioctl request and every struct field
offset below is computed by the C compiler from the installed header (Debian dahdi-dkms /
dahdi-linux), so a header change is picked up by a rebuild.
"""
import glob
import os

MODULE = "pycallcenter.drivers.dahdi._dahdi_cffi"
HEADER_CANDIDATES = (["/usr/include/dahdi/user.h"]
                     + sorted(glob.glob("/usr/src/dahdi-*/include/dahdi/user.h"), reverse=True))

# ioctl requests the backend (and the fake kernel) speak.
IOCTLS = [
    "DAHDI_SPECIFY", "DAHDI_SET_BLOCKSIZE", "DAHDI_GET_BLOCKSIZE", "DAHDI_SET_BUFINFO", "DAHDI_GET_BUFINFO",
    "DAHDI_GET_PARAMS", "DAHDI_GETEVENT", "DAHDI_HOOK", "DAHDI_DIAL", "DAHDI_SPANSTAT",
    "DAHDI_ECHOCANCEL_PARAMS", "DAHDI_SETLAW", "DAHDI_SETLINEAR", "DAHDI_GETGAINS", "DAHDI_SETGAINS",
    "DAHDI_FLUSH", "DAHDI_SETPOLARITY", "DAHDI_CHANNO", "DAHDI_DIALING", "DAHDI_GETVERSION", "DAHDI_MAINT",
]

# Plain integer constants (events, alarms, signalling types, hook states, laws...).
CONSTANTS = """
DAHDI_EVENT_NONE DAHDI_EVENT_ONHOOK DAHDI_EVENT_RINGOFFHOOK DAHDI_EVENT_WINKFLASH DAHDI_EVENT_ALARM
DAHDI_EVENT_NOALARM DAHDI_EVENT_ABORT DAHDI_EVENT_OVERRUN DAHDI_EVENT_BADFCS DAHDI_EVENT_DIALCOMPLETE
DAHDI_EVENT_RINGERON DAHDI_EVENT_RINGEROFF DAHDI_EVENT_HOOKCOMPLETE DAHDI_EVENT_POLARITY DAHDI_EVENT_RINGBEGIN
DAHDI_EVENT_REMOVED DAHDI_EVENT_READ_OVERRUN DAHDI_EVENT_WRITE_UNDERRUN
DAHDI_EVENT_PULSEDIGIT DAHDI_EVENT_DTMFDOWN DAHDI_EVENT_DTMFUP
DAHDI_ALARM_NONE DAHDI_ALARM_RECOVER DAHDI_ALARM_LOOPBACK DAHDI_ALARM_YELLOW DAHDI_ALARM_RED DAHDI_ALARM_BLUE
DAHDI_ALARM_NOTOPEN DAHDI_ALARM_LOS DAHDI_ALARM_LFA DAHDI_ALARM_LMFA
DAHDI_SIG_NONE DAHDI_SIG_FXSLS DAHDI_SIG_FXSGS DAHDI_SIG_FXSKS DAHDI_SIG_FXOLS DAHDI_SIG_FXOGS DAHDI_SIG_FXOKS
DAHDI_SIG_EM DAHDI_SIG_CLEAR DAHDI_SIG_HDLCRAW DAHDI_SIG_HDLCFCS DAHDI_SIG_HDLCNET DAHDI_SIG_HARDHDLC
DAHDI_SIG_MTP2 DAHDI_SIG_CAS
DAHDI_ONHOOK DAHDI_OFFHOOK DAHDI_WINK DAHDI_FLASH DAHDI_START DAHDI_RING DAHDI_RINGOFF
DAHDI_LAW_DEFAULT DAHDI_LAW_MULAW DAHDI_LAW_ALAW
DAHDI_DIAL_OP_APPEND DAHDI_DIAL_OP_REPLACE DAHDI_DIAL_OP_CANCEL
DAHDI_POLICY_IMMEDIATE DAHDI_POLICY_WHEN_FULL DAHDI_POLICY_HALF_FULL
DAHDI_FLUSH_READ DAHDI_FLUSH_WRITE DAHDI_FLUSH_BOTH DAHDI_FLUSH_EVENT DAHDI_FLUSH_ALL
DAHDI_MAX_DTMF_BUF DAHDI_MAX_ECHOCANPARAMS DAHDI_MAX_BLOCKSIZE DAHDI_MAX_SPANS DAHDI_MAX_CHANNELS
DAHDI_MAINT_NONE DAHDI_MAINT_LOCALLOOP DAHDI_MAINT_REMOTELOOP DAHDI_MAINT_ALARM_SIM DAHDI_RESET_COUNTERS
ELAST
""".split()

CDEF = """
struct dahdi_params {
    int channo; int spanno; int chanpos; int sigtype; int sigcap; int rxisoffhook; int rxbits; int txbits;
    int txhooksig; int rxhooksig; int curlaw; int idlebits; char name[40];
    int prewinktime; int preflashtime; int winktime; int flashtime; int starttime; int rxwinktime;
    int rxflashtime; int debouncetime; int pulsebreaktime; int pulsemaketime; int pulseaftertime;
    uint32_t chan_alarms;
    ...;
};
struct dahdi_spaninfo {
    int spanno; char name[20]; char desc[40]; int alarms; int txlevel; int rxlevel;
    int bpvcount; int crc4count; int ebitcount; int fascount;
    uint32_t fecount; uint32_t cvcount; uint32_t becount; uint32_t prbs; uint32_t errsec;
    int irqmisses; int syncsrc; int numchans; int totalchans; int totalspans; int lbo; int lineconfig;
    char lboname[40]; char location[40]; char manufacturer[40]; char devicetype[40];
    int irq; int linecompat; char spantype[6];
    ...;
};
struct dahdi_bufferinfo {
    int txbufpolicy; int rxbufpolicy; int numbufs; int bufsize; int readbufs; int writebufs;
    ...;
};
struct dahdi_dialoperation { int op; char dialstr[256]; ...; };
struct dahdi_gains { int chan; unsigned char rxgain[256]; unsigned char txgain[256]; ...; };
struct dahdi_echocanparam { char name[16]; int32_t value; ...; };
struct dahdi_echocanparams { uint32_t tap_length; uint32_t param_count; ...; };
struct dahdi_versioninfo { char version[80]; char echo_canceller[80]; ...; };
struct dahdi_maintinfo { int spanno; int command; ...; };
"""


def _find_header():
    for path in HEADER_CANDIDATES:
        if os.path.exists(path):
            return path
    return None


HEADER = _find_header()
if HEADER is None:
    ffibuilder = None
    MISSING = ("<dahdi/user.h> not found (looked in /usr/include/dahdi and /usr/src/dahdi-*/include/dahdi); "
               "install the Debian package dahdi-linux or dahdi-dkms")
else:
    import cffi

    ffibuilder = cffi.FFI()
    ffibuilder.cdef(CDEF + "".join(f"#define {name} ...\n" for name in IOCTLS + CONSTANTS))
    ffibuilder.set_source(
        MODULE,
        "#include <sys/ioctl.h>\n#include <dahdi/user.h>\n",
        include_dirs=[os.path.dirname(os.path.dirname(HEADER))],
    )
    MISSING = None

if __name__ == "__main__":
    if ffibuilder is None:
        raise SystemExit(MISSING)
    ffibuilder.compile(verbose=True)
