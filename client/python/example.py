"""Try the Python client against a running edge (make run serves one on 127.0.0.1:8192):

    python client/python/example.py --url http://127.0.0.1:8192 -n 1000 [--dev] [--spool DIR] [--api-key KEY]

It enqueues n example.click events, sends one batch holding an invalid event with send, and
prints the results and the counters. --dev turns developer mode on (the edge allows it to API keys
flagged debug: examples/access.yaml's key), --spool DIR the on-disk queue.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any, Dict

from intake_client import Client, new_event


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8192")
    ap.add_argument("-n", type=int, default=1000, help="events to enqueue")
    ap.add_argument("--dev", action="store_true", help="developer mode")
    ap.add_argument("--spool", default=None, help="spool directory")
    ap.add_argument("--api-key", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    def click(page: int, button: str = "save") -> Dict[str, Any]:
        return new_event("example.click", "/example/click/1.0.0", {"page": {"id": page}, "button": button})

    with Client(args.url, api_key=args.api_key, developer_mode=args.dev, spool_dir=args.spool) as c:
        for i in range(args.n):
            try:
                c.enqueue(click(i + 1))
            except Exception as e:  # developer mode: the edge's verdict; otherwise a full queue
                print("enqueue:", e)
        for r in c.send(click(1), click(2, button="explode"), click(3)):
            print(f"send: event {r.id} {r.status.value if r.status else '?'} (HTTP {r.code}, {r.attempts} attempt(s))"
                  + (f": {r.error}" if r.error else ""))
        c.flush()
        print("stats:", c.stats())


if __name__ == "__main__":
    main()
