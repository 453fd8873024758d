"""spandsp 0.0.6 (Debian libspandsp-dev) as a test peer and DSP yardstick, through cffi API mode.

Batch loops are C so a benchmark measures spandsp's kernels, not Python call overhead.
"""
import hashlib

import cffi
import numpy as np

from peers import compile_peer

HEADERS = ("/usr/include/spandsp.h", "/usr/include/x86_64-linux-gnu/spandsp.h", "/usr/include/aarch64-linux-gnu/spandsp.h")

_CDEF = """
typedef struct dtmf_rx_state_s dtmf_rx_state_t;
typedef struct dtmf_tx_state_s dtmf_tx_state_t;
typedef struct adsi_tx_state_s adsi_tx_state_t;
typedef struct adsi_rx_state_s adsi_rx_state_t;
typedef void (*put_msg_func_t)(void *user_data, const uint8_t *msg, int len);

dtmf_tx_state_t *dtmf_tx_init(dtmf_tx_state_t *s);
int dtmf_tx_free(dtmf_tx_state_t *s);
int dtmf_tx_put(dtmf_tx_state_t *s, const char *digits, int len);
void dtmf_tx_set_level(dtmf_tx_state_t *s, int level, int twist);
void dtmf_tx_set_timing(dtmf_tx_state_t *s, int on_time, int off_time);
int dtmf_tx(dtmf_tx_state_t *s, int16_t amp[], int max_samples);
void dtmf_rx_parms(dtmf_rx_state_t *s, int filter_dialtone, int twist, int reverse_twist, int threshold);

adsi_tx_state_t *adsi_tx_init(adsi_tx_state_t *s, int standard);
int adsi_tx_free(adsi_tx_state_t *s);
void adsi_tx_set_preamble(adsi_tx_state_t *s, int preamble_len, int preamble_ones_len, int postamble_ones_len, int stop_bits);
int adsi_tx(adsi_tx_state_t *s, int16_t amp[], int max_len);
void adsi_tx_send_alert_tone(adsi_tx_state_t *s);
int adsi_tx_put_message(adsi_tx_state_t *s, const uint8_t *msg, int len);
int adsi_add_field(adsi_tx_state_t *s, uint8_t *msg, int len, uint8_t field_type, uint8_t const *field_body, int field_len);
adsi_rx_state_t *adsi_rx_init(adsi_rx_state_t *s, int standard, put_msg_func_t put_msg, void *user_data);
int adsi_rx_free(adsi_rx_state_t *s);
int adsi_rx(adsi_rx_state_t *s, const int16_t amp[], int len);

/* helpers defined in the source below */
typedef struct { dtmf_rx_state_t *s; int n; char codes[4096]; long long at[4096]; long long sample; } peer_dtmf_t;
peer_dtmf_t *peer_dtmf_new(void);
void peer_dtmf_free(peer_dtmf_t *p);
void peer_dtmf_batch(peer_dtmf_t **ps, int channels, const int16_t *amp, int samples);
void peer_ulaw_encode(const int16_t *in, uint8_t *out, long n);
void peer_alaw_encode(const int16_t *in, uint8_t *out, long n);
void peer_ulaw_decode(const uint8_t *in, int16_t *out, long n);
void peer_alaw_decode(const uint8_t *in, int16_t *out, long n);
typedef struct { int n; int len[64]; uint8_t msg[64][256]; } peer_msgs_t;
adsi_rx_state_t *peer_adsi_rx_new(int standard, peer_msgs_t *sink);

/* line echo canceller (echo.h) */
typedef struct echo_can_state_s echo_can_state_t;
echo_can_state_t *echo_can_init(int len, int adaption_mode);
int echo_can_free(echo_can_state_t *ec);
void echo_can_flush(echo_can_state_t *ec);
int16_t echo_can_update(echo_can_state_t *ec, int16_t tx, int16_t rx);
void peer_echo_batch(echo_can_state_t **ecs, int channels, const int16_t *far, const int16_t *near, int16_t *out,
                     int samples);
"""

