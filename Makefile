# Peregrine — the one build entry. `make help` lists the targets.
#
# Layout of build/:
#   build/kern/*.bpf.o        one BPF object per hook family (kern/*.bpf.c)
#   build/kern/peregrine.bpf.o  the families statically linked into one object
#   build/gen/peregrine.skel.h  its libbpf skeleton
#   build/obj/...             C++ objects (with .d dependency files)
#   build/peregrine           the daemon and CLI
#   build/unit-policy, build/unit-user   doctest unit-test binaries
#   build/e2e-tests           end-to-end tests (root, real BPF)

.DEFAULT_GOAL := all
# Build in parallel by default, one job per core (`make JOBS=1` for one).
# Only the top level sets it: a recursive make shares the jobserver.
JOBS ?= $(shell nproc)
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(JOBS)
endif
# The official Falco rule files, test data kept outside the repository.
# Tests that read them are skipped, with the reason, where they are absent.
FALCO_RULES ?= ../shared/falco-rules
export FALCO_RULES
BUILD     ?= build
CXX       ?= g++
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := x86_64
BPF_ARCH  := x86

CXXFLAGS  ?= -O2 -g
CXXFLAGS  += -std=c++23 -Wall -Wextra -Wno-missing-field-initializers -MMD -MP
CPPFLAGS  += -I. -I$(BUILD)/gen
LDLIBS    := -lcpp-httplib -lbpf -lelf -lz -lyaml-cpp -lspdlog -lfmt -lre2 -lssl -lcrypto -lpthread
# containerd's API is gRPC: Debian's grpc++ and protobuf (absl comes with them).
GRPC_LIBS := $(shell pkg-config --libs grpc++ protobuf 2>/dev/null || echo -lgrpc++ -lgrpc -lgpr -lprotobuf)
LDLIBS    += $(GRPC_LIBS)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -Wall -Werror \
              -I. -Ivmlinux/$(ARCH) -Ikern

