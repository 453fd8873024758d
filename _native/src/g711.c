/* G.711 kernels as table lookups.
 *
 * The tables are built once from the quantisation rules (written out in encode_ulaw() and friends,
 * and mirrored in pycallcenter/dsp/reference/g711.py), so the hot loops are a single load per sample:
 * 64K-entry int16 -> code tables for encoding, 256-entry tables for decoding and transcoding.
 */
#include <math.h>
#include <string.h>

#include "pycc_g711.h"

static uint8_t enc_tab[2][65536];
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
    uint8_t out = enc_tab[to_law][(uint16_t) (int16_t) q];
    return (v < 0 || (v == 0 && (code & 0x80) == 0)) ? (uint8_t) (out & 0x7F) : out;
}

void pycc_g711_init(void)
{
    if (ready)
        return;
    for (int x = -32768; x < 32768; x++) {
        enc_tab[PYCC_G711_ULAW][(uint16_t) x] = encode_ulaw(x);
        enc_tab[PYCC_G711_ALAW][(uint16_t) x] = encode_alaw(x);
    }
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

void pycc_g711_encode(int law, const int16_t *restrict in, uint8_t *restrict out, size_t n)
{
    const uint8_t *restrict tab = enc_tab[law];
    for (size_t i = 0; i < n; i++)
        out[i] = tab[(uint16_t) in[i]];
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

/* Saturate one row of an int32 mix into int16 and clear the mix for the next tick: a loop the compiler
 * vectorises, kept apart from the table lookups that it cannot. */
static void saturate_row(int32_t *restrict acc, int16_t *restrict tx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t v = acc[i];
        v = v < -32768 ? -32768 : v;
        v = v > 32767 ? 32767 : v;
        tx[i] = (int16_t) v;
        acc[i] = 0;
    }
}

void pycc_g711_mix_out(int32_t *restrict acc, int16_t *restrict tx, uint8_t *restrict codes,
                       const int8_t *restrict law, uint8_t *restrict live, uint8_t *restrict dirty,
                       size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        int16_t *t = tx + r * n;
        int l = law[r];
        if (live[r]) {
            saturate_row(acc + r * n, t, n);
            if (l >= 0)
                pycc_g711_encode(l, t, codes + r * n, n); /* the row is still in L1 */
            live[r] = 0;
            dirty[r] = 1;
        } else if (dirty[r]) {
            /* fell silent this tick: silence stays valid in tx and codes until the row is written again */
            memset(t, 0, n * sizeof *t);
            if (l >= 0)
                memset(codes + r * n, enc_tab[l][0], n);
            dirty[r] = 0;
        }
    }
}
