#!/usr/bin/env bash
# Installs what the benchmark suite needs and is idempotent: nginx and wrk from
# Debian, uvicorn (+ py-spy for profiling) into the project venv.
# The system nginx service is never started: the suite runs nginx with its own
# config file, pid and temp dirs under a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v wrk   >/dev/null 2>&1 || need_apt+=(wrk)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench/setup.sh: need root to apt-get install ${need_apt[*]}" >&2; exit 1
  fi
  # Keep the package's post-install from starting a system nginx on :80.
  policy=/usr/sbin/policy-rc.d; created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f "$policy"
fi

PY=.venv/bin/python
missing=$($PY - <<'PY'
import importlib.util
print(" ".join(m for m, mod in [("uvicorn", "uvicorn"), ("httptools", "httptools"), ("py-spy", None)]
               if (mod and importlib.util.find_spec(mod) is None)))
PY
)
[ -x .venv/bin/py-spy ] || missing="$missing py-spy"
if [ -n "${missing// /}" ]; then
  .venv/bin/pip install -q $missing
fi
echo "bench/setup.sh: nginx $(/usr/sbin/nginx -v 2>&1 | sed 's/.*\///'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), uvicorn $($PY -c 'import uvicorn;print(uvicorn.__version__)')"