_SOURCE = """
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <spandsp.h>

typedef struct { dtmf_rx_state_t *s; int n; char codes[4096]; long long at[4096]; long long sample; } peer_dtmf_t;

/* realtime callback: code 0 marks the end of a digit; 'at' is the block's first sample */
static void peer_dtmf_cb(void *user, int code, int level, int delay)
{
    peer_dtmf_t *p = (peer_dtmf_t *) user;
    if (p->n < 4096) {
        p->codes[p->n] = (char) code;
        p->at[p->n] = p->sample;
        p->n++;
    }
}

peer_dtmf_t *peer_dtmf_new(void)
{
    peer_dtmf_t *p = calloc(1, sizeof(*p));
    p->s = dtmf_rx_init(NULL, NULL, NULL);
    dtmf_rx_set_realtime_callback(p->s, peer_dtmf_cb, p);
    return p;
}

void peer_dtmf_free(peer_dtmf_t *p)
{
    dtmf_rx_free(p->s);
    free(p);
}

void peer_dtmf_batch(peer_dtmf_t **ps, int channels, const int16_t *amp, int samples)
{
    for (int c = 0; c < channels; c++) {
        dtmf_rx(ps[c]->s, amp + (long) c * samples, samples);
        ps[c]->sample += samples;
    }
}

void peer_ulaw_encode(const int16_t *in, uint8_t *out, long n) { for (long i = 0; i < n; i++) out[i] = linear_to_ulaw(in[i]); }
void peer_alaw_encode(const int16_t *in, uint8_t *out, long n) { for (long i = 0; i < n; i++) out[i] = linear_to_alaw(in[i]); }
void peer_ulaw_decode(const uint8_t *in, int16_t *out, long n) { for (long i = 0; i < n; i++) out[i] = ulaw_to_linear(in[i]); }
void peer_alaw_decode(const uint8_t *in, int16_t *out, long n) { for (long i = 0; i < n; i++) out[i] = alaw_to_linear(in[i]); }

typedef struct { int n; int len[64]; uint8_t msg[64][256]; } peer_msgs_t;

static void peer_put_msg(void *user, const uint8_t *msg, int len)
{
    peer_msgs_t *m = (peer_msgs_t *) user;
    if (len < 0 || m->n >= 64) return;
    if (len > 256) len = 256;
    memcpy(m->msg[m->n], msg, len);
    m->len[m->n] = len;
    m->n++;
}

adsi_rx_state_t *peer_adsi_rx_new(int standard, peer_msgs_t *sink)
{
    return adsi_rx_init(NULL, standard, peer_put_msg, sink);
}

void peer_echo_run(echo_can_state_t **ecs, int channels, const int16_t *far, const int16_t *near, int16_t *out,
                   int samples);

/* One (channels x samples) block through one canceller per channel: tx is what we sent (far end), rx what came
 * back (near end); echo_can_update returns rx with the echo removed. Debian's 0.0.6 build printf()s debug lines
 * for every sample, so stdout goes to /dev/null for the duration (the formatting cost stays in its time). */
void peer_echo_batch(echo_can_state_t **ecs, int channels, const int16_t *far, const int16_t *near, int16_t *out,
                     int samples)
{
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    close(null);
    peer_echo_run(ecs, channels, far, near, out, samples);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
}

void peer_echo_run(echo_can_state_t **ecs, int channels, const int16_t *far, const int16_t *near, int16_t *out,
                   int samples)
{
    for (int c = 0; c < channels; c++) {
        const int16_t *x = far + (long) c * samples, *y = near + (long) c * samples;
        int16_t *e = out + (long) c * samples;
        for (int i = 0; i < samples; i++)
            e[i] = echo_can_update(ecs[c], x[i], y[i]);
    }
}
"""

