# ssmkit — plain GNU Makefile.  `make help` lists the targets.
#   make WERROR=1      warnings are errors (CI)
#   make check-asan    the test suite under AddressSanitizer + UBSan (build-asan/)
#   make check-oom     every allocation of ssmkit's own code failed in turn, under ASan + UBSan (build-oom/)

CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := 0.1.0

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -fPIC $(WARN) $(if $(WERROR),-Werror) $(EXTRA_CFLAGS)
CPPFLAGS += -I. -D_DEFAULT_SOURCE
LDFLAGS  += $(EXTRA_LDFLAGS)
# Arb: merged into libflint from FLINT 3 on (headers under flint/, see core/arb.h); a separate
# libflint-arb with FLINT 2
ifndef ARB_LIBS
ARB_LIBS := $(shell printf '\043include <flint/acb_mat.h>\nint main(void) { return 0; }\n' | \
              $(CC) -x c - -o /dev/null -lflint -lmpfr -lgmp >/dev/null 2>&1 && echo -lflint || echo -lflint-arb -lflint)
endif
LIBS     := -lfftw3f -lfftw3 -lzip -lz -llapacke -lopenblas -lgsl -ljansson $(ARB_LIBS) -lmpc -lmpfr -lgmp -lgfortran -lm \
            -lpthread

# the Python package goes to PREFIX/PYSITE (Debian's python3 searches /usr/local/lib/python3.X/dist-packages)
PYTHON   ?= /usr/bin/python3
PYSITE   ?= $(shell $(PYTHON) -c 'import sys; print("lib/python%d.%d/dist-packages" % sys.version_info[:2])' 2>/dev/null)

