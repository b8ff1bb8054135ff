#!/usr/bin/env bash
# Installs the real servers the test suite needs (redis-server, redis-cli, memcached).
# Idempotent: does nothing but print versions when everything is already present.
# Never leaves a daemon running: tests start their own servers on free loopback ports.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if have sudo; then
    SUDO=(sudo)
  else
    echo "install-services: not root and sudo is not available" >&2
  fi
fi

missing=()
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
have memcached || missing+=(memcached)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-services: installing ${missing[*]}"
  # policy-rc.d (exit code 101) tells maintainer scripts not to start daemons while installing.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod +x "$policy"
    created_policy=1
  fi
  cleanup_policy() {
    if [ "$created_policy" -eq 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi
  }
  trap cleanup_policy EXIT
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y --no-install-recommends redis-server memcached
fi

# Stop any daemon the packages may have started anyway (init scripts without systemd).
# Only stop the package-managed services, matched by their pid files / service names,
# and only memcached: a redis-server on 6379 may be shared with other users of the machine.
if [ "${#missing[@]}" -gt 0 ] && [[ " ${missing[*]} " == *" memcached "* ]]; then
  if have service; then "${SUDO[@]}" service memcached stop >/dev/null 2>&1 || true; fi
  if have update-rc.d; then "${SUDO[@]}" update-rc.d memcached disable >/dev/null 2>&1 || true; fi
  for pidfile in /var/run/memcached/memcached.pid /run/memcached/memcached.pid /var/run/memcached.pid; do
    if [ -f "$pidfile" ]; then
      pid="$(cat "$pidfile" 2>/dev/null || true)"
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then "${SUDO[@]}" kill "$pid" || true; fi
    fi
  done
fi

redis-server --version
redis-cli --version
memcached -V
