# libFuzzer targets for the rule language (policy/) and the daemon's
# parsers of untrusted input (audit JSON, control requests, configuration,
# recordings), run by `make fuzz`.
#
#   make fuzz                      build and run each target FUZZ_SECONDS (300)
#   make fuzz-smoke                build, then each target FUZZ_SMOKE_SECONDS (5)
#                                  from its seeds (part of `make test`)
#   make -f scripts/fuzz.mk build  build only
#   make -f scripts/fuzz.mk run-condition FUZZ_SECONDS=60
#
# clang++ is required (libFuzzer); g++ builds the rest of the project.
# policy/ and the few user/ files each target needs are compiled here, with
# ASan and UBSan; yaml-cpp, RE2, fmt and spdlog are the system libraries
# (uninstrumented).

BUILD        ?= build
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SMOKE_SEED ?= 1
FUZZ_TIMEOUT ?= 25   # seconds one input may take before it counts as a hang
FUZZ_CXX     ?= clang++
FUZZ_FLAGS   := -std=c++2b -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIBS    := -lyaml-cpp -lre2 -lspdlog -lfmt
TARGETS      := condition loader audit_json control config recording
RULES_DIR    := ../shared/falco-rules
# Longer inputs make the loader crawl under ASan; 16 KiB keeps whole rules
# and still lets libFuzzer run hundreds of inputs a second.
MAX_LEN_condition ?= 4096
MAX_LEN_loader    ?= 16384
MAX_LEN_audit_json ?= 65536
MAX_LEN_control    ?= 8192
MAX_LEN_config     ?= 16384
MAX_LEN_recording  ?= 65536

# The user/ files each daemon-side target links (beyond policy/).
USER_audit_json := user/audit/document.cpp user/timestamp.cpp
# (protocol.cpp alone: the request schema and the responses; the policy
# manager behind it would pull in the engine.)
USER_control    := user/control/protocol.cpp
USER_config     := $(wildcard user/config/*.cpp) user/io/input_file.cpp policy/input_file.cpp
USER_recording  := user/syscalls/recording.cpp user/process.cpp user/io/input_file.cpp policy/input_file.cpp \
                   user/io/output_file.cpp

POLICY_SRCS  := $(sort $(wildcard policy/*.cpp policy/*/*.cpp))
POLICY_OBJS  := $(POLICY_SRCS:%.cpp=$(FUZZ_DIR)/obj/%.o)
fuzz_objs     = $(patsubst %.cpp,$(FUZZ_DIR)/obj/%.o,$(USER_$(1)))

.PHONY: all build smoke $(addprefix run-,$(TARGETS)) $(addprefix smoke-,$(TARGETS)) corpus
all: build $(addprefix run-,$(TARGETS))
build: $(addprefix $(FUZZ_DIR)/,$(TARGETS))

$(FUZZ_DIR)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -I. -MMD -MP -c $< -o $@

# user/ files use std::expected, which clang 14 does not offer: the shim
# maps it onto policy/expected.h's stand-in.
SHIM := -include selftests/fuzz/std_expected_shim.h
$(FUZZ_DIR)/obj/user/%.o: user/%.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) $(SHIM) -I. -MMD -MP -c $< -o $@

# Targets that do not touch the rule language link without policy/.
NO_POLICY := audit_json recording config
define link_rule
$(FUZZ_DIR)/$(1): selftests/fuzz/$(1)_fuzz.cpp $(if $(filter $(1),$(NO_POLICY)),,$(POLICY_OBJS)) $(call fuzz_objs,$(1))
	@mkdir -p $$(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) $(if $(USER_$(1)),$(SHIM)) -I. -o $$@ $$^ $(FUZZ_LIBS)
endef
$(foreach t,$(TARGETS),$(eval $(call link_rule,$(t))))

# Seed corpora: the conditions of the official rules (one per file) and
# the official files themselves plus small examples.
corpus: $(addprefix $(FUZZ_DIR)/corpus/,$(addsuffix /.stamp,$(TARGETS)))

