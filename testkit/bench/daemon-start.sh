# Sourced by the bench scripts: await_banner LOG PID waits (up to 120 s) until the daemon
# started as PID has printed its whole banner to LOG; exits 3 with the log if it exits first
# or takes longer. free_port prints a TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

await_banner() {
  local log=$1 pid=$2
  for _ in $(seq 1 1200); do
    grep -q '^Stop with SIGTERM' "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "the daemon exited at start:" >&2; cat "$log" >&2; exit 3; }
    sleep 0.1
  done
  echo "the daemon did not start in 120 s:" >&2; cat "$log" >&2; exit 3
}
