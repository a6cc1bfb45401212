// RingBacklog (user/ring_backlog.h) against a real BPF ring buffer: a tiny
// socket filter program writes records into it (BPF_PROG_TEST_RUN), and
// the count of records waiting must follow what a libbpf reader consumes.
#include "user/ring_backlog.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <doctest/doctest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <vector>

namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// r1 = the map (a 64-bit immediate takes two instructions).
void load_map(std::vector<bpf_insn>& p, int map_fd) {
  p.push_back(insn(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd));
  p.push_back(insn(0, 0, 0, 0, 0));
}

int load(const std::vector<bpf_insn>& p) {
  return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "pg_rb_test", "GPL", p.data(), p.size(),
                       nullptr);
}

// One 8-byte record per run: bpf_ringbuf_output(map, &zero, 8, 0).
int output_prog(int map_fd) {
  std::vector<bpf_insn> p;
  p.push_back(insn(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 0));
  load_map(p, map_fd);
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
  p.push_back(insn(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8));
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 8));
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output));
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return load(p);
}

// A reserved and then discarded record per run: space taken, no record.
int discard_prog(int map_fd) {
  std::vector<bpf_insn> p;
  load_map(p, map_fd);
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 16));
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_reserve));
  p.push_back(insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3, 0));
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0));
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_discard));
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return load(p);
}

void run(int prog, unsigned times) {
  unsigned char packet[64] = {};
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = packet;
  opts.data_size_in = sizeof(packet);
  opts.repeat = int(times);
  REQUIRE(bpf_prog_test_run_opts(prog, &opts) == 0);
}

}  // namespace

TEST_CASE("records waiting in the ring buffer are counted without being consumed") {
  // 4 KiB: 16-byte slots, so 100 records wrap around the end more than once
  // as the reader consumes.
  const int map = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "pg_rb_test", 0, 0, 4096, nullptr);
  REQUIRE(map >= 0);
  const int out = output_prog(map), discard = discard_prog(map);
  REQUIRE(out >= 0);
  REQUIRE(discard >= 0);
  auto backlog = pg::user::RingBacklog::open(map);
  REQUIRE_MESSAGE(backlog, backlog.error());
  CHECK(backlog->records() == 0);

  int consumed = 0, budget = 0;
  auto on_record = [](void* ctx, void*, size_t) -> int {
    auto* c = static_cast<std::pair<int*, int*>*>(ctx);
    ++*c->first;
    return --*c->second > 0 ? 0 : -1;  // stop after the budget
  };
  std::pair<int*, int*> ctx{&consumed, &budget};
  ring_buffer* reader = ring_buffer__new(map, on_record, &ctx, nullptr);
  REQUIRE(reader);
  int expected = 0;
  for (int round = 0; round < 10; ++round) {
    run(out, 60);
    run(discard, 5);
    run(out, 40);
    expected += 100;
    CHECK(backlog->records() == uint64_t(expected));
    budget = 70;
    ring_buffer__consume(reader);
    expected -= 70;
    CHECK(backlog->records() == uint64_t(expected));
    budget = 1000;
    ring_buffer__consume(reader);
    expected = 0;
    CHECK(backlog->records() == 0);
  }
  CHECK(consumed == 1000);
  ring_buffer__free(reader);
  close(out);
  close(discard);
  close(map);
}
