#!/usr/bin/env python3
"""bpf_stats for `make bench`.

  progstats.py snap FILE             save every loaded program's run counters
  progstats.py delta BEFORE AFTER PREFIX...
                                     what the programs whose names start with
                                     a PREFIX ran between the two snapshots:
                                     one line per program name (summed over
                                     programs of that name) "NAME CALLS NS/CALL"
                                     and a last line "total NS"
"""
import json
import subprocess
import sys


def snapshot():
    out = subprocess.run(["bpftool", "prog", "show", "-j"], check=True,
                         capture_output=True, text=True).stdout
    return {str(p["id"]): [p.get("name", ""), p.get("run_time_ns", 0), p.get("run_cnt", 0)]
            for p in json.loads(out)}


def main(argv):
    if len(argv) == 3 and argv[1] == "snap":
        with open(argv[2], "w") as f:
            json.dump(snapshot(), f)
        return 0
    if len(argv) >= 5 and argv[1] == "delta":
        with open(argv[2]) as f:
            before = json.load(f)
        with open(argv[3]) as f:
            after = json.load(f)
        prefixes = tuple(argv[4:])
        per_name = {}
        for pid, (name, ns, cnt) in after.items():
            if not name.startswith(prefixes):
                continue
            _, ns0, cnt0 = before.get(pid, [name, 0, 0])
            t = per_name.setdefault(name, [0, 0])
            t[0] += ns - ns0
            t[1] += cnt - cnt0
        total = 0
        for name in sorted(per_name):
            ns, cnt = per_name[name]
            total += ns
            if cnt:
                print("%s %d %.0f" % (name, cnt, ns / cnt))
        print("total %d" % total)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