ECHO_CAN_USE_ADAPTION = 0x01
ECHO_CAN_USE_NLP = 0x02
ECHO_CAN_USE_CNG = 0x04
ECHO_CAN_USE_CLIP = 0x08
ECHO_CAN_USE_TX_HPF = 0x20
ECHO_CAN_USE_RX_HPF = 0x40
# What a telephony stack typically asks of it: adapt, NLP with comfort noise, high-pass on the received side.
ECHO_CAN_DEFAULT = ECHO_CAN_USE_ADAPTION | ECHO_CAN_USE_NLP | ECHO_CAN_USE_CNG | ECHO_CAN_USE_RX_HPF

ADSI_STANDARD_CLASS = 1
ADSI_STANDARD_CLIP = 2
ADSI_STANDARD_ACLIP = 3
ADSI_STANDARD_JCLIP = 4
ADSI_STANDARD_CLIP_DTMF = 5


_MODULE = None


def load():
    """Return the compiled cffi module (``.ffi``, ``.lib``); raises peers.PeerUnavailable."""
    global _MODULE
    if _MODULE is not None:
        return _MODULE
    # The module name carries a hash of the C text so an edit here builds afresh instead of loading a stale build.
    name = "_peer_spandsp_" + hashlib.sha1((_CDEF + _SOURCE).encode()).hexdigest()[:10]
    ffibuilder = cffi.FFI()
    ffibuilder.cdef(_CDEF)
    ffibuilder.set_source(name, _SOURCE, libraries=["spandsp", "tiff", "m"])
    _MODULE = compile_peer(ffibuilder, name, HEADERS)
    return _MODULE


def _ptr(mod, ctype, arr):
    return mod.ffi.cast(ctype, arr.ctypes.data)


def g711_encode(samples, law="ulaw"):
    """Return spandsp's G.711 codes (uint8) for int16 samples."""
    mod = load()
    x = np.ascontiguousarray(samples, dtype=np.int16)
    out = np.empty(x.shape, dtype=np.uint8)
    fn = mod.lib.peer_ulaw_encode if law == "ulaw" else mod.lib.peer_alaw_encode
    fn(_ptr(mod, "int16_t *", x), _ptr(mod, "uint8_t *", out), x.size)
    return out


def g711_decode(codes, law="ulaw"):
    """Return spandsp's linear decode (int16) of G.711 codes."""
    mod = load()
    x = np.ascontiguousarray(codes, dtype=np.uint8)
    out = np.empty(x.shape, dtype=np.int16)
    fn = mod.lib.peer_ulaw_decode if law == "ulaw" else mod.lib.peer_alaw_decode
    fn(_ptr(mod, "uint8_t *", x), _ptr(mod, "int16_t *", out), x.size)
    return out


class DtmfReceiver:
    """spandsp DTMF receivers for many channels; ``process(batch)`` feeds one tick."""

    def __init__(self, channels, filter_dialtone=-1, twist=-1, reverse_twist=-1, threshold=-99):
        self.mod = load()
        lib, ffi = self.mod.lib, self.mod.ffi
        self._states = [ffi.gc(lib.peer_dtmf_new(), lib.peer_dtmf_free) for _ in range(channels)]
        for s in self._states:
            lib.dtmf_rx_parms(s.s, filter_dialtone, twist, reverse_twist, threshold)
        self._array = ffi.new("peer_dtmf_t *[]", self._states)

    def process(self, batch):
        """Feed one (channels, samples) int16 block to every receiver."""
        batch = np.ascontiguousarray(batch, dtype=np.int16)
        if batch.ndim == 1:
            batch = batch.reshape(1, -1)
        self.mod.lib.peer_dtmf_batch(self._array, batch.shape[0], _ptr(self.mod, "int16_t *", batch), batch.shape[1])

    def digits(self, channel=0):
        """Return the digits detected so far on a channel (starts only), as a string."""
        s = self._states[channel]
        return "".join(s.codes[i].decode("latin-1") for i in range(s.n) if s.codes[i] != b"\0")

    def digit_spans(self, channel=0):
        """Return [(digit, start, end)] of a channel, in samples to within a tick (start backed off by 2 blocks)."""
        s, out, on = self._states[channel], [], None
        for i in range(s.n):
            code = s.codes[i].decode("latin-1")
            if code != "\0":
                on = (code, max(0, s.at[i] - 204))  # reported about two 102-sample blocks after the onset
            elif on is not None:
                out.append((on[0], on[1], s.at[i]))
                on = None
        if on is not None:
            out.append((on[0], on[1], s.sample))
        return out


