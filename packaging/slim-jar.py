#!/usr/bin/env python3
"""Copies a jar without the native libraries of systems other than Linux on x86-64.

zstd-jni, lz4-java, jffi and lmdbjava (the last two come with Akka's distributed data) carry
their natives for about 30 systems, a quarter of the daemon jar; Linux on x86-64 needs one of
each. Used by packaging/deb/build-deb.sh (the .deb) and testkit/bench/device-kit.sh (the kit
for a machine without Java).

With --stored the entries are not compressed, for a jar that goes into an archive compressed
as a whole (xz makes a third of a deflated jar's size of a stored one).

Usage: packaging/slim-jar.py [--stored] IN.jar OUT.jar
"""
import re
import sys
import zipfile

OTHER_SYSTEMS = re.compile(
    r"^(aix|darwin|freebsd|win|linux/(?!amd64/))[^/]*/"        # zstd-jni: <os>/<arch>/
    r"|^net/jpountz/util/(?!linux/amd64/)[^/]+/[^/]+/"          # lz4-java: net/jpountz/util/<os>/<arch>/
    r"|^jni/(?!x86_64-Linux/)[^/]+/"                            # jffi: jni/<arch>-<os>/
    r"|^org/lmdbjava/lmdbjava-native-(?!linux-x86_64)[^/]+$")   # lmdbjava: one file per system


def main():
    args = sys.argv[1:]
    stored = args[:1] == ["--stored"]
    if stored:
        args = args[1:]
    if len(args) != 2:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(args[0]) as src, zipfile.ZipFile(args[1], "w", method) as dst:
        for item in src.infolist():
            if not OTHER_SYSTEMS.match(item.filename):
                dst.writestr(item, src.read(item.filename), compress_type=method)


if __name__ == "__main__":
    main()
