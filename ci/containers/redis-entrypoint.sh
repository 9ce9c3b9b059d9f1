#!/bin/bash
# The stand-in redis:7.4 image's entrypoint: Debian's Redis in the foreground on every address,
# keeping nothing on disk; it prints "Ready to accept connections" on stdout itself, the line
# testcontainers' Redis module waits for.
exec redis-server --bind 0.0.0.0 --protected-mode no --save '' --appendonly no --dir /tmp "$@"
