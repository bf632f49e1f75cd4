#!/usr/bin/env bash
# Debian packages `make run` and the test suite need. Root on these machines; sudo elsewhere.
# docker.io/debootstrap/iproute2/iptables: the Docker suite; ruby, ruby-sinatra,
# ruby-sqlite3, puma: the ruby-sqlite backend (no gem server here, see its README);
# postgresql: python-postgres's own server; chromium: the browser suite (never a
# Playwright download); elixir, erlang-nox, erlang-p1-sqlite3, erlang-mochiweb: the
# elixir-sqlite backend (no hex server here, see its README); sqlite3: the shell its
# ExUnit suite uses to change a database under a running store.
set -euo pipefail
packages=(docker.io debootstrap iproute2 iptables ruby ruby-sinatra ruby-sqlite3 puma postgresql chromium
  elixir erlang-nox erlang-p1-sqlite3 erlang-mochiweb sqlite3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
