"""An adapter that breaks the protocol on purpose, for the harness's tests.

usage: misbehaving.py (hang|exit|garbage|wrong-seq)   answers hello, then misbehaves on reset.
"""

import json
import sys
import time

mode = sys.argv[1]
for line in sys.stdin:
    request = json.loads(line)
    if request["op"] == "hello":
        print(json.dumps({"seq": request["seq"], "ok": {"name": "misbehaving-" + mode, "language": "python",
                                                        "protocol": 1, "capabilities": {}}}), flush=True)
        continue
    print("about to misbehave: " + mode, file=sys.stderr, flush=True)
    if mode == "hang":
        time.sleep(3600)
    elif mode == "exit":
        sys.exit(3)
    elif mode == "garbage":
        print("hello, this is not JSON", flush=True)
    elif mode == "wrong-seq":
        print(json.dumps({"seq": 999, "ok": None}), flush=True)
