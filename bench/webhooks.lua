-- wrk script for `make bench`: POST pre-signed webhooks, count the answers by status.
--
--   wrk -t T -c C -d 10s -s bench/webhooks.lua URL -- BODIES_FILE T
--
-- BODIES_FILE has one request per line: "<Stripe-Signature value>\t<JSON body>".
-- Thread i sends lines i, i+T, i+2T, … so no two threads send the same event; a
-- thread that runs out starts again from its first line (the bridge then answers
-- 200 duplicate, which the caller counts and refuses). At the end one line
-- "BENCH_JSON {…}" gives requests, duration, errors, latency percentiles (µs),
-- answers by status and how often a thread ran out of bodies.

local created = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(created, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  requests_ = {}
  statuses = {}
  wrapped = 0
  position = 0
  local index = 0
  for line in io.lines(path) do
    if index % nthreads == tid then
      local signature, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(requests_, wrk.format("POST", nil,
        {["Content-Type"] = "application/json", ["Stripe-Signature"] = signature}, body))
    end
    index = index + 1
  end
end

function request()
  position = position + 1
  if position > #requests_ then
    position = 1
    wrapped = wrapped + 1
  end
  return requests_[position]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local answers, wraps = {}, 0
  for _, thread in ipairs(created) do
    for status, count in pairs(thread:get("statuses")) do
      answers[status] = (answers[status] or 0) + count
    end
    wraps = wraps + thread:get("wrapped")
  end
  local parts = {}
  for status, count in pairs(answers) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, ' ..
    '"answers": {%s}, "wrapped": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ", "), wraps))
end
