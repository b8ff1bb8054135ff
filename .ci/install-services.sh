#!/usr/bin/env bash
# Installs the real servers the test suite needs (redis-server, redis-cli, memcached).
# Idempotent and quick: when everything is present it only prints the versions.
# Never leaves a daemon running: tests start their own servers on free loopback ports.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

SUDO=()
if [ "$(id -u)" -ne 0 ] && have sudo; then
  SUDO=(sudo)
fi

missing=()
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-cli)
have memcached || missing+=(memcached)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-services: missing ${missing[*]}; installing redis-server redis-tools memcached"
  if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
    echo "install-services: not root and sudo is not available; install redis-server and memcached yourself" >&2
    exit 1
  fi
  # policy-rc.d exiting 101 tells the packages' maintainer scripts not to start their daemons.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod +x "$policy"
    created_policy=1
  fi
  remove_policy() {
    if [ "$created_policy" -eq 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi
  }
  trap remove_policy EXIT
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends redis-server redis-tools memcached
  # Without systemd, the init script is how the package would start memcached at boot: disable it.
  # (redis-server's is left alone: a Redis on 6379 may be shared with other users of the machine.)
  if [ -x /etc/init.d/memcached ] && have update-rc.d; then
    "${SUDO[@]}" update-rc.d memcached disable >/dev/null 2>&1 || true
  fi
fi

# A memcached started by the package (pid file of its init script) would sit on 11211: stop it.
# Tests never use fixed ports. Redis on 6379 is left alone: it may be shared with other users.
for pidfile in /run/memcached/memcached.pid /var/run/memcached/memcached.pid /var/run/memcached.pid; do
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = memcached ]; then
      echo "install-services: stopping the package's memcached daemon (pid $pid)"
      "${SUDO[@]}" kill "$pid" || true
    fi
  fi
done

redis-server --version
redis-cli --version
memcached -V
