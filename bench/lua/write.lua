-- POST a new person to BENCH_PATH, each with its own name and e-mail address. With
-- BENCH_RECORD set, every 201 is written down as "<id> <wall-clock seconds>" (one file per thread).
-- With BENCH_RUN set (a number, 1-99), e-mail addresses and phone numbers also differ from those
-- of any run with another BENCH_RUN: without it, every run repeats the last one's, each create
-- then finds earlier customers sharing its keys, and its cost grows with the runs before it.
local n = 0
local out = nil
local run = tonumber(os.getenv("BENCH_RUN") or "")

bench_init = function()
  if bench_env.record then
    out = io.open(string.format("%s/created-%d.txt", bench_env.record, bench_tid or 0), "w")
  end
end

request = function()
  n = n + 1
  local tag = string.format("t%dn%d", bench_tid or 0, n)
  local phone = string.format("+4930%07d", n % 10000000)
  if run then
    tag = string.format("r%d%s", run, tag)
    phone = string.format("+4930%02d%07d", run, n % 10000000)
  end
  local body = string.format(
    '{"kind":"person","given_name":"Bench","family_name":"Writer %s","country":"DE",' ..
    '"emails":[{"address":"writer.%s@example.com"}],"phones":[{"number":"%s"}]}', tag, tag, phone)
  return wrk.format("POST", bench_env.path, bench_headers, body)
end

if bench_env.record then
  response = function(status, headers, body)
    if status == 201 and out then
      local id = body:match('"id":"([0-9a-f%-]+)"')
      if id then
        out:write(id, " ", string.format("%.6f", bench_clock(0)), "\n")
        out:flush()
      end
    end
  end
end
