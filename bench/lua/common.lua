-- Shared by every bench script (prepended by bench/loadgen.py): settings from the
-- environment, a wall/monotonic clock through LuaJIT's FFI, an optional fixed request
-- rate (wrk's delay() hook), and a done() hook that prints exact figures as JSON.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")

function bench_clock(which)  -- 0 = CLOCK_REALTIME, 1 = CLOCK_MONOTONIC; seconds as a float
  ffi.C.clock_gettime(which, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

bench_env = {
  token = os.getenv("BENCH_TOKEN") or "",
  path = os.getenv("BENCH_PATH") or "/",
  ids = os.getenv("BENCH_IDS"),
  id_count = tonumber(os.getenv("BENCH_ID_COUNT") or "0"),
  rate = tonumber(os.getenv("BENCH_RATE") or "0"),      -- total requests/s over all threads; 0 = as fast as possible
  threads = tonumber(os.getenv("BENCH_THREADS") or "1"),
  record = os.getenv("BENCH_RECORD"),                    -- folder for per-thread response records
  seed = tonumber(os.getenv("BENCH_SEED") or "1"),
}

bench_headers = { ["Authorization"] = "Bearer " .. bench_env.token, ["Content-Type"] = "application/json" }

local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("bench_tid", counter)
end

init = function(args)
  math.randomseed(bench_env.seed * 1000 + (bench_tid or 0))
  if bench_init then bench_init() end
end

if bench_env.rate > 0 then
  -- Each thread keeps its own schedule of rate/threads requests per second; a connection
  -- that comes back early waits for its slot. Falling behind never bursts by more than 100 ms.
  local interval = bench_env.threads / bench_env.rate
  local next_at = nil
  delay = function()
    local now = bench_clock(1)
    if next_at == nil or next_at < now - 0.1 then next_at = now end
    local wait = next_at - now
    next_at = next_at + interval
    if wait <= 0 then return 0 end
    return math.floor(wait * 1000 + 0.5)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
