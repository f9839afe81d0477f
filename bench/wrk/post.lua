-- POST load for bench/ (wrk -t1): every request sends the body in BENCH_BODY_FILE, or, with
-- BENCH_BODIES_FILE, the next line of that file (each used once: single-use codes). A request
-- past the last line sends "{}", which the server refuses, so running short shows as non-2xx.
-- done() prints one line for bench/support/wrk.ts: counts, errors and latency percentiles (µs).
local fixed = os.getenv("BENCH_BODY_FILE")
local many = os.getenv("BENCH_BODIES_FILE")
local bodies, count, used = {}, 0, 0
ran_out = 0
wrk.method = "POST"

function init(args)
  if fixed then
    local file = assert(io.open(fixed, "rb"))
    wrk.body = file:read("*a")
    file:close()
  end
  if many then
    for line in io.lines(many) do
      count = count + 1
      bodies[count] = line
    end
  end
end

if many then
  function request()
    used = used + 1
    local body = bodies[used]
    if not body then
      ran_out = ran_out + 1
      body = "{}"
    end
    return wrk.format(nil, nil, nil, body)
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local short = 0
  for _, thread in ipairs(threads) do
    short = short + (thread:get("ran_out") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"ran_out":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), short))
end
