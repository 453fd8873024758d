# Set-up and entry points. `make test` and `make demo` each do all of their own set-up on a
# fresh Debian 12 machine: Debian packages (when missing), a virtual environment in .venv,
# the package built in place with its native kernels, then the run.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Reference peers and tools the tests, benchmarks and demo use; the runtime needs none of the GPL ones.
DEB_PACKAGES := build-essential libspandsp-dev dahdi-linux dahdi-dkms libpri-dev libss7-dev tshark espeak-ng sox imagemagick libtiff-tools ghostscript chromium postgresql
NATIVE_SOURCES := $(wildcard _native/*.pyx _native/*.pxd _native/src/*.c _native/include/*.h drivers/_cffi_*.py drivers/*/_cffi_*.py pycallcenter/*/_cffi_*.py pycallcenter/*/*.pxd) pycallcenter/_compiled.py $(COMPILED_SOURCES)
# The plain-Python modules setup.py also compiles with Cython (listed in pycallcenter/_compiled.py).
COMPILED_SOURCES := $(shell $(PYTHON) -c "exec(open('pycallcenter/_compiled.py').read()); print(' '.join(m.replace('.', '/') + '.py' for m in MODULES))")
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: test demo bench fuzz soak talkoff sysdeps venv native clean

test: native
	$(PYTEST) tests

demo: native
	$(BIN)/pycallcenter selftest
	$(BIN)/pycallcenter demo --data data

bench: native
	$(PYTEST) bench --benchmark-only --benchmark-columns=min,median,mean,rounds -m 'not fuzz and not soak'

fuzz: native
	HYPOTHESIS_PROFILE=fuzz $(PYTEST) tests -m fuzz

soak: native
	$(PYTEST) tests -m soak

talkoff: native
	$(PYTEST) tests -m talkoff -s

sysdeps:
	@missing=""; for p in $(DEB_PACKAGES); do \
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

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py | sysdeps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=23"
	$(BIN)/python -m pip install -q "setuptools>=68,<90" wheel "Cython>=3.0,<4" "cffi>=1.16,<3"
	$(BIN)/python -m pip install -q --no-build-isolation -e '.[test]'
	touch $@

native: sysdeps $(STAMP) $(VENV)/.native

$(VENV)/.native: $(NATIVE_SOURCES) setup.py $(STAMP)
	$(BIN)/python setup.py -q build_ext --inplace --parallel $(shell nproc)
	touch $@

clean:
	rm -rf build $(VENV) *.egg-info _native/*.c _native/*.so drivers/*.so pycallcenter/**/*.so
