# libFuzzer targets for the rule language (policy/), run by `make fuzz`.
#
#   make fuzz                      build and run each target FUZZ_SECONDS (300)
#   make -f scripts/fuzz.mk build  build only
#   make -f scripts/fuzz.mk run-condition FUZZ_SECONDS=60
#
# clang++ is required (libFuzzer); g++ builds the rest of the project. Only
# policy/ is compiled here, with ASan and UBSan; yaml-cpp and RE2 are the
# system libraries (uninstrumented).

BUILD        ?= build
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 300
FUZZ_TIMEOUT ?= 25   # seconds one input may take before it counts as a hang
FUZZ_CXX     ?= clang++
FUZZ_FLAGS   := -std=c++2b -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIBS    := -lyaml-cpp -lre2
TARGETS      := condition loader
RULES_DIR    := ../shared/falco-rules
# Longer inputs make the loader crawl under ASan; 16 KiB keeps whole rules
# and still lets libFuzzer run hundreds of inputs a second.
MAX_LEN_condition ?= 4096
MAX_LEN_loader    ?= 16384

POLICY_SRCS  := $(sort $(wildcard policy/*.cpp policy/*/*.cpp))
POLICY_OBJS  := $(POLICY_SRCS:%.cpp=$(FUZZ_DIR)/obj/%.o)

.PHONY: all build $(addprefix run-,$(TARGETS)) corpus
all: build $(addprefix run-,$(TARGETS))
build: $(addprefix $(FUZZ_DIR)/,$(TARGETS))

$(FUZZ_DIR)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -I. -MMD -MP -c $< -o $@

$(FUZZ_DIR)/%: selftests/fuzz/%_fuzz.cpp $(POLICY_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -I. -o $@ $^ $(FUZZ_LIBS)

# Seed corpora: the conditions of the official rules (one per file) and
# the official files themselves plus small examples.
corpus: $(FUZZ_DIR)/corpus/condition/.stamp $(FUZZ_DIR)/corpus/loader/.stamp

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

-include $(POLICY_OBJS:.o=.d)