STAGES   := core io hippo diag analysis init train
LIB_SRC  := $(wildcard $(addsuffix /*.c,$(STAGES)))
CLI_SRC  := $(wildcard cli/*.c experiments/*.c)
TEST_SRC := $(wildcard tests/t-*.c)
FUZZ_SRC := $(wildcard fuzz/fuzz-*.c)
HEADERS  := ssmkit.h $(wildcard $(addsuffix /*.h,$(STAGES)))

# the fixed kernel: reference LAPACK/BLAS renamed ssm_ref_* (core/kernel.c, scripts/ref-kernel)
REF_OBJ  := $(BUILD)/obj/core/ref-lapack.o
REF_SYMS := dgeev_ dgesdd_ dgesv_ zgesv_ zgesvd_ zgeev_ zgemm_ dgehrd_ dorghr_ zgehrd_ zunghr_
# BLAS routines core/kernel.c defines in place of the reference ones (also for the LAPACK inside)
REF_OWN  := dgemm_ dgemv_ dtrsm_ dtrmm_ dger_
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(REF_OBJ)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
STATIC   := $(BUILD)/libssmkit.a
SHARED   := $(BUILD)/libssmkit.so
BIN      := $(BUILD)/ssmkit
DEPSOK   := $(BUILD)/.deps-ok

.PHONY: FORCE readme-numbers all check check-layers check-asan check-oom check-torch check-python valgrind fuzz bench demo figures install clean help
all: $(STATIC) $(SHARED) $(BIN)

help:
	@echo "targets: all check check-asan check-oom check-torch check-python valgrind fuzz bench demo figures install readme-numbers clean"

$(DEPSOK): scripts/check-deps
	@mkdir -p $(@D)
	@scripts/check-deps "$(CC)"
	@touch $@

$(BUILD)/obj/%.o: %.c | $(DEPSOK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# the multi-shift row kernels of the pseudospectra fast path and the slice sums of
# core/arb.c's split products need the loop vectoriser (GCC enables it fully only
# at -O3); no change of semantics (the slice sums are integers, exact)
$(BUILD)/obj/analysis/pspec_lanczos.o: CFLAGS += -O3
$(BUILD)/obj/analysis/pspec_secular.o: CFLAGS += -O3
$(BUILD)/obj/core/arb.o: CFLAGS += -O3
$(BUILD)/obj/analysis/pspec_multishift.o: CFLAGS += -O3

# the fixed kernel's products must not contract a*b + c into an FMA: its clones for
# wider vector units give the baseline's bits only without it (-std=c11 implies it; say so)
$(BUILD)/obj/core/kernel.o: CFLAGS += -O3 -ffp-contract=off

# the training engine's hot loops (GELU, LayerNorm, the spectra products, the transposes) need the
# loop vectoriser; lanes are independent IEEE operations and no FMA is contracted, so the bits are the
# scalar code's on every CPU
$(BUILD)/obj/train/layers.o $(BUILD)/obj/train/ssm_layer.o $(BUILD)/obj/train/model.o: CFLAGS += -O3 -ffp-contract=off

$(REF_OBJ): scripts/ref-kernel Makefile | $(DEPSOK)
	CC="$(CC)" REF_OWN="$(REF_OWN)" scripts/ref-kernel $@ $(REF_SYMS)

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# the shared library exports the public API only (scripts/exports: the ssm_ functions of the public
# headers); internals (*_impl.h, the fixed kernel's ssm_ref_*) stay inside
$(BUILD)/ssmkit.map: scripts/exports $(HEADERS)
	@mkdir -p $(@D)
	scripts/exports map > $@

$(SHARED): $(LIB_OBJ) $(BUILD)/ssmkit.map
	$(CC) -shared -Wl,-soname,libssmkit.so.0 -Wl,--version-script=$(BUILD)/ssmkit.map $(LDFLAGS) -o $@ \
	  $(LIB_OBJ) $(LIBS)

# BIN_EXTRA_OBJ / BIN_LDFLAGS: only check-oom sets them (the fault injector and its --wrap flags)
# where the installed binary finds its gnuplot scripts (cli_plot_script); a changed PREFIX rebuilds cli.o
DATADIR  := $(PREFIX)/share/ssmkit
$(BUILD)/obj/cli/cli.o: CPPFLAGS += -DSSM_DATADIR='"$(DATADIR)"'
$(BUILD)/obj/cli/cli.o: $(BUILD)/.datadir
$(BUILD)/.datadir: FORCE
	@mkdir -p $(@D)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
FORCE:

$(BIN): $(CLI_OBJ) $(STATIC) $(BIN_EXTRA_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(BIN_LDFLAGS) -o $@ $(CLI_OBJ) $(BIN_EXTRA_OBJ) $(STATIC) $(LIBS)

$(BUILD)/tests/%: tests/%.c tests/harness.h $(STATIC) | $(DEPSOK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(TEST_EXTRA) $(STATIC) $(LIBS)

# t-core compares the fixed kernel's own dtrsm, dtrmm, dger (core/kernel.c) with the reference
# BLAS's, bit for bit: those three (and what they call) renamed t_ref_*
TREF_OBJ := $(BUILD)/obj/tests/ref-blas.o
$(TREF_OBJ): scripts/ref-kernel Makefile | $(DEPSOK)
	CC="$(CC)" REF_PREFIX=t_ref_ REF_OWN= scripts/ref-kernel $@ dtrsm_ dtrmm_ dger_
$(BUILD)/tests/t-core: TEST_EXTRA = $(TREF_OBJ)
$(BUILD)/tests/t-core: $(TREF_OBJ)

# The stages' order (doc/design.md) on the #include lines and the link graph.
check-layers: all
	@scripts/check-layers $(BUILD) $(filter-out $(REF_OBJ),$(LIB_OBJ)) $(CLI_OBJ)
	@scripts/exports check $(SHARED)

# Every test binary runs even when an earlier one fails; the target fails if any did.  The
# binaries run in parallel under make -j (each one's output is kept and printed whole, in
# order); `make check T="t-pspec t-init"` runs only those.
CHECK_TESTS := $(if $(T),$(addprefix $(BUILD)/tests/,$(T)),$(TESTS))
check: all check-layers $(CHECK_TESTS:=.log)
	@failed=""; for t in $(CHECK_TESTS); do \
	  echo "== $$t"; cat $$t.log; [ "$$(cat $$t.rc)" = 0 ] || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "all $(words $(CHECK_TESTS)) test binaries passed"

$(BUILD)/tests/%.log: $(BUILD)/tests/% $(BIN) FORCE
	@OPENBLAS_NUM_THREADS=1 SSM_BIN=$(BIN) $(TEST_WRAPPER) ./$< > $@ 2>&1; echo $$? > $(@:.log=.rc)

.PHONY: FORCE
FORCE:

check-asan:
	$(MAKE) BUILD=build-asan CC=clang \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 check

# Allocation-failure injection: build-oom/ssmkit under ASan + UBSan with malloc/calloc/realloc/strdup of
# ssmkit's own objects wrapped by tests/oom.c (--wrap reaches only the objects and static archives of
# this link: OpenBLAS, FLINT, GMP, MPFR, GSL, jansson, FFTW and glibc allocate normally).
# scripts/check-oom fails the k-th allocation for every k along the main CLI paths (OOM_ARGS: its
# options, e.g. OOM_ARGS="--max-runs 50" or OOM_ARGS="--only eig").
OOM_WRAP := -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc -Wl,--wrap=strdup
OOM_UNWRAPPED := strndup|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|asprintf|vasprintf|getline|getdelim|open_memstream|realpath|wcsdup
check-oom:
	$(MAKE) BUILD=build-oom CC=clang \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	  BIN_EXTRA_OBJ=build-oom/obj/tests/oom.o BIN_LDFLAGS="$(OOM_WRAP)" build-oom/ssmkit
	@u=$$(nm -u build-oom/obj/*/*.o | grep -owE '$(OOM_UNWRAPPED)' | sort -u | tr '\n' ' '); \
	  [ -z "$$u" ] || echo "check-oom: warning: ssmkit's code calls allocating functions that are not wrapped: $$u"
	scripts/check-oom $(OOM_ARGS) build-oom/ssmkit

valgrind: all $(TESTS)
	$(MAKE) check TEST_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"

# libFuzzer + ASan binaries, one per reader: build/fuzz/fuzz-<reader> (fuzz/run runs them; the part
# readers and the finishing code of the experiments are outside the library: fuzz-merge compiles experiments/ too)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_EXTRA_fuzz-merge := $(wildcard experiments/*.c)
fuzz: $(FUZZ_BIN)
.SECONDEXPANSION:
$(BUILD)/fuzz/%: fuzz/%.c $(LIB_SRC) $(HEADERS) $(REF_OBJ) $$(FUZZ_EXTRA_$$*) | $(DEPSOK)
	@mkdir -p $(@D)
	clang -std=c11 -g -O1 -I. -D_DEFAULT_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o $@ $< $(FUZZ_EXTRA_$*) $(LIB_SRC) $(REF_OBJ) $(LIBS)

# The training engine against an independent PyTorch implementation (bench/torch_model.py, Debian
# python3-torch): same weights and batch -> loss and every gradient to 1e-4 relative.  Not in `check`.
# Cases INIT:GLU:PRENORM:MSE[:FROZEN]; INIT is a method name, or NAME when $(BUILD)/torch/NAME.init.safetensors
# is written below (s5-ptd: the S5-PTD layout of init ptd --blocks 2, the S5 layer like s5-legs);
# s4-dplr: the trained DPLR kernel, s4-dplr-dense: the frozen dense reference path.
TORCH_CASES := s4d-lin:0:0:0 s4d-legs:1:1:1 ptd:0:1:0 s4-dplr-dense:1:0:1 s4-dplr:0:1:0 s4-dplr:1:0:1 \
               s5-legs:0:0:1:0 s5-legs:1:1:0:1 s5-ptd:0:1:0:0
check-torch: all
	@mkdir -p $(BUILD)/bench $(BUILD)/torch
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $(BUILD)/bench/train-export bench/train-export.c $(STATIC) $(LIBS)
	$(BIN) init ptd -N 8 --eps 0.1 --blocks 2 -o $(BUILD)/torch/s5-ptd.init.safetensors -q
	@files=""; for c in $(TORCH_CASES); do set -- $$(echo $$c | tr : ' '); \
	  f=$(BUILD)/torch/$$1-glu$$2-pre$$3-mse$$4-frozen$${5:-0}.safetensors; i=$$1; \
	  [ -f $(BUILD)/torch/$$1.init.safetensors ] && i=$(BUILD)/torch/$$1.init.safetensors; \
	  OPENBLAS_NUM_THREADS=1 $(BUILD)/bench/train-export $$f $$i $$2 $$3 $$4 $${5:-0} || exit 1; \
	  files="$$files $$f"; done; \
	/usr/bin/python3 bench/torch_model.py check $$files

# The Python package (python/ssmkit: ctypes over libssmkit.so, no compiled extension) against the CLI
# (init byte for byte, transfer and pspec to 1e-12, errors), ssmkit.torch's S4D kernel against the C
# engine's, and examples/torch_robustness.py for a few steps on one process and under torchrun with 2
# (gloo); every TSV through pandas and numpy.genfromtxt, every JSON against doc/json.md, the pseudospectra
# contours by SVD.  Debian's python3-numpy, python3-pandas and python3-torch; prints "N passed, M failed",
# fails on any failure.
check-python: all
	PYTHONPATH=python PYTHONDONTWRITEBYTECODE=1 OPENBLAS_NUM_THREADS=1 SSMKIT_LIB=$(SHARED) SSM_BIN=$(BIN) \
	  $(PYTHON) tests/python/run.py

# the README's result numbers recomputed (scripts/readme-numbers; about 2 min): fails when one is stale,
# UPDATE=1 rewrites the stale sentences
readme-numbers: all
	OPENBLAS_NUM_THREADS=1 $(PYTHON) scripts/readme-numbers $(if $(UPDATE),--update) $(BIN)

bench: all
	bench/run --all

demo: all
	scripts/demo

# every figure from its experiment (PTD pins its own BLAS thread count; the others are run on one too).
# Measured on 2 shared cores: the analysis experiments 3 min wall (kappa-growth ~1 min, spikes ~8 s,
# convergence ~30 s, eps-sweep ~25 s, bode ~7 s, pseudospectra ~25 s with its contour refinement); robustness (training four models)
# 6–10 min more.
FIGURES  := kappa-growth spikes convergence eps-sweep bode pseudospectra robustness
figures: all
	mkdir -p out/figures
	for e in $(FIGURES); do OPENBLAS_NUM_THREADS=1 $(BIN) experiment $$e --out out/figures -q || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -d $(addprefix $(DESTDIR)$(PREFIX)/include/ssmkit/,$(STAGES))
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ssmkit
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/libssmkit.a
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libssmkit.so.$(VERSION)
	ln -sf libssmkit.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libssmkit.so.0
	ln -sf libssmkit.so.0 $(DESTDIR)$(PREFIX)/lib/libssmkit.so
	install -m 644 ssmkit.h $(DESTDIR)$(PREFIX)/include/ssmkit/ssmkit.h
	for h in $(filter-out ssmkit.h,$(HEADERS)); do \
	  case $$h in *_impl.h) continue;; esac; \
	  install -m 644 $$h $(DESTDIR)$(PREFIX)/include/ssmkit/$$h; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@ARB_LIBS@|$(ARB_LIBS)|' ssmkit.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ssmkit.pc
	install -d $(DESTDIR)$(DATADIR)/plots $(DESTDIR)$(DATADIR)/examples
	install -m 644 plots/*.gp $(DESTDIR)$(DATADIR)/plots/
	install -m 644 examples/*.py $(DESTDIR)$(DATADIR)/examples/
	@if [ -n "$(PYSITE)" ]; then \
	  echo "install python/ssmkit -> $(PREFIX)/$(PYSITE)/ssmkit"; \
	  install -d $(DESTDIR)$(PREFIX)/$(PYSITE)/ssmkit && \
	  install -m 644 python/ssmkit/*.py $(DESTDIR)$(PREFIX)/$(PYSITE)/ssmkit/ && \
	  printf '# written by make install: where libssmkit.so.0 was installed\nLIBDIR = "%s"\n' '$(PREFIX)/lib' \
	    > $(DESTDIR)$(PREFIX)/$(PYSITE)/ssmkit/_paths.py; \
	else echo "make install: no $(PYTHON); the Python package was not installed"; fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

clean:
	rm -rf build build-asan build-oom

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTS:=.d)
