"""cffi API-mode builder for the fax binding to libspandsp (Debian libspandsp-dev 0.0.6).

API mode means the compiler reads the installed <spandsp.h>: t30_stats_t and friends changed layout
between spandsp releases, so nothing here is a hand-copied offset (fields are declared with ``...;``).
Callbacks from T.30 (phase B, D, E) and from the connect-tone detector are ``extern "Python"``.
"""
import glob
import os

MODULE = "pycallcenter.fax._spandsp"
HEADER_CANDIDATES = (
    ["/usr/include/spandsp.h", "/usr/local/include/spandsp.h"]
    + sorted(glob.glob("/usr/include/*-linux-gnu*/spandsp.h"))
)

CDEF = """
typedef struct fax_state_s fax_state_t;
typedef struct t30_state_s t30_state_t;
typedef struct modem_connect_tones_rx_state_s modem_connect_tones_rx_state_t;
typedef struct logging_state_s logging_state_t;
typedef void (*tone_report_func_t)(void *user_data, int code, int level, int delay);
typedef int (t30_phase_b_handler_t)(t30_state_t *s, void *user_data, int result);
typedef int (t30_phase_d_handler_t)(t30_state_t *s, void *user_data, int result);
typedef void (t30_phase_e_handler_t)(t30_state_t *s, void *user_data, int completion_code);

typedef struct {
    int bit_rate; int error_correcting_mode; int pages_tx; int pages_rx; int pages_in_file;
    int x_resolution; int y_resolution; int width; int length; int image_size; int encoding;
    int bad_rows; int longest_bad_row_run; int error_correcting_mode_retries; int current_status;
    ...;
} t30_stats_t;

#define T30_SUPPORT_V27TER ...
#define T30_SUPPORT_V29 ...
#define T30_SUPPORT_V17 ...
#define T30_SUPPORT_T4_1D_COMPRESSION ...
#define T30_SUPPORT_T4_2D_COMPRESSION ...
#define T30_SUPPORT_T6_COMPRESSION ...
#define T30_ERR_OK ...
#define T30_ERR_CALLDROPPED ...
#define T30_ERR_FILEERROR ...
#define MODEM_CONNECT_TONES_FAX_CNG ...
#define MODEM_CONNECT_TONES_FAX_CED ...
#define MODEM_CONNECT_TONES_FAX_PREAMBLE ...
#define MODEM_CONNECT_TONES_FAX_CED_OR_PREAMBLE ...
#define SPAN_LOG_NONE ...
#define SPAN_LOG_FLOW ...
#define SPAN_LOG_SHOW_SEVERITY ...

fax_state_t *fax_init(fax_state_t *s, int calling_party);
int fax_free(fax_state_t *s);
int fax_rx(fax_state_t *s, int16_t *amp, int len);
int fax_tx(fax_state_t *s, int16_t *amp, int max_len);
void fax_set_transmit_on_idle(fax_state_t *s, int transmit_on_idle);
t30_state_t *fax_get_t30_state(fax_state_t *s);
logging_state_t *fax_get_logging_state(fax_state_t *s);
int span_log_set_level(logging_state_t *s, int level);

int t30_set_tx_ident(t30_state_t *s, const char *id);
const char *t30_get_rx_ident(t30_state_t *s);
int t30_set_tx_page_header_info(t30_state_t *s, const char *info);
void t30_set_rx_file(t30_state_t *s, const char *file, int stop_page);
void t30_set_tx_file(t30_state_t *s, const char *file, int start_page, int stop_page);
int t30_set_ecm_capability(t30_state_t *s, int enabled);
int t30_set_supported_modems(t30_state_t *s, int supported_modems);
int t30_set_supported_compressions(t30_state_t *s, int supported_compressions);
void t30_set_phase_b_handler(t30_state_t *s, t30_phase_b_handler_t *handler, void *user_data);
void t30_set_phase_d_handler(t30_state_t *s, t30_phase_d_handler_t *handler, void *user_data);
void t30_set_phase_e_handler(t30_state_t *s, t30_phase_e_handler_t *handler, void *user_data);
void t30_get_transfer_statistics(t30_state_t *s, t30_stats_t *t);
const char *t30_completion_code_to_str(int result);
int t30_call_active(t30_state_t *s);
void t30_terminate(t30_state_t *s);

modem_connect_tones_rx_state_t *modem_connect_tones_rx_init(modem_connect_tones_rx_state_t *s, int tone_type,
                                                            tone_report_func_t tone_callback, void *user_data);
int modem_connect_tones_rx(modem_connect_tones_rx_state_t *s, const int16_t amp[], int len);
int modem_connect_tones_rx_get(modem_connect_tones_rx_state_t *s);
int modem_connect_tones_rx_free(modem_connect_tones_rx_state_t *s);

extern "Python" int pycc_fax_phase_b(t30_state_t *s, void *user_data, int result);
extern "Python" int pycc_fax_phase_d(t30_state_t *s, void *user_data, int result);
extern "Python" void pycc_fax_phase_e(t30_state_t *s, void *user_data, int completion_code);
"""


def _header():
    for path in HEADER_CANDIDATES:
        if os.path.exists(path):
            return path
    return None


_HEADER = _header()
if _HEADER is None:
    ffibuilder = None
    MISSING = "spandsp.h not found (install the Debian package libspandsp-dev)"
else:
    import cffi

    ffibuilder = cffi.FFI()
    ffibuilder.cdef(CDEF)
    ffibuilder.set_source(
        MODULE,
        "#include <spandsp.h>\n",
        include_dirs=[os.path.dirname(_HEADER)],
        libraries=["spandsp", "tiff", "m"],
    )