# The daemon-side targets start from the small seeds in selftests/fuzz/seeds/<target>/.
$(FUZZ_DIR)/corpus/%/.stamp: $(wildcard selftests/fuzz/seeds/*/*)
	@mkdir -p $(@D)
	@if [ -d selftests/fuzz/seeds/$* ]; then cp selftests/fuzz/seeds/$*/* $(@D)/; fi
	@touch $@

$(FUZZ_DIR)/corpus/condition/.stamp: selftests/fuzz/seeds/conditions.txt
	@mkdir -p $(@D)
	@n=0; while IFS= read -r line; do n=$$((n+1)); printf '%s' "$$line" > $(@D)/seed$$n; done \
	  < selftests/fuzz/seeds/conditions.txt
	@if [ -d $(RULES_DIR) ]; then n=0; grep -h '^  condition: [^>|]' $(RULES_DIR)/*.yaml | \
	  sed 's/^  condition: //' | while IFS= read -r line; do n=$$((n+1)); \
	  printf '%s' "$$line" > $(@D)/official$$n; done; fi
	@touch $@

$(FUZZ_DIR)/corpus/loader/.stamp: $(wildcard selftests/fuzz/seeds/*.yaml)
	@mkdir -p $(@D)
	@cp selftests/fuzz/seeds/*.yaml $(@D)/
	@if [ -d $(RULES_DIR) ]; then cp $(RULES_DIR)/*.yaml $(@D)/; fi
	@touch $@

# Explicit per-target rules: make does not use pattern rules for .PHONY targets.
define run_rule
run-$(1): $(FUZZ_DIR)/$(1) corpus
	@mkdir -p $(FUZZ_DIR)/work-$(1)
	$(FUZZ_DIR)/$(1) -max_total_time=$(FUZZ_SECONDS) -max_len=$(MAX_LEN_$(1)) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=4096 \
	  -artifact_prefix=$(FUZZ_DIR)/$(1)- -print_final_stats=1 \
	  $(FUZZ_DIR)/work-$(1) $(FUZZ_DIR)/corpus/$(1)
endef
$(foreach t,$(TARGETS),$(eval $(call run_rule,$(t))))

# A short run of every target, for `make test`: each seed once, then
# FUZZ_SMOKE_SECONDS of mutations in a scratch corpus. The mutations follow a
# fixed seed (FUZZ_SMOKE_SEED), so a smoke run retraces the same inputs and a
# landing does not fail on a find that the previous run never reached; the
# long runs (`make fuzz`) explore. One line per target; a crash prints
# libFuzzer's report and fails.
smoke: $(addprefix smoke-,$(TARGETS))
define smoke_rule
smoke-$(1): $(FUZZ_DIR)/$(1) corpus
	@rm -rf $(FUZZ_DIR)/smoke-$(1) && mkdir -p $(FUZZ_DIR)/smoke-$(1)
	@if $(FUZZ_DIR)/$(1) -seed=$(FUZZ_SMOKE_SEED) -max_total_time=$(FUZZ_SMOKE_SECONDS) -max_len=$(MAX_LEN_$(1)) \
	  -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=4096 -artifact_prefix=$(FUZZ_DIR)/smoke-$(1)- \
	  -print_final_stats=1 $(FUZZ_DIR)/smoke-$(1) $(FUZZ_DIR)/corpus/$(1) \
	  > $(FUZZ_DIR)/smoke-$(1).log 2>&1; then \
	  echo "fuzz smoke $(1): $$$$(sed -nE 's/^stat::number_of_executed_units: *//p' \
	    $(FUZZ_DIR)/smoke-$(1).log) inputs, no crash"; \
	else tail -60 $(FUZZ_DIR)/smoke-$(1).log; echo "fuzz smoke $(1): FAILED"; exit 1; fi
endef
$(foreach t,$(TARGETS),$(eval $(call smoke_rule,$(t))))

-include $(POLICY_OBJS:.o=.d) $(patsubst %.o,%.d,$(foreach t,$(TARGETS),$(call fuzz_objs,$(t))))
