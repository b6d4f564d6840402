-- wrk's summary as one line of "key value" pairs (latencies in ms), read by lib.sh's measure().
done = function(summary, latency, requests)
  local out = string.format("requests %d rps %.0f", summary.requests, summary.requests / (summary.duration / 1e6))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do out = out .. string.format(" p%s %.2f", p, latency:percentile(p) / 1000) end
  io.write(out .. string.format(" max %.2f\n", latency.max / 1000))
end
