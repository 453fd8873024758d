"""Board drivers: one API (boards -> spans -> channels) over the emulator, DAHDI and small backends."""
