-- wrk script: every request POSTs one JSON message on a keep-alive connection.
-- BENCH_KEY and BENCH_AGENT come from the environment (the ceiling servers ignore them).
-- done() prints one machine-readable line that bench/load.py parses.

wrk.method = "POST"
wrk.body = '{"content": "Build 4711 is green on staging; the flaky auth test passed three '
  .. 'times in a row, so I am rolling the migration out to the canary hosts next."}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "none")
wrk.headers["X-Hubbub-Agent"] = os.getenv("BENCH_AGENT") or "bench-load"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"duration_us": %d, "requests": %d, "bytes": %d, "connect": %d, '
      .. '"read": %d, "write": %d, "status": %d, "timeout": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99)))
end