def dtmf_generate(digits, level=-10, twist=0, on_ms=50, off_ms=55):
    """Return int16 samples of spandsp's DTMF generator for the digits."""
    mod = load()
    lib, ffi = mod.lib, mod.ffi
    s = ffi.gc(lib.dtmf_tx_init(ffi.NULL), lib.dtmf_tx_free)
    lib.dtmf_tx_set_level(s, level, twist)
    lib.dtmf_tx_set_timing(s, on_ms, off_ms)
    lib.dtmf_tx_put(s, digits.encode(), len(digits))
    chunks = []
    buf = ffi.new("int16_t[]", 160)
    while True:
        n = lib.dtmf_tx(s, buf, 160)
        if n <= 0:
            break
        chunks.append(np.frombuffer(ffi.buffer(buf, 2 * n), dtype=np.int16).copy())
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def adsi_transmit(message, standard=ADSI_STANDARD_CLASS, alert=False):
    """Return int16 samples of spandsp's ADSI transmitter sending one complete message (bytes)."""
    mod = load()
    lib, ffi = mod.lib, mod.ffi
    s = ffi.gc(lib.adsi_tx_init(ffi.NULL, standard), lib.adsi_tx_free)
    if alert:
        lib.adsi_tx_send_alert_tone(s)
    lib.adsi_tx_put_message(s, message, len(message))
    chunks = []
    buf = ffi.new("int16_t[]", 160)
    idle = 0
    while idle < 5:
        n = lib.adsi_tx(s, buf, 160)
        chunks.append(np.frombuffer(ffi.buffer(buf, 2 * n), dtype=np.int16).copy())
        idle = idle + 1 if n < 160 or not np.any(chunks[-1]) else 0
    return np.concatenate(chunks)


def adsi_receive(samples, standard=ADSI_STANDARD_CLASS):
    """Return the list of messages (bytes) spandsp's ADSI receiver decodes from int16 samples."""
    mod = load()
    lib, ffi = mod.lib, mod.ffi
    sink = ffi.new("peer_msgs_t *")
    s = ffi.gc(lib.peer_adsi_rx_new(standard, sink), lib.adsi_rx_free)
    x = np.ascontiguousarray(samples, dtype=np.int16)
    lib.adsi_rx(s, _ptr(mod, "int16_t *", x), x.size)
    return [bytes(ffi.buffer(sink.msg[i], sink.len[i])) for i in range(sink.n)]


class EchoCanceller:
    """spandsp line echo cancellers for many channels; ``process(far, near)`` returns near with echo removed."""

    def __init__(self, channels, tail_ms=64, mode=ECHO_CAN_DEFAULT):
        self.mod = load()
        lib, ffi = self.mod.lib, self.mod.ffi
        self.channels = channels
        self._states = [ffi.gc(lib.echo_can_init(tail_ms * 8, mode), lib.echo_can_free) for _ in range(channels)]
        self._array = ffi.new("echo_can_state_t *[]", self._states)

    def process(self, far, near):
        """Return the int16 (channels, samples) output for one block of far (sent) and near (received) audio."""
        far = np.ascontiguousarray(far, dtype=np.int16).reshape(self.channels, -1)
        near = np.ascontiguousarray(near, dtype=np.int16).reshape(self.channels, -1)
        out = np.empty_like(near)
        self.mod.lib.peer_echo_batch(self._array, self.channels, _ptr(self.mod, "int16_t *", far),
                                     _ptr(self.mod, "int16_t *", near), _ptr(self.mod, "int16_t *", out),
                                     near.shape[1])
        return out
