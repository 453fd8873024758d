"""Python face of the native media kernels; ``pycallcenter.dsp.reference`` holds their numpy twins."""

SAMPLE_RATE = 8000
TICK_SAMPLES = 160
