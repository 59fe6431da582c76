#!/usr/bin/env python3
"""Trims a random share of an NBD export's 4 KiB pages, plus a few whole ranges, over libnbd.

Usage: nbd_trim.py URI SIZE_BYTES SEED FRACTION
Runs of neighbouring trimmed pages go out as one TRIM each, up to 64 in flight. Prints
"<pages trimmed> <requests>". Needs python3-libnbd (Debian), so run it with /usr/bin/python3.
"""
import random
import sys

import nbd

PAGE = 4096
RANGES = 4  # whole ranges of 1/32 of the export each, as a swapoff of a cluster would


def main():
    uri, size, seed, fraction = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    pages = size // PAGE
    rnd = random.Random(seed)
    trim = bytearray(1 if rnd.random() < fraction else 0 for _ in range(pages))
    span = pages // 32
    for _ in range(RANGES):
        start = rnd.randrange(pages - span)
        trim[start:start + span] = b"\x01" * span

    h = nbd.NBD()
    h.connect_uri(uri)
    errors = []

    def done(error):
        if error.value:
            errors.append(error.value)
        return 1  # retire the command

    requests = trimmed = 0
    i = 0
    while i < pages:
        if not trim[i]:
            i += 1
            continue
        j = i
        while j < pages and trim[j]:
            j += 1
        while h.aio_in_flight() >= 64:
            h.poll(-1)
        h.aio_trim((j - i) * PAGE, i * PAGE, completion=done)
        requests += 1
        trimmed += j - i
        i = j
    while h.aio_in_flight() > 0:
        h.poll(-1)
    h.flush()
    h.shutdown()
    if errors:
        raise SystemExit(f"{len(errors)} trims failed, first errno {errors[0]}")
    print(trimmed, requests)


if __name__ == "__main__":
    main()
