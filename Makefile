# Set-up and entry points. `make test` and `make demo` each do all of their own set-up on a
# fresh Debian 12 machine: Debian packages (when missing), a virtual environment in .venv,
# the package built in place with its native kernels, then the run.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages, split by who needs them (README.md lists them too). They are installed with
# --no-install-recommends: every package a feature calls is named here instead. Checked per feature:
# ImageMagick's own PNG/JPEG/TIFF coders are all the fax documents use (report charts are drawn by
# matplotlib, so the SVG coder in libmagickcore-6.q16-6-extra is not needed), Ghostscript's URW fonts
# (Courier for text faxes) are a dependency of libgs10-common, and fontconfig brings DejaVu for Chromium.
#
# Runtime: what the installed product runs or links. spandsp for fax; espeak-ng renders the prompt set;
# Ghostscript, ImageMagick and libtiff's tools turn documents into TIFF-F for fax-on-demand; libusb for
# the USB board backend; dahdi-linux (udev rules, module list) for real DAHDI cards.
RUNTIME_DEBS := libspandsp2 espeak-ng ghostscript imagemagick libtiff-tools libusb-1.0-0 dahdi-linux
# Build: compilers and Python headers for the Cython kernels, venv for Debian's Python, and the headers the
# cffi bindings compile against (spandsp; <dahdi/user.h> comes with dahdi-dkms, the DAHDI kernel modules).
BUILD_DEBS := build-essential python3-dev python3-venv libspandsp-dev dahdi-dkms
# Test only: the reference peers libpri and libss7 (cffi API mode needs their headers), tshark for every
# encoded byte, sox for the talk-off and concealment speech, Chromium for the wallboard page, PostgreSQL for the store tests,
# SIPp, Kamailio (with its TLS module, to judge the engine's TLS) and baresip as the SIP peers.
TEST_DEBS := libpri-dev libss7-dev tshark sox chromium postgresql sip-tester kamailio kamailio-tls-modules baresip-core
# Everything `make test` installs.
DEB_PACKAGES := $(RUNTIME_DEBS) $(BUILD_DEBS) $(TEST_DEBS)

# The plain-Python modules setup.py also compiles with Cython (listed in pycallcenter/_compiled.py).
COMPILED_SOURCES := $(shell $(PYTHON) -c "exec(open('pycallcenter/_compiled.py').read()); print(' '.join(m.replace('.', '/') + '.py' for m in MODULES))")
NATIVE_SOURCES := $(wildcard _native/*.pyx _native/*.pxd _native/src/*.c _native/include/*.h drivers/_cffi_*.py drivers/*/_cffi_*.py pycallcenter/*/_cffi_*.py pycallcenter/*/*.pxd) pycallcenter/_compiled.py $(COMPILED_SOURCES)
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
# A list of requirements read from pyproject.toml (e.g. $(call REQUIREMENTS,['build-system']['requires'])),
# shell-quoted, so versions are written in one place.
REQUIREMENTS = $(shell $(PYTHON) -c "import tomllib; print(' '.join(repr(r) for r in tomllib.load(open('pyproject.toml', 'rb'))$(1)))")

# Installs the Debian packages in $(1) that are missing (as root; otherwise says which to install).
define install_debs
missing=""; for p in $(1); do \
  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" != 0 ]; then \
    echo "make: these Debian packages are missing:$$missing" >&2; \
    echo "make: run make as root, or first: sudo apt-get install$$missing" >&2; exit 1; \
  fi; \
  echo "make: installing Debian packages:$$missing"; \
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
  export DEBIAN_FRONTEND=noninteractive; \
  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
fi
endef

.PHONY: test test-pure demo demo-live bench fuzz soak talkoff wheel sysdeps sysdeps-test venv native clean

test: sysdeps-test native
	$(PYTEST) tests

# The pure-source axis, run by CI beside `make test` and not part of it: the whole suite with every module of
# pycallcenter/_compiled.py imported from its .py (PYCC_PURE=1), so the readable source stays correct on its own.
test-pure: sysdeps-test native
	PYCC_PURE=1 $(PYTEST) tests

# In a terminal the demo goes on to serve the example centre's pages until Ctrl-C (as `make demo-live`);
# with no terminal on stdin (CI, scripts) it ends after the report.
demo: native
	$(BIN)/pycallcenter selftest
	$(BIN)/pycallcenter demo --data data $$(test -t 0 && test -z "$$CI" && echo --serve)

# The demo, then the example centre live in real time with its pages at https://127.0.0.1:8443/ (agent desktop,
# supervisor console, wallboard; accounts in pycallcenter/examples/centre.toml) until Ctrl-C, whether or not
# stdin is a terminal.
demo-live: native
	$(BIN)/pycallcenter demo --data data --serve

bench: sysdeps-test native
	$(PYTEST) bench --benchmark-only --benchmark-columns=min,median,mean,rounds -m 'not fuzz and not soak'

fuzz: sysdeps-test native
	HYPOTHESIS_PROFILE=fuzz $(PYTEST) tests -m fuzz

# The long runs also hold the cross-checks against third-party implementations (pyworkforce's Erlang C,
# the crosscheck extra, which pulls in ortools and pandas): installed here only, deselected by make test.
soak: sysdeps-test native $(VENV)/.crosscheck
	$(PYTEST) tests -m 'soak or crosscheck'

talkoff: sysdeps-test native
	$(PYTEST) tests -m talkoff -s

# A wheel in dist/ from the build `native` leaves in build/ (pip wheel only copies the extensions);
# `pip wheel --no-deps -w dist .` does the same with build isolation, on any machine with BUILD_DEBS.
wheel: native
	$(BIN)/python -m pip wheel -q --no-build-isolation --no-deps -w dist .
	@ls -1 dist/pycallcenter-*.whl

# Running and building need RUNTIME_DEBS and BUILD_DEBS; the test and long-run targets also TEST_DEBS.
sysdeps:
	@$(call install_debs,$(RUNTIME_DEBS) $(BUILD_DEBS))

sysdeps-test: sysdeps
	@$(call install_debs,$(TEST_DEBS))

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py | sysdeps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=23"
	$(BIN)/python -m pip install -q $(call REQUIREMENTS,['build-system']['requires'])
	PYCC_NATIVE_SKIP=1 $(BIN)/python -m pip install -q --no-build-isolation -e '.[test]'
	touch $@

native: sysdeps $(STAMP) $(VENV)/.native

$(VENV)/.crosscheck: pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -q $(call REQUIREMENTS,['project']['optional-dependencies']['crosscheck'])
	touch $@

$(VENV)/.native: $(NATIVE_SOURCES) setup.py $(STAMP)
	$(BIN)/python setup.py -q build_ext --inplace --parallel $(shell nproc)
	touch $@

clean:
	rm -rf build dist $(VENV) *.egg-info _native/*.c _native/*.so drivers/*.so pycallcenter/**/*.so
