/* G.711 kernels.
 *
 * The quantisation rules are written out in encode_ulaw() and friends (mirrored in
 * pycallcenter/dsp/reference/g711.py). Decoding and transcoding are a single load per sample from 256-entry
 * tables built once from them. Encoding computes each code without a table or a branch (ulaw_code(),
 * alaw_code(): the segment and mantissa read from a float's exponent and mantissa bits), so the loops
 * vectorise, 8 samples a step with AVX2: a load per sample from a 64K-entry table did not, and cost about
 * 1.5x more (bench/bench_g711.py). encode_ulaw() and encode_alaw() build the transcoding tables; the
 * G.191 vectors test the vectorised encoders on all 65,536 inputs.
 */
#include <math.h>
#include <string.h>

#include "pycc_g711.h"

static int16_t dec_tab[2][256];
static uint8_t trans_tab[2][256]; /* [to_law][code of the other law] */
static int ready;

/* Index of the highest set bit of v > 0. */
static int top_bit(unsigned v)
{
    int n = -1;
    while (v) {
        v >>= 1;
        n++;
    }
    return n;
}

/* G.191 quantises negative inputs by their one's complement, so -1 and 0 share a magnitude. */
static unsigned magnitude(int x)
{
    return (unsigned) (x < 0 ? ~x : x);
}

/* mu-law: 14-bit magnitude plus a bias of 33 puts each segment's start on a power of two. */
static uint8_t encode_ulaw(int x)
{
    unsigned biased = (magnitude(x) >> 2) + 33;
    if (biased > 0x1FFF)
        biased = 0x1FFF;
    int seg = top_bit(biased) - 5;
    unsigned mant = (biased >> (seg + 1)) & 0x0F;
    uint8_t code = (uint8_t) (0x7F ^ ((seg << 4) | mant)); /* mu-law sends magnitude bits inverted */
    return x >= 0 ? (uint8_t) (code | 0x80) : code;
}

/* A-law: 12-bit magnitude; segment 0 is linear with the same step as segment 1. */
static uint8_t encode_alaw(int x)
{
    unsigned m = magnitude(x) >> 4;
    unsigned code;
    if (m < 16) {
        code = m;
    } else {
        int seg = top_bit(m) - 3;
        code = ((unsigned) seg << 4) | ((m >> (seg - 1)) & 0x0F);
    }
    if (x >= 0)
        code |= 0x80;
    return (uint8_t) (code ^ 0x55); /* even bits inverted on the line */
}

/* Decoder output is the middle of the code's quantisation interval. */
static int16_t decode_ulaw(uint8_t code)
{
    unsigned c = (uint8_t) ~code;
    int seg = (c >> 4) & 7;
    int mag = 4 * ((int) ((2 * (c & 0x0F) + 33) << seg) - 33);
    return (int16_t) ((c & 0x80) ? -mag : mag);
}

static int16_t decode_alaw(uint8_t code)
{
    unsigned c = code ^ 0x55u;
    int seg = (c >> 4) & 7;
    int mant = c & 0x0F;
    int mag = seg == 0 ? 16 * mant + 8 : (16 * (mant + 16) + 8) << (seg - 1);
    return (int16_t) ((c & 0x80) ? mag : -mag);
}

/* G.711 Tables 3 and 4 compare the two laws on a common level scale: A-law's 4096 units are
 * +3.14 dBm0 and mu-law's 8159 units +3.17 dBm0, while G.191's 16-bit scaling treats one A-law
 * unit as two mu-law units.  A code converts to the target code whose decision interval holds
 * the source's decoder output, brought to the target's scale. */
static double ulaw_to_alaw_scale(void)
{
    return (2.0 * 4096.0 / 8159.0) * pow(10.0, (3.17 - 3.14) / 20.0);
}

static uint8_t transcode(int to_law, uint8_t code)
{
    double scale = ulaw_to_alaw_scale();
    int16_t v = to_law == PYCC_G711_ALAW ? decode_ulaw(code) : decode_alaw(code);
    double target = to_law == PYCC_G711_ALAW ? v * scale : v / scale;
    /* the 16-bit decision values are integers and no scaled output lies within 0.1 of one,
     * so the floor of the magnitude lands in the right interval */
    double mag = fabs(target);
    int q = (int) floor(mag);
    if (q > 32767)
        q = 32767;
    uint8_t out = to_law == PYCC_G711_ALAW ? encode_alaw(q) : encode_ulaw(q);
    return (v < 0 || (v == 0 && (code & 0x80) == 0)) ? (uint8_t) (out & 0x7F) : out;
}

void pycc_g711_init(void)
{
    if (ready)
        return;
    for (int c = 0; c < 256; c++) {
        dec_tab[PYCC_G711_ULAW][c] = decode_ulaw((uint8_t) c);
        dec_tab[PYCC_G711_ALAW][c] = decode_alaw((uint8_t) c);
    }
    for (int c = 0; c < 256; c++) {
        trans_tab[PYCC_G711_ULAW][c] = transcode(PYCC_G711_ULAW, (uint8_t) c);
        trans_tab[PYCC_G711_ALAW][c] = transcode(PYCC_G711_ALAW, (uint8_t) c);
    }
    ready = 1;
}

void pycc_g711_decode(int law, const uint8_t *restrict in, int16_t *restrict out, size_t n)
{
    const int16_t *restrict tab = dec_tab[law];
    for (size_t i = 0; i < n; i++)
        out[i] = tab[in[i]];
}