# ---- sources --------------------------------------------------------------
BPF_SRCS    := $(sort $(wildcard kern/*.bpf.c))
BPF_OBJS    := $(BPF_SRCS:kern/%.bpf.c=$(BUILD)/kern/%.bpf.o)
BPF_HDRS    := $(wildcard kern/api/*.h kern/lib/*.h) vmlinux/$(ARCH)/vmlinux.h
SKEL        := $(BUILD)/gen/peregrine.skel.h

POLICY_SRCS := $(sort $(wildcard policy/*.cpp policy/*/*.cpp))
USER_SRCS   := $(filter-out user/main.cpp,$(sort $(wildcard user/*.cpp user/*/*.cpp)))
UNIT_MAIN   := selftests/unit/main.cpp
UNIT_POLICY := $(sort $(wildcard selftests/unit/policy/*.cpp))
UNIT_USER   := $(sort $(wildcard selftests/unit/user/*.cpp))
E2E_SRCS    := $(sort $(wildcard selftests/e2e/*.cpp))

# containerd's API, generated at build time from the .proto files of
# golang-github-containerd-containerd-dev (scripts/gen-containerd-api.sh).
PROTO_SRC   ?= /usr/share/gocode/src
CTRD_API    := github.com/containerd/containerd/api
CTRD_MSGS   := types/descriptor events/container
CTRD_SVCS   := services/containers/v1/containers services/images/v1/images \
               services/events/v1/events
CTRD_STAMP  := $(BUILD)/gen/containerd-api.stamp
CTRD_CCS    := $(foreach f,$(CTRD_MSGS) $(CTRD_SVCS),$(BUILD)/gen/$(CTRD_API)/$(f).pb.cc) \
               $(foreach f,$(CTRD_SVCS),$(BUILD)/gen/$(CTRD_API)/$(f).grpc.pb.cc)
CTRD_OBJS   := $(CTRD_CCS:$(BUILD)/gen/%.cc=$(BUILD)/obj/gen/%.o)

obj = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(1))
POLICY_OBJS := $(call obj,$(POLICY_SRCS))
USER_OBJS   := $(call obj,$(USER_SRCS))
ALL_OBJS    := $(call obj,$(POLICY_SRCS) $(USER_SRCS) user/main.cpp $(UNIT_MAIN) \
                 $(UNIT_POLICY) $(UNIT_USER) $(E2E_SRCS)) $(CTRD_OBJS)

LIBPOLICY   := $(BUILD)/libpgpolicy.a
LIBUSER     := $(BUILD)/libpguser.a

# ---- targets --------------------------------------------------------------
# A failed step (bpftool gen object, say) must not leave a file that looks built.
.DELETE_ON_ERROR:

.PHONY: all deps run test unit e2e bench fuzz fuzz-smoke clean format lint help vmlinux install deb image

all: $(BUILD)/peregrine ## build build/peregrine (daemon and CLI)

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

deps: ## install the Debian packages Peregrine needs (no-op when present)
	@scripts/deps.sh

run: deps all ## build and run the daemon with the default rules in rules/
	scripts/run.sh

test: deps ## install, build and run every test (unit always, e2e as root)
	@$(MAKE) --no-print-directory all $(BUILD)/unit-policy $(BUILD)/unit-user $(BUILD)/e2e-tests
	@scripts/run-tests.sh

unit: $(BUILD)/unit-policy $(BUILD)/unit-user ## build and run the unit tests only
	@scripts/run-tests.sh --unit-only

bench: deps all $(BUILD)/bench-loop $(BUILD)/bench-audit-load $(BUILD)/bench-attach $(BUILD)/bench/empty.bpf.o $(BUILD)/bench/probe.bpf.o ## overhead benchmarks (ratios against a baseline in the same run)
	@scripts/deps.sh bench
	@scripts/bench.sh

FUZZ_FILTER_CASES ?= 20000000

fuzz: $(BUILD)/unit-user ## kernel filter differential (FUZZ_FILTER_CASES) + libFuzzer targets (FUZZ_SECONDS each)
	PG_FUZZ_CASES=$(FUZZ_FILTER_CASES) $(BUILD)/unit-user -tc='kernel filter differential*'
	@$(MAKE) --no-print-directory -f scripts/fuzz.mk

fuzz-smoke: ## build the libFuzzer targets (clang, ASan/UBSan) and run each a few seconds (FUZZ_SMOKE_SECONDS)
	@$(MAKE) --no-print-directory -f scripts/fuzz.mk smoke

PREFIX  ?= /usr/local
DESTDIR ?=

install: all ## install the stripped binary and systemd unit under $(DESTDIR)$(PREFIX), config and rules under $(DESTDIR)/etc/peregrine
	@BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) scripts/install.sh

deb: all ## build/peregrine_VERSION_ARCH.deb (dpkg-deb; Depends from dpkg-shlibdeps)
	@BUILD=$(BUILD) scripts/make-deb.sh

image: all ## container image localhost/peregrine:VERSION, built with podman from this build (no registry pull)
	@BUILD=$(BUILD) scripts/make-image.sh

vmlinux: ## regenerate vmlinux/$(ARCH)/vmlinux.h from this kernel's BTF
	scripts/gen-vmlinux.sh

format: ## reformat C, C++ and BPF sources with clang-format
	clang-format -i $$(git ls-files '*.cpp' '*.h' '*.c' | grep -v '^vmlinux/')

lint: ## clang-tidy and cppcheck on the files changed since main's merge-base
	@scripts/lint.sh

clean: ## remove build/
	rm -rf $(BUILD)

# ---- BPF ------------------------------------------------------------------
$(BUILD)/kern/%.bpf.o: kern/%.bpf.c $(BPF_HDRS) | $(BUILD)/kern
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/kern/peregrine.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

$(SKEL): $(BUILD)/kern/peregrine.bpf.o | $(BUILD)/gen
	$(BPFTOOL) gen skeleton $< name pg_bpf > $@.tmp && mv $@.tmp $@

# ---- C++ ------------------------------------------------------------------
$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

# The tests' own sources compile about 40% faster at -O1 with line tables
# only, and run as fast as they need to (TEST_OPT= keeps CXXFLAGS' level).
TEST_OPT  ?= -O1 -g1
$(call obj,$(UNIT_MAIN) $(UNIT_POLICY) $(UNIT_USER) $(E2E_SRCS)): \
	CXXFLAGS := $(if $(TEST_OPT),$(filter-out -O% -g,$(CXXFLAGS)) $(TEST_OPT),$(CXXFLAGS))

# Objects outside policy/ may include the skeleton, so it must exist before
# they compile; after that the .d files track it like any header. policy/ is
# pure (no libbpf) and never waits for the BPF build.
$(call obj,$(USER_SRCS) user/main.cpp $(UNIT_USER) $(E2E_SRCS)): | $(SKEL) $(CTRD_STAMP)

$(CTRD_STAMP): scripts/gen-containerd-api.sh | $(BUILD)/gen
	scripts/gen-containerd-api.sh $(PROTO_SRC) $(BUILD)/gen
	@touch $@
$(CTRD_CCS): $(CTRD_STAMP) ;
# Generated code: not ours to warn about.
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -w -c $< -o $@

$(LIBPOLICY): $(POLICY_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(LIBUSER): $(USER_OBJS) $(CTRD_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/peregrine: $(call obj,user/main.cpp) $(LIBUSER) $(LIBPOLICY)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-policy: $(call obj,$(UNIT_MAIN) $(UNIT_POLICY)) $(LIBPOLICY)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-user: $(call obj,$(UNIT_MAIN) $(UNIT_USER)) $(LIBUSER) $(LIBPOLICY)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/e2e-tests: $(call obj,$(UNIT_MAIN) $(E2E_SRCS)) $(LIBUSER) $(LIBPOLICY)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench-loop: scripts/bench/loop.cpp
	$(CXX) -O2 -o $@ $< -luring

$(BUILD)/bench-attach: scripts/bench/attach.cpp
	$(CXX) -O2 -o $@ $< -lbpf

$(BUILD)/bench/%.bpf.o: scripts/bench/%.bpf.c vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -Wno-unused-parameter -c $< -o $@

$(BUILD)/bench-audit-load: scripts/bench/audit_load.cpp user/output/httplib_config.h
	$(CXX) $(CPPFLAGS) -std=c++23 -O2 -o $@ $< -lcpp-httplib -lssl -lcrypto -lpthread

$(BUILD)/kern $(BUILD)/gen:
	@mkdir -p $@

-include $(ALL_OBJS:.o=.d)
