#!/bin/bash
# The floor under any edge written on node:http: three HTTP servers with no proxy logic, each alone
# on CPU 0 with wrk -c50 on CPU 1, answering with one SIZE-byte body: nginx (a static file,
# sendfile on), node:http (writeHead + end of a Buffer) and uWebSockets.js, through its unofficial
# npm mirror @trufflesuite/uws-js-unofficial (installed into the scratch folder W only, never into
# the project: it is a measurement, not a dependency). Paired rounds; requests/s, latency and CPU
# per request. Env: SIZE (65536), ROUNDS (8), DUR (2), W (/tmp/cdn-lab-http-floor), DATA.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
W=${W:-/tmp/cdn-lab-http-floor}; SIZE=${SIZE:-65536}; ROUNDS=${ROUNDS:-8}; DUR=${DUR:-2}
DATA=${DATA:-$(mktemp /tmp/http-floor.XXXXXX)}
command -v nginx > /dev/null || fail "nginx is not installed (apt-get install nginx)"
ports_free 9190 9100 9101
mkdir -p "$W/www" "$W/tmp" && cd "$W"
[ -d node_modules/@trufflesuite/uws-js-unofficial ] || npm install --no-save --silent @trufflesuite/uws-js-unofficial@20.30.0-unofficial.0
head -c "$SIZE" /dev/zero | tr '\0' a > www/body
cat > nginx.conf <<CONF
worker_processes 1; daemon off; pid $W/nginx.pid; error_log $W/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; keepalive_requests 1000000;
  client_body_temp_path $W/tmp; proxy_temp_path $W/tmp; fastcgi_temp_path $W/tmp; uwsgi_temp_path $W/tmp; scgi_temp_path $W/tmp;
  server { listen 127.0.0.1:9190; root $W/www; }
}
CONF
cat > node-http.mjs <<'JS'
import http from 'node:http';
const body = Buffer.alloc(Number(process.env.SIZE), 97);
http.createServer((req, res) => {
  res.writeHead(200, ['content-type', 'application/octet-stream', 'content-length', String(body.length)]);
  res.end(body);
}).listen(9100, '127.0.0.1');
JS
cat > uws.cjs <<'JS'
const uws = require('@trufflesuite/uws-js-unofficial/dist/uws.js');
const body = Buffer.alloc(Number(process.env.SIZE), 97);
uws.App().get('/*', (res) => res.cork(() => res.writeHeader('content-type', 'application/octet-stream').end(body)))
  .listen('127.0.0.1', 9101, (ok) => { if (!ok) process.exit(1); });
JS
(exec taskset -c 0 nginx -c "$W/nginx.conf" &)
(SIZE=$SIZE exec taskset -c 0 node node-http.mjs &)
(SIZE=$SIZE exec taskset -c 0 node uws.cjs &)
# nginx is stopped through its master (a killed worker is replaced); the others by their port.
trap 'kill $(cat "$W/nginx.pid"); for port in 9100 9101; do pid=$(pid_of_port $port); [ -n "$pid" ] && kill $pid; done' EXIT
names=(nginx node:http uWebSockets.js)
urls=(http://127.0.0.1:9190/body http://127.0.0.1:9100/ http://127.0.0.1:9101/)
for k in 0 1 2; do
  for t in $(seq 50); do curl -sf -o /dev/null "${urls[$k]}" && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c50 -d1s "${urls[$k]}" > /dev/null
done
# nginx's master only waits; its worker serves, so the worker's CPU is measured.
pids=($(pgrep -P "$(cat "$W/nginx.pid")") $(pid_of_port 9100) $(pid_of_port 9101))
: > "$DATA"
for r in $(seq "$ROUNDS"); do
  for k in 0 1 2; do measure "$k" "${pids[$k]}" -t1 -c50 -d"${DUR}"s -s "$SCRIPTS/wrk-report.lua" "${urls[$k]}"; done
  echo "round $r/$ROUNDS done" >&2
done
summarize "${names[@]}"
echo "raw rounds: $DATA"