void pycc_g711_transcode(int to_law, const uint8_t *restrict in, uint8_t *restrict out, size_t n)
{
    const uint8_t *restrict tab = trans_tab[to_law];
    for (size_t i = 0; i < n; i++)
        out[i] = tab[in[i]];
}

/* The mix's send loops: on x86-64 also built for AVX2 (8 samples a step), picked at load time. */
#if defined(__x86_64__) && defined(__GNUC__)
#define MIX_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MIX_CLONES
#endif

/* The bits of a float holding m >= 0 (for m > 0: its exponent is 127 + m's top bit, and the 4 mantissa bits after the
 * exponent (bits 19-22) are the 4 bits of m after the top bit). Exact for m < 2^24. */
static inline uint32_t float_bits(int32_t m)
{
    float f = (float) m;
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* encode_ulaw() without branches or a table, so that a loop of it vectorises: bits 19-30 of the float of the
 * biased magnitude are (exponent << 4) | mantissa, i.e. ((seg + 5 + 127) << 4) | mant. */
static inline uint8_t ulaw_code(int32_t x)
{
    int32_t biased = ((x ^ (x >> 31)) >> 2) + 33; /* x ^ (x >> 31): the one's complement of a negative x */
    biased = biased > 0x1FFF ? 0x1FFF : biased;
    int32_t code = 0x7F ^ ((int32_t) (float_bits(biased) >> 19) - (132 << 4));
    return (uint8_t) (code | (~(x >> 31) & 0x80));
}

/* encode_alaw() the same way: segment s >= 1 holds m with top bit s + 3; segment 0 is m itself. */
static inline uint8_t alaw_code(int32_t x)
{
    int32_t m = (x ^ (x >> 31)) >> 4;
    int32_t low = -(int32_t) (m < 16);
    int32_t code = (m & low) | (((int32_t) (float_bits(m) >> 19) - (130 << 4)) & ~low);
    return (uint8_t) ((code | (~(x >> 31) & 0x80)) ^ 0x55);
}

/* One row of the mix: saturate into tx, encode, clear the mix for the next tick, in one pass. */
#define SEND_ROW(name, code_of)                                                                         \
    MIX_CLONES static void name(int32_t *restrict acc, int16_t *restrict tx, uint8_t *restrict codes,   \
                                size_t n)                                                               \
    {                                                                                                   \
        for (size_t i = 0; i < n; i++) {                                                                \
            int32_t v = acc[i];                                                                         \
            v = v < -32768 ? -32768 : v;                                                                \
            v = v > 32767 ? 32767 : v;                                                                  \
            tx[i] = (int16_t) v;                                                                        \
            codes[i] = code_of(v);                                                                      \
            acc[i] = 0;                                                                                 \
        }                                                                                               \
    }
SEND_ROW(send_ulaw_row, ulaw_code)
SEND_ROW(send_alaw_row, alaw_code)

/* A row without codes (a packet row): saturate and clear only. */
MIX_CLONES static void saturate_row(int32_t *restrict acc, int16_t *restrict tx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t v = acc[i];
        v = v < -32768 ? -32768 : v;
        v = v > 32767 ? 32767 : v;
        tx[i] = (int16_t) v;
        acc[i] = 0;
    }
}

MIX_CLONES static void encode_ulaw_n(const int16_t *restrict in, uint8_t *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ulaw_code(in[i]);
}

MIX_CLONES static void encode_alaw_n(const int16_t *restrict in, uint8_t *restrict out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = alaw_code(in[i]);
}

void pycc_g711_encode(int law, const int16_t *restrict in, uint8_t *restrict out, size_t n)
{
    (law == PYCC_G711_ALAW ? encode_alaw_n : encode_ulaw_n)(in, out, n);
}

void pycc_g711_mix_out(int32_t *restrict acc, int16_t *restrict tx, uint8_t *restrict codes,
                       const int8_t *restrict law, uint8_t *restrict live, uint8_t *restrict dirty,
                       size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        int16_t *t = tx + r * n;
        int l = law[r];
        if (live[r] == PYCC_G711_SENT) {
            live[r] = 0;
            dirty[r] = 1;
        } else if (live[r]) {
            if (l == PYCC_G711_ULAW)
                send_ulaw_row(acc + r * n, t, codes + r * n, n);
            else if (l == PYCC_G711_ALAW)
                send_alaw_row(acc + r * n, t, codes + r * n, n);
            else
                saturate_row(acc + r * n, t, n);
            live[r] = 0;
            dirty[r] = 1;
        } else if (dirty[r]) {
            /* fell silent this tick: silence stays valid in tx and codes until the row is written again */
            memset(t, 0, n * sizeof *t);
            if (l >= 0)
                memset(codes + r * n, l == PYCC_G711_ALAW ? encode_alaw(0) : encode_ulaw(0), n);
            dirty[r] = 0;
        }
    }
}

void pycc_g711_send_copies(const int16_t *restrict rx, int16_t *restrict tx, uint8_t *restrict codes,
                           const int8_t *restrict law, uint8_t *restrict live, const ptrdiff_t *restrict dst,
                           const ptrdiff_t *restrict src, size_t k, size_t n)
{
    for (size_t i = 0; i < k; i++) {
        ptrdiff_t d = dst[i];
        int16_t *t = tx + d * n;
        memcpy(t, rx + src[i] * n, n * sizeof *t);
        if (law[d] == PYCC_G711_ULAW)
            encode_ulaw_n(t, codes + d * n, n);
        else if (law[d] == PYCC_G711_ALAW)
            encode_alaw_n(t, codes + d * n, n);
        live[d] = PYCC_G711_SENT;
    }
}
